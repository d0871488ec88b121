"""Running one action and turning what it did into a result dict.

Outcomes:

* ``{'data': value}`` - success (a plain return value or
  ``Result(data=...)``);
* ``{'error': value}`` - ``Result(error=...)``, an exception (as text),
  a failed instantiation or a timeout;
* ``{'cancel': True}`` - ``Result(cancel=True)``;
* ``None`` - an asynchronous action started fine; its result arrives
  later through the API. Failures of asynchronous actions are still
  returned at once.

When given a descriptor, a successful synchronous result goes through
``descriptor.post_process_result`` (ad-hoc ``output``); for asynchronous
actions the engine applies it when the result arrives.

Timeouts: Python cannot kill a thread. The action runs in a daemon
thread; at the deadline :func:`run` returns a timeout error and the thread
is left to finish in the background (its outcome is discarded). Actions
doing blocking I/O should therefore set their own I/O timeouts too, as
std.http, std.ssh and std.email do.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from typing import Any

from mistral_lib import actions as ml_actions
from mistral_lib.actions import context as ml_context

LOG = logging.getLogger(__name__)


def _exception_text(action: Any, ctx: Any, exc: BaseException) -> str:
    ex = getattr(ctx, 'execution', None)
    return "The action raised an exception [action=%s, action_ex_id=%s, " \
        "msg='%s']" % (action, getattr(ex, 'action_execution_id', None),
                       exc)


def normalise(value: Any) -> dict[str, Any]:
    """A return value or ``Result`` as a data/error/cancel dict."""
    if isinstance(value, ml_actions.Result):
        if value.is_cancel():
            return {'cancel': True}
        if value.is_error():
            return {'error': value.error}
        return {'data': value.data}
    return {'data': value}


def _call(action: ml_actions.Action, ctx: Any) -> dict[str, Any]:
    try:
        return normalise(action.run(ctx))
    except Exception as e:
        LOG.info('Action %s raised: %s', action, e, exc_info=True)
        return {'error': _exception_text(action, ctx, e)}


def _call_with_timeout(action: ml_actions.Action, ctx: Any,
                       timeout: float) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        outcome['result'] = _call(action, ctx)

    # Run in the caller's context so context-local state (logging,
    # tracing) is visible to the action.
    runner = contextvars.copy_context().run
    thread = threading.Thread(target=runner, args=(target,), daemon=True,
                              name='action-%s' % type(action).__name__)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        LOG.warning('Action %s did not finish within %s s; it keeps '
                    'running in the background', action, timeout)
        return {'error': 'Timeout after %s seconds' % timeout}
    return outcome['result']


def run(descriptor_or_action: Any, input: dict[str, Any] | None,
        ctx: ml_context.ActionContext | None,
        timeout: float | None = None,
        wf_ctx: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Run an action (or instantiate one from a descriptor and run it).

    ``input`` is only used with a descriptor; ``timeout`` (seconds, None
    or <= 0 for none) bounds the time spent waiting for ``run``.
    """
    action = descriptor_or_action
    desc = None
    if not isinstance(action, ml_actions.Action):
        desc = descriptor_or_action
        try:
            action = descriptor_or_action.instantiate(input or {}, wf_ctx)
        except Exception as e:
            LOG.info('Cannot instantiate %s: %s', descriptor_or_action, e)
            return {'error': str(e)}
    if timeout and timeout > 0:
        result = _call_with_timeout(action, ctx, timeout)
    else:
        result = _call(action, ctx)
    if not action.is_sync() and 'error' not in result:
        return None
    if desc is not None and 'data' in result:
        # Descriptors may transform results (ad-hoc "output").
        try:
            result = desc.post_process_result(result)
        except Exception as e:
            LOG.info('Result post-processing of %s failed: %s', desc, e)
            return {'error': 'Failed to transform the action result: %s'
                             % e}
    return result
