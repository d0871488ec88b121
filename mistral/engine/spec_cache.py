"""Parsed workflow specs, so the stored spec JSON is rebuilt rarely.

Per execution: the spec is read and parsed once per execution per process
rather than once per task. Per definition: executions of the same
workflow usually carry the same spec, so a new execution whose stored
spec equals the one last parsed for its workflow shares that parse (a
dict comparison instead of building every task spec again).
"""

from __future__ import annotations

from typing import Any

from mistral.db import models
from mistral.lang import parser
from mistral.utils.lru import LRU

_by_execution: LRU[Any] = LRU(2048)
# workflow id -> (the stored spec, its parse)
_by_definition: LRU[tuple[Any, Any]] = LRU(256)


def known(wf_ex_id: str) -> bool:
    """Whether the spec of this execution is parsed here already."""
    return _by_execution.get(wf_ex_id) is not None


def workflow_spec(wf_ex: models.WorkflowExecution) -> Any:
    spec = _by_execution.get(wf_ex.id)
    if spec is None:
        stored = wf_ex.spec
        shared = (_by_definition.get(wf_ex.workflow_id)
                  if wf_ex.workflow_id else None)
        if shared is not None and shared[0] == stored:
            spec = shared[1]
        else:
            spec = parser.workflow_spec_from_dict(stored)
            if wf_ex.workflow_id:
                _by_definition.put(wf_ex.workflow_id, (stored, spec))
        _by_execution.put(wf_ex.id, spec)
    return spec


def remember(wf_ex_id: str, spec: Any) -> None:
    _by_execution.put(wf_ex_id, spec)


def clear() -> None:
    _by_execution.clear()
    _by_definition.clear()
