"""The executor: claims actions, runs them, reports results to the engine.

A ``run_action`` message only names an action execution. The executor
first claims it in the database (a compare-and-set that only one executor
wins) with a lease, so a duplicated or re-sent message never runs an action
twice. While actions run, one thread renews the leases of all of them with a
single statement. A lease that runs out marks a dead executor; recovery
(see ``mistral.engine.recovery``) decides what happens to its actions.

An executor serves the actions without a ``target`` (the shared topic
queue) and those whose ``target`` is its ``[executor] host`` (its own
queue). The claim records ``<process id>@<host>`` as the action's
``executor_id``, so where an action ran can be told afterwards.

The result goes back with an RPC *call* that is retried until the engine
confirms it, so a result is not lost when the broker or an engine restarts.

At most ``[executor] workers`` actions run at once in one executor (more
requests wait, unclaimed, so another executor may take them). With
``[executor] type = local`` there is no executor process: the engine
process hands its ``run_action`` messages to :func:`local`, a pool of
``workers`` threads that claims, runs and reports them the same way.

Stopping (SIGTERM): :meth:`Executor.begin_shutdown` stops claiming (a
message that arrives later is handed back to the relay at once, unclaimed);
:meth:`Executor.drain` lets running actions finish for up to
``[DEFAULT] graceful_shutdown_timeout`` seconds, then hands back those
still running: their leases end now, so a safe-rerun action is sent to
another executor right away and any other fails as when its executor dies
(see ``mistral.engine.recovery``). Their late results, if any, are dropped.
"""

from __future__ import annotations

import datetime
import logging
import queue
import threading
import time
from typing import Any

import sqlalchemy as sa
import tenacity
from oslo_config import cfg

from mistral import context as mistral_context
from mistral import exceptions as exc
from mistral.actions import context as action_context
from mistral.actions import registry
from mistral.actions import runner
from mistral.db import api as db_api
from mistral.db import models
from mistral.engine import outbox
from mistral.engine import recovery
from mistral.metrics import hooks as metrics
from mistral.rpc import clients
from mistral.utils import log_context
from mistral.utils import timeutils
from mistral.workflow import states

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

_UNSENDABLE = ('The action result could not be encoded for the message to '
               'the engine')



def executor_id(host: str | None = None) -> str:
    """An executor's id: this process's id and the executor's target
    host (``[executor] host`` by default)."""
    return '%s@%s' % (outbox.PROCESS_ID,
                      CONF.executor.host if host is None else host)


def _redelivered(ctx: Any) -> bool:
    if isinstance(ctx, dict):
        return bool(ctx.get('redelivered'))
    return bool(getattr(ctx, 'redelivered', False))


def _lease_end() -> datetime.datetime:
    return timeutils.utcnow() + datetime.timedelta(
        seconds=CONF.executor.action_lease)


class LeaseKeeper:
    """Renews the leases of the actions this process is running."""

    def __init__(self, owner: str | None = None) -> None:
        self.owner = owner or executor_id()
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, action_ex_id: str) -> None:
        with self._lock:
            self._running.add(action_ex_id)

    def discard(self, action_ex_id: str) -> None:
        with self._lock:
            self._running.discard(action_ex_id)

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name='action-leases')
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def renew(self) -> None:
        with self._lock:
            ids = list(self._running)
        if not ids:
            return
        ae = models.ActionExecution
        with db_api.transaction() as s:
            stmt = sa.select(ae.id).where(
                ae.id.in_(ids), ae.executor_id == self.owner,
                ae.state == states.RUNNING)
            if not db_api.is_sqlite():
                # A row an engine has locked (it is applying that action's
                # result) must not hold up the renewal of all the others.
                stmt = stmt.with_for_update(skip_locked=True)
            mine = s.execute(stmt).scalars().all()
            if mine:
                s.execute(sa.update(ae).where(ae.id.in_(mine)).values(
                    lease_until=_lease_end()))

    def _loop(self) -> None:
        interval = max(CONF.executor.action_lease / 3.0, 0.5)
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception:
                LOG.warning('Renewing action leases failed', exc_info=True)


