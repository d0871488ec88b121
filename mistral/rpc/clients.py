"""Typed RPC clients for each component.

The API and other components talk to the engine, executors, notifier and
event engine only through these classes; nothing else names RPC methods.
"""

from __future__ import annotations

import threading
from typing import Any

from oslo_config import cfg

from mistral import exceptions as exc
from mistral.context import MistralContext
from mistral.context import default_context
from mistral.rpc import base

CONF = cfg.CONF

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def _get(name: str, factory):
    client = _clients.get(name)
    if client is None:
        with _lock:
            client = _clients.get(name)
            if client is None:
                client = _clients[name] = factory()
    return client


def reset() -> None:
    """Forget cached clients (tests, after fork)."""
    with _lock:
        _clients.clear()


# The engine endpoint of this process that starts workflows instead of an
# engine reached over RPC (None: over RPC). mistral-server's API sets it
# with ``[api] start_workflows = here`` (mistral.service.components): a
# start needs no engine process, so it is not worth a call and a reply
# through the broker.
_starter: Any = None


def start_workflows_with(endpoint: Any) -> None:
    """Start workflows with ``endpoint`` (an engine endpoint in this
    process, mistral.engine.engine.Engine), or over RPC (None)."""
    global _starter
    _starter = endpoint


class EngineClient:
    """Requests to the engine. ``call`` methods wait for the answer."""

    def __init__(self) -> None:
        self._rpc = base.RPCClient(CONF.engine.topic, CONF.engine.version)

    def start_workflow(self, ctx: MistralContext, wf_identifier: str,
                       wf_namespace: str = '', wf_ex_id: str | None = None,
                       wf_input: dict | None = None, description: str = '',
                       **params: Any) -> dict[str, Any]:
        """Start a workflow; returns the execution as a dict of columns.

        ``wf_identifier`` is a workflow id or name. With ``wf_ex_id`` of an
        existing execution, that execution is returned (idempotent create).
        """
        starter = _starter
        if starter is not None:
            # The engine's own code and transaction, in this process: the
            # same answer, errors and messages to executors as an engine's.
            return starter.start_workflow(
                ctx or default_context(), wf_identifier,
                wf_namespace=wf_namespace, wf_ex_id=wf_ex_id,
                wf_input=wf_input or {}, description=description,
                params=params)
        return self._rpc.call(ctx, 'start_workflow',
                              wf_identifier=wf_identifier,
                              wf_namespace=wf_namespace, wf_ex_id=wf_ex_id,
                              wf_input=wf_input or {},
                              description=description, params=params)

    def start_action(self, ctx: MistralContext, action_name: str,
                     action_input: dict | None = None, description: str = '',
                     namespace: str = '', **params: Any) -> dict[str, Any]:
        return self._rpc.call(ctx, 'start_action', action_name=action_name,
                              action_input=action_input or {},
                              description=description, namespace=namespace,
                              params=params)

    def on_action_complete(self, ctx: MistralContext, action_ex_id: str,
                           result: dict[str, Any],
                           wf_action: bool = False,
                           processed: bool = False) -> dict[str, Any]:
        """Deliver an action result: ``{"data"|"error"|"cancel": ...}``.

        ``processed``: the result already went through the action's own
        post-processing (executors do it; results PUT through the API have
        not).
        """
        return self._rpc.call(ctx, 'on_action_complete',
                              action_ex_id=action_ex_id, result=result,
                              wf_action=wf_action, processed=processed)

    def send_results(self, ctx: MistralContext | dict,
                     results: list[dict[str, Any]]) -> None:
        """Results of several actions (``[{'id', 'wf', 'result'}]``), sent
        without waiting: the executor learns from the database which were
        applied (see mistral.executor.results). Gives up (raises) when the
        bus stays unreachable for ``rpc_response_timeout``."""
        self._rpc.cast(ctx, 'on_action_results', bounded=True,
                       results=results)

    def on_action_update(self, ctx: MistralContext, action_ex_id: str,
                         state: str, wf_action: bool = False
                         ) -> dict[str, Any]:
        return self._rpc.call(ctx, 'on_action_update',
                              action_ex_id=action_ex_id, state=state,
                              wf_action=wf_action)

    def pause_workflow(self, ctx: MistralContext, wf_ex_id: str
                       ) -> dict[str, Any]:
        return self._rpc.call(ctx, 'pause_workflow', wf_ex_id=wf_ex_id)

    def resume_workflow(self, ctx: MistralContext, wf_ex_id: str,
                        env: dict | None = None) -> dict[str, Any]:
        return self._rpc.call(ctx, 'resume_workflow', wf_ex_id=wf_ex_id,
                              env=env)

    def stop_workflow(self, ctx: MistralContext, wf_ex_id: str, state: str,
                      message: str | None = None) -> dict[str, Any]:
        return self._rpc.call(ctx, 'stop_workflow', wf_ex_id=wf_ex_id,
                              state=state, message=message)

    def rerun_workflow(self, ctx: MistralContext, task_ex_id: str,
                       reset: bool | None = True, skip: bool = False,
                       env: dict | None = None) -> dict[str, Any]:
        return self._rpc.call(ctx, 'rerun_workflow', task_ex_id=task_ex_id,
                              reset=reset, skip=skip, env=env)

    def cast(self, ctx: MistralContext | dict | None, method: str,
             **kwargs: Any) -> None:
        """Fire-and-forget delivery (used by the outbox relay)."""
        self._rpc.cast(ctx, method, **kwargs)


