"""The service components ``mistral-server --server`` can run.

Each component joins the bus with an RPC server on its topic (threading
executor) and starts its own background loops; ``stop`` undoes both.

``stop(deadline)`` first stops taking messages, then lets the work in
hand finish until ``deadline`` (``time.monotonic()``, None: no limit); it
returns False when it had to leave work behind (the executor's running
actions, handed back), in which case the process must exit without
waiting for those threads.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

from oslo_config import cfg

from mistral.handoff import outbox
from mistral.metrics import exposition
from mistral.rpc import base as rpc_base
from mistral.rpc import clients
from mistral.service import handoffs

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


class Component(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self, deadline: float | None = None) -> bool: ...


class RpcComponent:
    """An RPC server on one topic plus background loops."""

    def __init__(self, name: str, topic: str, host: str,
                 endpoints: list[Any], loops: list[Any] | None = None,
                 pool_size: int | None = None,
                 quiesce: Callable[[], None] | None = None,
                 drain: Callable[[float | None], bool] | None = None,
                 drain_first: bool = False) -> None:
        self.name = name
        # Called before the RPC server stops: refuse new work. Then drain
        # waits for the work in hand until the deadline: after the server
        # stopped taking messages, or, with drain_first, while it still
        # serves them (an engine receives the results of the actions its
        # local executor drains).
        self._quiesce = quiesce
        self._drain = drain
        self._drain_first = drain_first
        # Threads that run requests; None: oslo.messaging's
        # executor_thread_pool_size.
        self._pool_size = pool_size
        self._topic = topic
        self._host = host
        self._endpoints = endpoints
        self._loops = loops or []
        self._server: Any = None
        self._metrics_port: int | None = None

    def start(self) -> None:
        for loop in self._loops:
            loop.start()
        self._server = rpc_base.get_server(self._topic, self._host,
                                           self._endpoints)
        self._server.start(override_pool_size=self._pool_size)
        self._metrics_port = exposition.servers.start(self.name)
        LOG.info('%s ready (topic %s, host %s)', self.name, self._topic,
                 self._host)

    def quiesce(self) -> None:
        """Take no new work (work in hand goes on)."""
        if self._quiesce is not None:
            self._quiesce()

    def stop(self, deadline: float | None = None) -> bool:
        finished = True
        self.quiesce()
        if self._drain is not None and self._drain_first:
            finished = self._drain(deadline)
        if self._server is not None:
            self._server.stop()
            if self._drain is not None and not self._drain_first:
                finished = self._drain(deadline)
            if finished:
                # Its threads are idle now; otherwise some still run
                # handed-back actions and the process exits without them.
                self._server.wait()
            self._server = None
        exposition.servers.stop(self._metrics_port)
        self._metrics_port = None
        for loop in reversed(self._loops):
            loop.stop()
        LOG.info('%s stopped', self.name)
        return finished


class ApiComponent:
    name = 'api'

    def __init__(self) -> None:
        from mistral.api import service

        self._server = service.ApiServer()
        # ``[api] start_workflows = here``: a start runs the engine's code
        # in this process. Not when actions or notifications would then
        # be handled by this process ([executor] or [notifier] type
        # local: that is an engine's job).
        self._starts_here = (CONF.api.start_workflows == 'here'
                             and CONF.executor.type == 'remote'
                             and CONF.notifier.type == 'remote')

    def start(self) -> None:
        if self._starts_here:
            from mistral import expressions
            from mistral.engine import engine

            expressions.warm_up()
            # Sends what its starts write after the commit, and deletes
            # the rows of messages no receiver acknowledges.
            outbox.relay().start()
            clients.start_workflows_with(engine.Engine())
        self._server.start()
        LOG.info('api ready (%s)%s', self._server.url,
                 '; workflows start here' if self._starts_here else '')

    def stop(self, deadline: float | None = None) -> bool:
        self._server.stop()
        if self._starts_here:
            clients.start_workflows_with(None)
            outbox.relay().stop()
        LOG.info('api stopped')
        return True


def build(name: str) -> Component:
    # Every component hands work on through the outbox and hooks; how it
    # reaches the others is this process's choice, made here.
    handoffs.wire()
    if name == 'api':
        return ApiComponent()
    if name == 'engine':
        from mistral import expressions
        from mistral.engine import engine
        from mistral.engine import recovery

        # Build the YAQL parser now rather than on the first request.
        expressions.warm_up()
        limit_memory(CONF.engine.memory_limit_mb)

        loops: list[Any] = [outbox.relay(), recovery.RecoveryLoop()]
        if CONF.notifier.type == 'local':
            from mistral.notifiers import service as notifier_service

            # Publishes what earlier runs of this process left queued.
            loops.append(notifier_service.local().loop)
        # Twice as many threads as engine transactions may run at once
        # (unit_of_work's slots): requests that wait for an executor hold
        # a thread but no slot. Not oslo.messaging's 64: every thread more
        # that handles messages contends for the GIL (16 threads served 7%
        # fewer small workflows per second than 8).
        return RpcComponent('engine', CONF.engine.topic, CONF.engine.host,
                            [engine.Engine()], loops,
                            pool_size=2 * CONF.engine.workers,
                            quiesce=_quiesce_local_executor,
                            drain=_drain_local_executor, drain_first=True)
    if name == 'executor':
        from mistral.executor import executor

        ex = executor.Executor()
        ex_loops: list[Any] = [ex.leases, ex.results]
        if CONF.executor.apply_results:
            from mistral import expressions

            # It applies results with the engine's code: the messages its
            # transactions write are sent by its own relay.
            expressions.warm_up()
            ex_loops.insert(0, outbox.relay())
        return RpcComponent('executor', CONF.executor.topic,
                            CONF.executor.host, [ex], ex_loops,
                            quiesce=ex.begin_shutdown, drain=ex.drain)
    if name == 'scheduler':
        from mistral.scheduler import scheduler

        sched = scheduler.Scheduler()
        return RpcComponent('scheduler', CONF.scheduler.topic,
                            CONF.scheduler.host,
                            [scheduler.SchedulerEndpoint(sched)],
                            [outbox.relay(), sched])
    if name == 'notifier':
        from mistral.notifiers import deliveries
        from mistral.notifiers import service as notifier_service

        loop = deliveries.DeliveryLoop()
        return RpcComponent('notifier', CONF.notifier.topic,
                            CONF.notifier.host,
                            [notifier_service.NotifierEndpoint(loop)], [loop])
    if name == 'event-engine':
        from mistral.event_engine import engine as event_engine

        ev = event_engine.EventEngine()
        return RpcComponent('event-engine', CONF.event_engine.topic,
                            CONF.event_engine.host,
                            [event_engine.EventEngineEndpoint(ev)], [ev])
    raise ValueError('Unknown component %s' % name)


def _quiesce_local_executor() -> None:
    from mistral.executor import executor

    local = executor.current_local()
    if local is not None:
        local.executor.begin_shutdown()


def _drain_local_executor(deadline: float | None) -> bool:
    """``[executor] type = local``: the engine process runs actions; they
    get the same grace period as an executor's."""
    from mistral.executor import executor

    local = executor.current_local()
    return True if local is None else local.drain(deadline)


