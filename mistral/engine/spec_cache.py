"""Parsed workflow specs per execution, so the stored spec JSON is read and
rebuilt once per execution per process rather than once per task."""

from __future__ import annotations

from typing import Any

from mistral.db import models
from mistral.lang import parser
from mistral.utils.lru import LRU

_by_execution: LRU[Any] = LRU(2048)


def workflow_spec(wf_ex: models.WorkflowExecution) -> Any:
    spec = _by_execution.get(wf_ex.id)
    if spec is None:
        spec = parser.workflow_spec_from_dict(wf_ex.spec)
        _by_execution.put(wf_ex.id, spec)
    return spec


def remember(wf_ex_id: str, spec: Any) -> None:
    _by_execution.put(wf_ex_id, spec)
