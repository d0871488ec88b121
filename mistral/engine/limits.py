"""Size limits on stored execution fields."""

from __future__ import annotations

import json
from typing import Any

from oslo_config import cfg

from mistral import exceptions as exc

CONF = cfg.CONF


def check_size(field: str, value: Any, cls_name: str) -> None:
    """Refuse a value larger than ``[engine] execution_field_size_limit_kb``
    (-1: no limit) with a 400 that names the field."""
    limit_kb = CONF.engine.execution_field_size_limit_kb
    if limit_kb is None or limit_kb < 0 or value is None:
        return
    size = len(json.dumps(value, default=str).encode('utf-8'))
    if size > limit_kb * 1024:
        raise exc.SizeLimitExceededException(field, size // 1024, limit_kb,
                                             cls_name)