# Stopping order: stop taking requests first; the executor's running
# actions still report their results to a running engine; the engine,
# which others report to, last.
STOP_ORDER = ('api', 'event-engine', 'scheduler', 'executor', 'notifier',
              'engine')


def stop_all(started: list[Any], deadline: float | None) -> bool:
    """Stop components in :data:`STOP_ORDER`; False when work was left
    behind (see the module docstring)."""
    finished = True
    # Everyone stops taking new work first (an engine's local executor,
    # stopped last, must not claim actions meanwhile).
    for comp in started:
        quiesce = getattr(comp, 'quiesce', None)
        if quiesce is not None:
            try:
                quiesce()
            except Exception:
                LOG.exception('Stopping %s failed', comp.name)
    for comp in sorted(started, key=lambda c: STOP_ORDER.index(c.name)
                       if c.name in STOP_ORDER else len(STOP_ORDER)):
        try:
            finished = comp.stop(deadline) is not False and finished
        except Exception:
            LOG.exception('Stopping %s failed', comp.name)
    return finished


def limit_memory(limit_mb: int) -> None:
    """Cap this process's address space (``[engine] memory_limit_mb``): an
    expression that allocates without bound then fails with MemoryError
    instead of taking the machine down. Never raises the hard limit."""
    if not limit_mb:
        return
    import resource

    wanted = limit_mb * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    LOG.info('Address space limited to %s MiB', wanted // (1024 * 1024))
