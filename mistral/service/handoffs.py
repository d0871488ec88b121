"""How this process's hand-offs reach the other services.

:mod:`mistral.handoff` writes and claims the durable rows but knows no
receiver; :func:`wire` tells it, once per process, at start
(:func:`mistral.service.components.build`, the WSGI application, the test
suite's session): the outbox senders per target, the wake-ups of
schedulers and notifiers, and the executor that runs an ad-hoc action
while the caller waits. Each looks at the configuration when it is called
(``[executor] type``, ``[notifier] type`` may change between tests).
"""

from __future__ import annotations

import datetime
from typing import Any

from oslo_config import cfg

from mistral.executor import executor as executor_mod
from mistral.handoff import hooks
from mistral.handoff import outbox
from mistral.notifiers import deliveries as notifier_deliveries
from mistral.notifiers import service as notifier_service
from mistral.rpc import clients

CONF = cfg.CONF


def send_to_engine(ctx: dict[str, Any], method: str, server: str | None,
                   payload: dict[str, Any]) -> None:
    clients.engine().cast(ctx, method, **payload)


def send_to_executor(ctx: dict[str, Any], method: str, server: str | None,
                     payload: dict[str, Any]) -> None:
    if CONF.executor.type == 'local':
        # No executor processes: this process runs its actions (and
        # ignores ``server``, as upstream's local executor does).
        executor_mod.local().submit(ctx, method, payload)
        return
    clients.executor().cast(ctx, method, server=server, **payload)


def send_to_notifier(ctx: dict[str, Any], method: str, server: str | None,
                     payload: dict[str, Any]) -> None:
    if CONF.notifier.type == 'local':
        notifier_service.local().submit(ctx, method, payload)
        return
    clients.notifier().cast(ctx, method, **payload)


def send_to_event_engine(ctx: dict[str, Any], method: str,
                         server: str | None, payload: dict[str, Any]
                         ) -> None:
    clients.event_engine().cast(ctx, method, **payload)


SENDERS: dict[str, outbox.Sender] = {
    'engine': send_to_engine, 'executor': send_to_executor,
    'notifier': send_to_notifier, 'event_engine': send_to_event_engine,
}


def wake_schedulers(due_at: datetime.datetime) -> None:
    clients.scheduler().cast({}, 'wake', due_at=due_at.isoformat())


def wake_notifiers() -> None:
    # Looked up when called: tests replace the module's function.
    notifier_deliveries.wake_notifiers()


def run_action_sync(ctx: Any, action_name: str,
                    action_input: dict[str, Any], namespace: str,
                    action_timeout: float | None, target: Any = None
                    ) -> dict[str, Any]:
    """Run an action on an executor and wait for its result."""
    if executor_mod.is_local():
        # In the engine's process ([executor] type = local) there is only
        # one executor: the target cannot choose.
        return executor_mod.local().run_action_sync(
            ctx, action_name=action_name, action_input=action_input,
            namespace=namespace, action_timeout=action_timeout)
    routing = {'target': str(target)} if target else {}
    return clients.executor().run_action_sync(
        ctx, action_name=action_name, action_input=action_input,
        namespace=namespace, action_timeout=action_timeout, **routing)


def wire() -> None:
    """Register this process's senders and hooks (idempotent)."""
    for target, sender in SENDERS.items():
        outbox.register_sender(target, sender)
    hooks.register('wake_schedulers', wake_schedulers)
    hooks.register('wake_notifiers', wake_notifiers)
    hooks.register('run_action_sync', run_action_sync)
