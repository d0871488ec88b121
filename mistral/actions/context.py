"""Building the context object passed to ``Action.run``."""

from __future__ import annotations

import inspect
from typing import Any

from mistral_lib.actions import context as ml_context


def _accepted(cls: type) -> set[str]:
    params = inspect.signature(cls.__init__).parameters
    return {name for name in params if name != 'self'}


_SECURITY_FIELDS = _accepted(ml_context.SecurityContext)
_EXECUTION_FIELDS = _accepted(ml_context.ExecutionContext) - {'task_id'}


def build_action_context(security: dict[str, Any] | None,
                         execution: dict[str, Any] | None
                         ) -> ml_context.ActionContext:
    """An ActionContext from the request-context dict and exec context.

    ``security`` is the serialised request context (auth_token,
    project_id, ...); keys the mistral-lib SecurityContext does not know
    (roles, request_id, ...) are ignored. ``execution`` carries
    workflow_execution_id, task_execution_id, action_execution_id,
    workflow_name and callback_url.
    """
    security = dict(security or {})
    sec = ml_context.SecurityContext(
        **{k: v for k, v in security.items() if k in _SECURITY_FIELDS})
    ex = ml_context.ExecutionContext(
        **{k: v for k, v in (execution or {}).items()
           if k in _EXECUTION_FIELDS})
    return ml_context.ActionContext(security_ctx=sec, execution_ctx=ex)
