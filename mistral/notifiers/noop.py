"""The ``noop`` publisher: logs the event and nothing else."""

from __future__ import annotations

import logging
from typing import Any

LOG = logging.getLogger(__name__)


class NoopPublisher:
    def publish(self, ctx: dict[str, Any], ex_id: str, data: dict[str, Any],
                event: str, timestamp: str, **kwargs: Any) -> None:
        LOG.info('Notification %s for execution %s at %s', event, ex_id,
                 timestamp)