class Executor:
    """RPC endpoint on the executor topic."""

    def __init__(self, host: str | None = None) -> None:
        self.host = CONF.executor.host if host is None else host
        self.id = executor_id(self.host)
        self.leases = LeaseKeeper(self.id)
        self._slots = threading.BoundedSemaphore(CONF.executor.workers)
        # Set by begin_shutdown: claim nothing more.
        self._stopping = threading.Event()
        # Set once drain gave up: results still coming are not delivered.
        self._abandoned = threading.Event()
        # Actions handed back by drain (another executor or recovery owns
        # them now).
        self._handed_back: set[str] = set()
        self._idle = threading.Condition()
        self._busy = 0

    def _claim(self, action_ex_id: str, outbox_id: str | None = None
               ) -> dict[str, Any] | None:
        """Take the action for this process, or None if another executor
        has it or it is already done (a duplicate message). The message's
        outbox row goes in the same transaction: from here on the lease,
        not the message, guards the action. A notice that the action
        waited for an executor with its target goes too."""
        ae = models.ActionExecution
        me = self.id

        @db_api.retry_on_db_error
        def claim() -> dict[str, Any] | None:
            with db_api.transaction() as s:
                outbox.acknowledge(s, outbox_id)
                res = s.execute(sa.update(ae).where(
                    ae.id == action_ex_id, ae.state == states.RUNNING,
                    ae.executor_id.is_(None)).values(
                        executor_id=me, lease_until=_lease_end()))
                if res.rowcount != 1:
                    return None
                row = s.execute(sa.select(
                    ae.name, ae.input, ae.state_info,
                    ae.task_execution_id).where(ae.id == action_ex_id)).one()
                recovery.clear_waiting(s, action_ex_id, row.task_execution_id,
                                       row.state_info)
                return {'name': row.name, 'input': row.input or {}}
        return claim()

    @log_context.for_action
    def run_action(self, ctx: Any, action_ex_id: str, action_name: str,
                   namespace: str = '', safe_rerun: bool = False,
                   exec_ctx: dict | None = None, timeout: float | None = None,
                   outbox_id: str | None = None, **_ignored: Any) -> None:
        # Claim only with a free slot: a busy executor leaves the action
        # (and its message) to the others.
        while not self._slots.acquire(timeout=0.5):
            if self._stopping.is_set():
                break
        else:
            try:
                if not self._stopping.is_set():
                    self._claim_and_run(ctx, action_ex_id, safe_rerun,
                                        namespace, exec_ctx, timeout,
                                        outbox_id)
                    return
            finally:
                self._slots.release()
        self._decline(action_ex_id, outbox_id)

    def _decline(self, action_ex_id: str, outbox_id: str | None) -> None:
        """This executor is stopping: leave the action unclaimed, and let
        a relay send its message again at its next sweep (to another
        executor) instead of after the message's lease."""
        LOG.info('Stopping: not claiming action execution %s',
                 action_ex_id)
        if not outbox_id:
            return  # a re-sent message: recovery re-sends it again
        ob = models.OutboxMessage
        try:
            with db_api.transaction() as s:
                s.execute(sa.update(ob).where(ob.id == outbox_id).values(
                    lease_until=timeutils.utcnow()))
        except Exception:
            LOG.warning('Could not hand back the message of %s; it is '
                        'sent again when its lease ends', action_ex_id,
                        exc_info=True)

    def _claim_and_run(self, ctx: Any, action_ex_id: str, safe_rerun: bool,
                       namespace: str, exec_ctx: dict | None,
                       timeout: float | None, outbox_id: str | None
                       ) -> None:
        claimed = self._claim(action_ex_id, outbox_id)
        if claimed is None:
            LOG.debug('Action execution %s is not claimable; duplicate '
                      'message ignored', action_ex_id)
            return
        started = time.perf_counter()
        metrics.action_claimed()
        self.leases.add(action_ex_id)
        with self._idle:
            self._busy += 1
        try:
            if _redelivered(ctx) and not safe_rerun:
                # Sent again after it may have run somewhere: as upstream,
                # only an action marked safe-rerun runs a second time.
                LOG.warning('run_action for %s was redelivered and the '
                            'action is not safe-rerun; failing it',
                            action_ex_id)
                self._deliver(ctx, action_ex_id, {
                    'error': recovery.REDELIVERED_MSG % claimed['name']})
                return
            result = self._run(ctx, claimed['name'], claimed['input'],
                               namespace, exec_ctx or {}, timeout)
            if self._was_handed_back(action_ex_id):
                LOG.info('Action execution %s finished after it was handed '
                         'back at shutdown; its result is dropped',
                         action_ex_id)
                return
            if result is None:
                self._mark_async(action_ex_id)
                return
            self._deliver(ctx, action_ex_id, result)
            metrics.action_done('executor', started, result)
        finally:
            self.leases.discard(action_ex_id)
            metrics.action_released()
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _was_handed_back(self, action_ex_id: str) -> bool:
        with self._idle:
            return action_ex_id in self._handed_back

    # -- shutdown

    def begin_shutdown(self) -> None:
        """Claim no more actions; running ones go on."""
        self._stopping.set()

    def drain(self, deadline: float | None) -> bool:
        """Wait until the running actions are done or ``deadline``
        (``time.monotonic()``; None: no limit) passes, then hand back what
        still runs. True when nothing was left running."""
        self.begin_shutdown()
        with self._idle:
            running = self._busy
        if running:
            LOG.info('Stopping: waiting for %d running action(s)%s', running,
                     '' if deadline is None else ' for up to %.0f s'
                     % max(deadline - time.monotonic(), 0))
        with self._idle:
            while self._busy:
                left = None if deadline is None else \
                    deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._idle.wait(timeout=1.0 if left is None
                                else min(left, 1.0))
            if not self._busy:
                return True
        self.hand_back()
        return False

    def hand_back(self) -> None:
        """End the leases of the actions still running here, so that
        they are recovered now rather than when the leases would have run
        out: safe-rerun ones are sent to another executor, the others
        fail with the lost-executor error (the task's retry and on-error
        apply)."""
        self._abandoned.set()
        self.leases.stop()  # a renewal must not bring the leases back
        ids = self.leases.running()
        with self._idle:
            self._handed_back.update(ids)
        if not ids:
            return
        LOG.warning('Stopping: handing back %d action(s) still running: %s',
                    len(ids), ', '.join(ids))
        ae = models.ActionExecution
        past = timeutils.utcnow() - datetime.timedelta(seconds=1)
        try:
            with db_api.transaction() as s:
                s.execute(sa.update(ae).where(
                    ae.id.in_(ids), ae.executor_id == self.id,
                    ae.state == states.RUNNING).values(lease_until=past))
            to_fail: list[str] = []
            for _ in range(10):
                resent, failing = recovery.sweep_actions()
                to_fail += failing
                if not resent and not failing:
                    break
        except Exception:
            LOG.warning('Handing back running actions failed; recovery '
                        'takes them when their leases run out',
                        exc_info=True)
            return
        if to_fail:
            self._fail_lost(to_fail)

    @staticmethod
    def _fail_lost(ids: list[str]) -> None:
        """Fail actions as recovery fails those of a dead executor, here
        and now (the engine's code, in this process: it only needs the
        database and the outbox), rather than asking an engine that may be
        stopping too. What cannot be done now is done by an engine's
        recovery once the leases run out again."""
        recovery.fail_lost_actions(ids)

    def _run(self, ctx: Any, name: str, action_input: dict[str, Any],
             namespace: str, exec_ctx: dict[str, Any],
             timeout: float | None) -> dict[str, Any] | None:
        security = ctx.to_dict() if hasattr(ctx, 'to_dict') else dict(ctx)
        desc = registry.find(name, namespace,
                             project_id=security.get('project_id'))
        if desc is None:
            return {'error': 'Failed to find action [action_name=%s]' % name}
        try:
            desc.check_parameters(action_input)
        except exc.MistralError as e:
            return {'error': str(e)}
        action_ctx = action_context.build_action_context(security, exec_ctx)
        return runner.run(desc, action_input, action_ctx, timeout,
                          request_ctx=action_context.application_context(
                              security))

    def _mark_async(self, action_ex_id: str) -> None:
        """An async action waits for its result through the API; it is
        nobody's to renew any more."""
        ae = models.ActionExecution
        with db_api.transaction() as s:
            s.execute(sa.update(ae).where(ae.id == action_ex_id).values(
                is_sync=False, lease_until=None))

    def _deliver(self, ctx: Any, action_ex_id: str,
                 result: dict[str, Any]) -> None:
        # Retried until the engine has it: engines restart, brokers
        # restart. The lease stays renewed meanwhile. A stopping executor
        # gives up once it handed its actions back.
        def abandoned(_state: Any) -> bool:
            return self._abandoned.is_set()

        for attempt in tenacity.Retrying(
                wait=tenacity.wait_exponential(multiplier=0.2, max=5),
                stop=tenacity.stop_any(tenacity.stop_after_delay(3600),
                                       abandoned),
                before_sleep=lambda rs: LOG.warning(
                    'Sending the result of %s to the engine failed (%s); '
                    'retrying', action_ex_id, rs.outcome.exception()),
                reraise=True):
            with attempt:
                try:
                    clients.engine().on_action_complete(
                        ctx, action_ex_id, result, processed=True)
                except exc.DBEntityNotFoundError:
                    # The execution was deleted meanwhile.
                    return
                except exc.MistralError as e:
                    if e.http_code < 500:
                        LOG.error('Engine refused the result of %s: %s',
                                  action_ex_id, e)
                        return
                    raise
                except (TypeError, ValueError) as e:
                    # Not a transient failure: the message could not be
                    # encoded (runner.run converts results, so this is a
                    # last resort). Send an error the engine can store.
                    LOG.error('The result of %s cannot be sent: %s',
                              action_ex_id, e)
                    if result.get('error') == _UNSENDABLE:
                        return  # recovery fails it when its lease ends
                    result = {'error': _UNSENDABLE}
                    raise

    def run_action_sync(self, ctx: Any, action_name: str,
                        action_input: dict | None = None, namespace: str = '',
                        action_timeout: float | None = None
                        ) -> dict[str, Any]:
        """Run an action with no stored execution and answer its result."""
        started = time.monotonic()
        result = self._run(ctx, action_name, action_input or {}, namespace,
                           {}, action_timeout)
        LOG.debug('Ran %s in %.3fs', action_name, time.monotonic() - started)
        return result if result is not None else {'data': None}