class ExecutorClient:
    def __init__(self) -> None:
        self._rpc = base.RPCClient(CONF.executor.topic, CONF.executor.version)

    def run_action(self, ctx: MistralContext | dict, action_ex_id: str,
                   server: str | None = None, **kwargs: Any) -> None:
        self._rpc.cast(ctx, 'run_action', server=server,
                       action_ex_id=action_ex_id, **kwargs)

    def run_action_sync(self, ctx: MistralContext, action_name: str,
                        action_input: dict, namespace: str = '',
                        action_timeout: float | None = None,
                        target: str | None = None) -> dict[str, Any]:
        """Run an action with no stored execution and wait for its result
        (``{'data'|'error'|'cancel': ...}``), on an executor of ``target``
        (its ``[executor] host``) if given."""
        wait = (float(action_timeout) + 5 if action_timeout
                else CONF.rpc_response_timeout)
        try:
            return self._rpc.call(ctx, 'run_action_sync', timeout=wait,
                                  server=target or None,
                                  action_name=action_name,
                                  action_input=action_input,
                                  namespace=namespace,
                                  action_timeout=action_timeout)
        except exc.RPCTimeoutException:
            if not target:
                raise
            raise exc.RPCTimeoutException(
                'No executor with target "%s" ran the action %s within %s '
                'seconds: is an executor with [executor] host = %s '
                'running?' % (target, action_name, _fmt(wait), target)
            ) from None

    def cast(self, ctx: MistralContext | dict | None, method: str,
             server: str | None = None, **kwargs: Any) -> None:
        self._rpc.cast(ctx, method, server=server, **kwargs)


def _fmt(seconds: float) -> str:
    return ('%g' % seconds)


class NotifierClient:
    def __init__(self) -> None:
        self._rpc = base.RPCClient(CONF.notifier.topic)

    def cast(self, ctx: MistralContext | dict | None, method: str,
             **kwargs: Any) -> None:
        self._rpc.cast(ctx, method, **kwargs)


class EventEngineClient:
    def __init__(self) -> None:
        self._rpc = base.RPCClient(CONF.event_engine.topic)

    def cast(self, ctx: MistralContext | dict | None, method: str,
             **kwargs: Any) -> None:
        # Event engines also reload their triggers periodically: a cast
        # that cannot be sent must not hold the caller (an API request).
        self._rpc.cast(ctx, method, fanout=True, bounded=True, **kwargs)


class SchedulerClient:
    def __init__(self) -> None:
        self._rpc = base.RPCClient(CONF.scheduler.topic)

    def cast(self, ctx: MistralContext | dict | None, method: str,
             **kwargs: Any) -> None:
        self._rpc.cast(ctx, method, fanout=True, **kwargs)


def engine() -> EngineClient:
    return _get('engine', EngineClient)


def executor() -> ExecutorClient:
    return _get('executor', ExecutorClient)


def notifier() -> NotifierClient:
    return _get('notifier', NotifierClient)


def event_engine() -> EventEngineClient:
    return _get('event_engine', EventEngineClient)


def scheduler() -> SchedulerClient:
    return _get('scheduler', SchedulerClient)
