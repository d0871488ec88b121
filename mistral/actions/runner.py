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

Values are converted to JSON as upstream does (:mod:`mistral.actions.results`:
objects become dicts, generators lists); one that cannot be is an error.

``request_ctx`` (the request context of whoever started the action) is
what upstream's executor makes the *application context* of the thread
that runs the action: plugins written for upstream (mistral-extra's
OpenStack actions) read the caller's token, project and Keystone URL from
mistral-lib's thread-local storage under :data:`APP_CTX_NAME`. It is set
for the duration of ``run`` in the thread that runs it, and removed after.

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
from mistral_lib import utils as ml_utils
from mistral_lib.actions import context as ml_context

from mistral.actions import results

LOG = logging.getLogger(__name__)

# The thread-local name under which upstream stores its request context
# (mistral.context), read by plugins with mistral_lib.utils.
APP_CTX_NAME = 'MISTRAL_APP_CTX_THREAD_LOCAL'


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
            return results.encodable({'error': value.error})
        return results.encodable({'data': value.data})
    return results.encodable({'data': value})


def _call(action: ml_actions.Action, ctx: Any,
          request_ctx: Any = None) -> dict[str, Any]:
    if request_ctx is not None:
        ml_utils.set_thread_local(APP_CTX_NAME, request_ctx)
    try:
        return normalise(action.run(ctx))
    except Exception as e:
        LOG.info('Action %s raised: %s', action, e, exc_info=True)
        return {'error': _exception_text(action, ctx, e)}
    finally:
        if request_ctx is not None:
            # Pooled threads run other actions next.
            ml_utils.set_thread_local(APP_CTX_NAME, None)


def _call_with_timeout(action: ml_actions.Action, ctx: Any,
                       timeout: float, request_ctx: Any = None
                       ) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        outcome['result'] = _call(action, ctx, request_ctx)

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
        wf_ctx: dict[str, Any] | None = None,
        request_ctx: Any = None) -> dict[str, Any] | None:
    """Run an action (or instantiate one from a descriptor and run it).

    ``input`` is only used with a descriptor; ``timeout`` (seconds, None
    or <= 0 for none) bounds the time spent waiting for ``run``;
    ``request_ctx`` becomes the thread's application context meanwhile.
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
        result = _call_with_timeout(action, ctx, timeout, request_ctx)
    else:
        result = _call(action, ctx, request_ctx)
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