class LocalExecutor:
    """``[executor] type = local``: actions run in this (engine) process.

    ``submit`` queues a ``run_action`` message for a pool of daemon
    threads (``[executor] workers``); the message's outbox row stays until
    a thread claims the action, so a process that dies with a full queue
    loses nothing: the row is sent again.
    """

    def __init__(self) -> None:
        self.executor = Executor()
        self._queue: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _ensure_started(self) -> None:
        with self._lock:
            if self._threads:
                return
            self.executor.leases.start()
            for i in range(CONF.executor.workers):
                t = threading.Thread(target=self._work, daemon=True,
                                     name='local-executor-%d' % i)
                t.start()
                self._threads.append(t)

    def submit(self, ctx: dict[str, Any], method: str,
               payload: dict[str, Any]) -> None:
        if method != 'run_action':
            raise ValueError('The local executor has no method %r' % method)
        self._ensure_started()
        self._queue.put((mistral_context.MistralContext.from_dict(
            dict(ctx or {})), dict(payload)))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            ctx, payload = item
            try:
                self.executor.run_action(ctx, **payload)
            except Exception:
                # The outbox row or the lease brings it back.
                LOG.exception('Local executor failed to run %s',
                              payload.get('action_ex_id'))

    def run_action_sync(self, ctx: Any, action_name: str,
                        action_input: dict | None = None,
                        namespace: str = '',
                        action_timeout: float | None = None
                        ) -> dict[str, Any]:
        return self.executor.run_action_sync(
            ctx, action_name, action_input, namespace, action_timeout)

    def drain(self, deadline: float | None) -> bool:
        """Stopping: queued messages are handed back unclaimed (the
        worker threads decline them), running actions get until
        ``deadline`` (see :meth:`Executor.drain`)."""
        return self.executor.drain(deadline)

    def stop(self) -> None:
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        if threads:
            self.executor.leases.stop()


_local: LocalExecutor | None = None
_local_lock = threading.Lock()


def is_local() -> bool:
    return CONF.executor.type == 'local'


def local() -> LocalExecutor:
    """This process's local executor (created on first use)."""
    global _local
    if _local is None:
        with _local_lock:
            if _local is None:
                _local = LocalExecutor()
    return _local


def current_local() -> LocalExecutor | None:
    """This process's local executor if one was created."""
    return _local


def reset_local() -> None:
    global _local
    with _local_lock:
        if _local is not None:
            _local.stop()
        _local = None
