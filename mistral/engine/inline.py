"""Trivial built-in actions run inside the engine's transaction.

``std.noop``, ``std.echo`` (without a delay) and ``std.fail`` do no I/O and
finish in microseconds; sending them to an executor costs two messages and
two transactions for nothing. Run inline, their action execution is created
and completed in the same transaction as the task that asked for them, so
the durable hand-off still holds: the state change and its result commit
together or not at all.

Only the built-in classes qualify (a plugin registering its own std.echo
goes to executors), never with a ``target``, and at most
``[engine] inline_actions_per_transaction`` per transaction so that a loop
of inline tasks cannot hold a transaction forever: past the budget they run
in later engine transactions (``run_inline_actions`` messages; with-items
elements continue through ``continue_items``). A budget of 0 sends them to
executors instead.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from mistral.actions import context as action_context
from mistral.actions import runner
from mistral.metrics import hooks as metrics

if TYPE_CHECKING:
    from mistral.actions.descriptor import ActionDescriptor

CONF = cfg.CONF

# executor_id of action executions the engine runs itself.
EXECUTOR_ID = 'inline'

_INLINE_CLASSES = {
    'std.noop': 'mistral.actions.std.NoOpAction',
    'std.echo': 'mistral.actions.std.EchoAction',
    'std.fail': 'mistral.actions.std.FailAction',
}


def eligible(desc: ActionDescriptor, name: str, action_input: dict[str, Any],
             target: str | None) -> bool:
    if not CONF.engine.inline_builtin_actions or target:
        return False
    if _INLINE_CLASSES.get(name) != getattr(desc, 'action_class', None):
        return False
    if name == 'std.echo' and action_input.get('delay'):
        return False
    return True


def run(desc: ActionDescriptor, action_input: dict[str, Any],
        security: dict[str, Any],
        execution: dict[str, Any]) -> dict[str, Any]:
    """The action's result as {'data'|'error': ...}."""
    ctx = action_context.build_action_context(security, execution)
    started = time.perf_counter()
    result = runner.run(desc, action_input, ctx) or {'data': None}
    metrics.action_done('inline', started, result)
    return result
