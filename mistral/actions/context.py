"""Building the context object passed to ``Action.run``, and the
application context of the thread that runs it (see
:func:`application_context`)."""

from __future__ import annotations

import inspect
from typing import Any

from mistral_lib.actions import context as ml_context
from oslo_config import cfg

from mistral import context as mistral_context

CONF = cfg.CONF


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


def application_context(security: dict[str, Any] | None
                        ) -> mistral_context.MistralContext:
    """The request context as upstream's executor makes it the running
    thread's application context (plugins such as mistral-extra read the
    token, project, region and Keystone URL from it).

    As upstream, a request that names no target cloud has this service's
    Keystone: ``[keystone_authtoken] www_authenticate_uri`` and ``cafile``
    fill ``auth_uri`` and ``auth_cacert`` when they are unset.
    """
    app = mistral_context.MistralContext.from_dict(dict(security or {}))
    if not app.is_target:
        group = CONF.keystone_authtoken
        if app.auth_uri is None:
            app.auth_uri = group.www_authenticate_uri
        if app.auth_cacert is None:
            app.auth_cacert = group.cafile
    return app
