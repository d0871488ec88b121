"""The executor: claims actions, runs them, reports results to the engine.

A ``run_action`` message only names an action execution; ``run_actions``
names several (those one engine transaction scheduled, up to ``[executor]
actions_per_message``). The executor first claims them in the database (a
compare-and-set that only one executor wins, one statement for as many as
it has free workers) with a lease, so a duplicated or re-sent message never
runs an action twice. While actions run, one thread renews the leases of
all of them with a single statement. A lease that runs out marks a dead
executor; recovery (see ``mistral.engine.recovery``) decides what happens
to its actions.

An executor serves the actions without a ``target`` (the shared topic
queue) and those whose ``target`` is its ``[executor] host`` (its own
queue). The claim records ``<process id>@<host>`` as the action's
``executor_id``, so where an action ran can be told afterwards.

Results go back without waiting for an answer (:mod:`.results`): many in
one message, kept (and the action's lease renewed) until the database
shows them applied, and sent again if they are not, so a result is not
lost when the broker or an engine restarts.

At most ``[executor] workers`` actions run at once in one executor (more
requests wait, unclaimed, so another executor may take them). With
``[executor] type = local`` there is no executor process: the engine
process hands its ``run_action(s)`` messages to :func:`local`, a pool of
``workers`` threads that claims, runs and reports them the same way.

Stopping (SIGTERM): :meth:`Executor.begin_shutdown` stops claiming (a
message that arrives later is handed back to the relay at once, unclaimed);
:meth:`Executor.drain` lets running actions finish for up to
``[DEFAULT] graceful_shutdown_timeout`` seconds, then hands back those
still running: their leases end now, so a safe-rerun action is sent to
another executor right away and any other fails as when its executor dies
(see ``mistral.engine.recovery``). Their late results, if any, are dropped.
Results already sent get the same time to be applied.
"""

from __future__ import annotations

import datetime
import logging
import queue
import threading
import time
from concurrent import futures
from typing import TYPE_CHECKING, Any, Sequence

import sqlalchemy as sa
from oslo_config import cfg

from mistral import context as mistral_context
from mistral import exceptions as exc
from mistral.actions import context as action_context
from mistral.actions import resolver
from mistral.actions import runner
from mistral.context import RequestContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.engine import bulk
from mistral.engine import recovery
from mistral.executor import results
from mistral.handoff import identity
from mistral.handoff import lease as leases
from mistral.handoff import outbox
from mistral.metrics import hooks as metrics
from mistral.utils import log_context
from mistral.utils import timeutils
from mistral.workflow import states

if TYPE_CHECKING:
    from mistral.engine.run import Run

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def executor_id(host: str | None = None) -> str:
    """An executor's id: this process's id and the executor's target
    host (``[executor] host`` by default)."""
    return '%s@%s' % (identity.PROCESS_ID,
                      CONF.executor.host if host is None else host)


def _redelivered(ctx: RequestContext) -> bool:
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
            # SKIP LOCKED: a row an engine has locked (it is applying that
            # action's result) must not hold up the renewal of all the
            # others.
            mine = s.execute(leases.skip_locked(sa.select(ae.id).where(
                ae.id.in_(ids), ae.executor_id == self.owner,
                ae.state == states.RUNNING))).scalars().all()
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
        self.results = results.Reporter(
            self.id, self._applied, applier=self.apply_results,
            batch_applier=self.apply_results_together)
        self._slots = threading.BoundedSemaphore(CONF.executor.workers)
        # Threads that run the claimed actions of a run_actions message
        # (a message's own thread runs the last of them).
        self._pool: futures.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # Set by begin_shutdown: claim nothing more.
        self._stopping = threading.Event()
        # Set once drain gave up: results still coming are not delivered.
        self._abandoned = threading.Event()
        # Actions handed back by drain (another executor or recovery owns
        # them now).
        self._handed_back: set[str] = set()
        self._idle = threading.Condition()
        self._busy = 0
        # Actions claimed and not finished running (their results may
        # still be on their way afterwards: see results.Reporter).
        self._running: set[str] = set()

    # -- claiming

    def _claim(self, action_ex_id: str, outbox_id: str | None = None
               ) -> dict[str, Any] | None:
        """Take one action for this process (see :meth:`_claim_many`)."""
        return self._claim_many([action_ex_id], outbox_id).get(action_ex_id)

    def _claim_many(self, ids: list[str], outbox_id: str | None = None
                    ) -> dict[str, dict[str, Any]]:
        """Take actions for this process, in one transaction and one
        compare-and-set: {id: {'name', 'input'}} of those won. An action
        another executor has, or that is already done (a duplicate
        message), is not in the answer. The message's outbox row goes in
        the same transaction: from here on the leases, not the message,
        guard the actions. Notices that actions waited for an executor
        with their target go too."""
        if not ids:
            return {}
        return _claim_in_db(ids, self.id, outbox_id)

    @log_context.for_action
    def run_action(self, ctx: RequestContext, action_ex_id: str,
                   action_name: str,
                   namespace: str = '', safe_rerun: bool = False,
                   exec_ctx: dict | None = None, timeout: float | None = None,
                   outbox_id: str | None = None, **_ignored: Any) -> None:
        self._serve(ctx, [{'action_ex_id': action_ex_id,
                           'action_name': action_name,
                           'namespace': namespace, 'safe_rerun': safe_rerun,
                           'exec_ctx': exec_ctx, 'timeout': timeout}],
                    outbox_id)

    def run_actions(self, ctx: RequestContext, actions: list[dict[str, Any]],
                    outbox_id: str | None = None, **_ignored: Any) -> None:
        """Several actions in one message (``run_action``'s arguments
        each): claimed as many at a time as there are free workers, in one
        statement."""
        self._serve(ctx, [a for a in actions or []
                          if isinstance(a, dict) and a.get('action_ex_id')],
                    outbox_id)

    def _serve(self, ctx: RequestContext, actions: list[dict[str, Any]],
               outbox_id: str | None) -> None:
        todo = list(actions)
        while todo:
            # Claim only with free workers: a busy executor leaves the
            # actions (and their message) to the others.
            n = self._take_slots(len(todo))
            if not n:
                self._decline([a['action_ex_id'] for a in todo], outbox_id)
                return
            chunk, todo = todo[:n], todo[n:]
            try:
                # The message is acknowledged with its last actions.
                claimed = self._claim_many(
                    [a['action_ex_id'] for a in chunk],
                    None if todo else outbox_id)
            except BaseException:
                for _ in range(n):
                    self._slots.release()
                raise
            mine = [a for a in chunk if a['action_ex_id'] in claimed]
            for a in chunk:
                if a['action_ex_id'] not in claimed:
                    self._slots.release()
                    LOG.debug('Action execution %s is not claimable; '
                              'duplicate message ignored', a['action_ex_id'])
            for a in mine:
                self._started(a['action_ex_id'])
            for i, a in enumerate(mine):
                args = (ctx, a, claimed[a['action_ex_id']])
                if i == len(mine) - 1 and not todo:
                    self._run_claimed(*args)
                else:
                    self._worker_pool().submit(self._run_claimed, *args)

    def _take_slots(self, wanted: int) -> int:
        """Wait for one free worker (0 when stopping), then take up to
        ``wanted`` of those free now."""
        while not self._slots.acquire(timeout=0.5):
            if self._stopping.is_set():
                return 0
        if self._stopping.is_set():
            self._slots.release()
            return 0
        taken = 1
        while taken < wanted and self._slots.acquire(blocking=False):
            taken += 1
        return taken

    def _worker_pool(self) -> futures.ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = futures.ThreadPoolExecutor(
                    max_workers=CONF.executor.workers,
                    thread_name_prefix='executor-worker')
            return self._pool

    def _decline(self, ids: list[str], outbox_id: str | None) -> None:
        """This executor is stopping: leave the actions unclaimed, and let
        a relay send their message again at its next sweep (to another
        executor) instead of after the message's lease."""
        LOG.info('Stopping: not claiming action execution(s) %s',
                 ', '.join(ids))
        if not outbox_id:
            return  # a re-sent message: recovery re-sends it again
        ob = models.OutboxMessage
        try:
            with db_api.transaction() as s:
                s.execute(sa.update(ob).where(ob.id == outbox_id).values(
                    lease_until=timeutils.utcnow()))
        except Exception:
            LOG.warning('Could not hand back the message of %s; it is '
                        'sent again when its lease ends', ', '.join(ids),
                        exc_info=True)

    # -- running

    def _started(self, action_ex_id: str) -> None:
        metrics.action_claimed()
        self.leases.add(action_ex_id)
        with self._idle:
            self._busy += 1
            self._running.add(action_ex_id)

    def _run_claimed(self, ctx: RequestContext, action: dict[str, Any],
                     claimed: dict[str, Any]) -> None:
        """Run a claimed action (its slot is taken) and report its
        result."""
        action_ex_id = action['action_ex_id']
        exec_ctx = action.get('exec_ctx')
        if not isinstance(exec_ctx, dict):
            exec_ctx = {}
        started = time.perf_counter()
        reported = False
        try:
            with log_context.bind(
                    execution_id=exec_ctx.get('workflow_execution_id'),
                    task_id=exec_ctx.get('task_execution_id'),
                    action_execution_id=action_ex_id):
                reported = self._run_and_report(ctx, action, claimed,
                                                exec_ctx, started)
        except Exception:
            # The lease brings it back (recovery) once it is not renewed.
            LOG.exception('Running action execution %s failed',
                          action_ex_id)
        finally:
            if not reported:
                self.leases.discard(action_ex_id)
            metrics.action_released()
            self._slots.release()
            with self._idle:
                self._busy -= 1
                self._running.discard(action_ex_id)
                self._idle.notify_all()

    def _run_and_report(self, ctx: RequestContext, action: dict[str, Any],
                        claimed: dict[str, Any], exec_ctx: dict[str, Any],
                        started: float) -> bool:
        """True when a result went to the reporter (the lease is then kept
        until an engine applied it)."""
        action_ex_id = action['action_ex_id']
        if _redelivered(ctx) and not action.get('safe_rerun'):
            # Sent again after it may have run somewhere: as upstream,
            # only an action marked safe-rerun runs a second time.
            LOG.warning('run_action for %s was redelivered and the '
                        'action is not safe-rerun; failing it',
                        action_ex_id)
            return self._report(ctx, action_ex_id, exec_ctx, {
                'error': recovery.REDELIVERED_MSG % claimed['name']})
        result = self._run(ctx, claimed['name'], claimed['input'],
                           action.get('namespace') or '', exec_ctx,
                           action.get('timeout'))
        if self._was_handed_back(action_ex_id):
            LOG.info('Action execution %s finished after it was handed '
                     'back at shutdown; its result is dropped',
                     action_ex_id)
            return False
        if result is None:
            self._mark_async(action_ex_id)
            return False
        reported = self._report(ctx, action_ex_id, exec_ctx, result)
        metrics.action_done('executor', started, result)
        return reported

    def _report(self, ctx: RequestContext, action_ex_id: str,
                exec_ctx: dict[str, Any],
                result: dict[str, Any]) -> bool:
        if self._abandoned.is_set():
            return False
        ctx_dict = _ctx_dict(ctx)
        self.results.report(ctx_dict, action_ex_id,
                            exec_ctx.get('workflow_execution_id'), result)
        return True

    @metrics.engine_request
    def apply_results(self, ctx: dict[str, Any], wf_ex_id: str | None,
                      items: list[dict[str, Any]]) -> None:
        """Apply results here, as an engine would (``[executor]
        apply_results``), then run the next action if one was taken. (Its
        duration is an engine request's: ``apply_results``.)"""
        from mistral.engine import engine as engine_mod

        eng = engine_mod.Engine()
        if wf_ex_id is None:
            # Actions run alone (POST /v2/action_executions).
            for item in items:
                try:
                    eng.on_action_complete(ctx, item['id'],
                                           item.get('result') or {},
                                           processed=True)
                except exc.DBEntityNotFoundError:
                    pass  # deleted meanwhile
            return
        self._apply_here(eng, [(ctx, wf_ex_id, items)])

    @metrics.engine_request
    def apply_results_together(self, groups: list[tuple[
            dict[str, Any], str, list[dict[str, Any]]]]) -> None:
        """Apply the results of several workflow executions
        (``[(ctx, wf_ex_id, results)]``) in one transaction, then run the
        next actions taken; raises when that failed (nothing of it is
        kept)."""
        from mistral.engine import engine as engine_mod

        self._apply_here(engine_mod.Engine(), groups)

    def _apply_here(self, eng: Any, groups: list[tuple[
            dict[str, Any], str, list[dict[str, Any]]]]) -> None:
        """One transaction of results, then the next actions it took."""
        local = LocalClaim(self)
        try:
            eng._apply_results_many(groups, local=local)
        except BaseException:
            local.release()
            raise
        local.run()

    def _applied(self, ids: list[str]) -> None:
        """Results an engine applied (or actions no longer ours): their
        leases need no renewal any more."""
        for i in ids:
            self.leases.discard(i)
        with self._idle:
            self._idle.notify_all()

    def _was_handed_back(self, action_ex_id: str) -> bool:
        with self._idle:
            return action_ex_id in self._handed_back

    # -- shutdown

    def begin_shutdown(self) -> None:
        """Claim no more actions; running ones go on."""
        self._stopping.set()

    def drain(self, deadline: float | None) -> bool:
        """Wait until the running actions are done and their results
        applied, or ``deadline`` (``time.monotonic()``; None: no limit)
        passes, then hand back what still runs. True when nothing was left
        running."""
        self.begin_shutdown()
        with self._idle:
            running = self._busy
        if running:
            LOG.info('Stopping: waiting for %d running action(s)%s', running,
                     '' if deadline is None else ' for up to %.0f s'
                     % max(deadline - time.monotonic(), 0))
        while True:
            with self._idle:
                while self._busy:
                    left = None if deadline is None else \
                        deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self._idle.wait(timeout=1.0 if left is None
                                    else min(left, 1.0))
                if self._busy:
                    break
            # Their results are on their way: wait for them to be applied
            # (the leases are renewed meanwhile). Applying one may have
            # started an action that was claimed just before we stopped.
            applied = self.results.wait_applied(deadline)
            with self._idle:
                if self._busy:
                    continue
            if not applied:
                LOG.warning('Stopping: %d action result(s) not yet applied; '
                            'their actions are recovered once their leases '
                            'run out', self.results.pending())
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
        with self._idle:
            ids = sorted(self._running)
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

    def _run(self, ctx: RequestContext, name: str,
             action_input: dict[str, Any],
             namespace: str, exec_ctx: dict[str, Any],
             timeout: float | None) -> dict[str, Any] | None:
        security = ctx.to_dict() if hasattr(ctx, 'to_dict') else dict(ctx)
        # The engine resolved and checked it when it planned the task; the
        # same rules again here (mistral.actions.resolver), as the
        # definition may have changed since. A failing lookup (the
        # database) is not the action's error: it propagates, and the
        # action comes back through its lease.
        desc = resolver.lookup(name, namespace, security.get('project_id'))
        if desc is None:
            return {'error': str(resolver.not_found(name))}
        try:
            resolver.check_input(desc, action_input)
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

    def run_action_sync(self, ctx: RequestContext, action_name: str,
                        action_input: dict | None = None, namespace: str = '',
                        action_timeout: float | None = None
                        ) -> dict[str, Any]:
        """Run an action with no stored execution and answer its result."""
        started = time.monotonic()
        result = self._run(ctx, action_name, action_input or {}, namespace,
                           {}, action_timeout)
        LOG.debug('Ran %s in %.3fs', action_name, time.monotonic() - started)
        return result if result is not None else {'data': None}


class LocalClaim:
    """The next actions of a workflow, taken by the executor that applied
    the result they follow from.

    When a result applied in an executor's process (``[executor]
    apply_results``) leads to new actions for any executor, the
    transaction that applies it also claims those of its first message
    for this executor, as many as it has free workers (their rows are
    inserted with this executor's id and lease, and the message carries
    only the rest, or is not sent at all); after the commit they run
    here. A chain of tasks then costs one transaction and no message per
    step, and a fan-out's branches no round trip through the broker and
    no claim of their own. A claimed action is guarded by its lease from
    the commit on, as any claimed action. Actions of further messages
    (more than ``[executor] actions_per_message``) still go to any
    executor.
    """

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        # Worker slots held (kept across a retried transaction), and how
        # many of them the current attempt reserved.
        self.slots = 0
        self._reserved = 0
        self.taken: list[tuple[dict[str, Any], dict[str, Any],
                               dict[str, Any]]] = []

    def _slot(self) -> bool:
        """Reserve a worker for one more action of this attempt."""
        if self._reserved < self.slots:
            self._reserved += 1  # held from an attempt that was retried
            return True
        if not self.executor._slots.acquire(blocking=False):
            return False
        self.slots += 1
        self._reserved += 1
        return True

    def adopt(self, *runs: Run) -> None:
        """Take the actions of each transaction's first message for any
        executor, up to the free workers (their rows are claimed; the
        message keeps the others, or goes). ``runs``: the executions the
        transaction advanced, each with its own messages."""
        self.taken = []  # a retried transaction starts over
        self._reserved = 0
        if self.executor._stopping.is_set():
            return
        for run in runs:
            self._adopt(run)

    def _adopt(self, run: Run) -> None:
        ex = self.executor
        for row in run.batch.rows:
            if row['target'] != 'executor' or row['server'] is not None \
                    or row['owner'] is None:
                continue  # for a target, delayed, or not an action
            if row['method'] == outbox.RUN_ACTIONS:
                actions = row['payload']['args']['actions']
            elif row['method'] == 'run_action':
                actions = [row['payload']['args']]
            else:
                continue
            pending = bulk.pending_rows(run.session, models.ActionExecution)
            ctx = row['payload']['ctx']
            kept, inserted = [], {}
            lease = _lease_end()
            for action in actions:
                if not self._slot():
                    kept.append(action)  # no worker: another executor's
                    continue
                found = pending.get(action['action_ex_id'])
                if found is None:
                    # Inserted already in this transaction (a flush
                    # before a query): claimed below, in one statement.
                    inserted[action['action_ex_id']] = action
                    continue
                found['executor_id'] = ex.id
                found['lease_until'] = lease
                self.taken.append((ctx, action, {
                    'name': found['name'], 'input': found['input'] or {}}))
            if inserted:
                # Rows of this uncommitted transaction: nobody else can
                # have claimed them.
                won = _claim_rows(run.session.connection(), list(inserted),
                                  ex.id, lease)
                for claimed_row in won:
                    self.taken.append((ctx, inserted.pop(claimed_row.id), {
                        'name': claimed_row.name,
                        'input': claimed_row.input or {}}))
                kept += inserted.values()
            if not kept:
                run.batch.drop(row)
            elif row['method'] == outbox.RUN_ACTIONS:
                row['payload']['args']['actions'] = kept
            return

    def release(self) -> None:
        for _ in range(self.slots):
            self.executor._slots.release()
        self.slots = 0

    def run(self) -> None:
        """After the commit: run the actions taken, if any."""
        taken, self.taken = self.taken, []
        for _ in range(self.slots - len(taken)):
            self.executor._slots.release()
        self.slots = 0  # _run_claimed releases the others
        ex = self.executor
        for ctx, action, claimed in taken:
            ex._started(action['action_ex_id'])
            ex._worker_pool().submit(ex._run_claimed, ctx, action, claimed)


def _ctx_dict(ctx: RequestContext | None) -> dict[str, Any]:
    # Any: mypy does not narrow the union (None included) by hasattr.
    c: Any = ctx
    data = c.to_dict() if hasattr(c, 'to_dict') else dict(c or {})
    # It described the run_action message, not the result.
    data.pop('redelivered', None)
    return data


_AE = models.ActionExecution.__table__
_CLAIMED = (_AE.c.id, _AE.c.name, _AE.c.input, _AE.c.state_info,
            _AE.c.task_execution_id)


def _free(ids: Any) -> Any:
    return sa.and_(_AE.c.id.in_(ids), _AE.c.state == states.RUNNING,
                   _AE.c.executor_id.is_(None))


# PostgreSQL: the compare-and-set of a claim and the deletion of the
# message's outbox row, as one statement built once.
_CLAIM_PG = _AE.update().where(
    _free(sa.bindparam('ids', expanding=True))).values(
        executor_id=sa.bindparam('me'),
        lease_until=sa.bindparam('lease', type_=_AE.c.lease_until.type)
).returning(*_CLAIMED).add_cte(
    models.OutboxMessage.__table__.delete().where(
        models.OutboxMessage.__table__.c.id == sa.bindparam('ob'))
    .cte('acknowledged'))


@db_api.retry_on_db_error
def _claim_in_db(ids: list[str], me: str, outbox_id: str | None
                 ) -> dict[str, dict[str, Any]]:
    """The claim transaction of :meth:`Executor._claim_many` (decorated
    once here: a retrying wrapper built per call cost as much as the
    claim's own Python work)."""
    if db_api.get_engine().dialect.name == 'postgresql':
        # One statement, committed by itself: the claim and the message's
        # acknowledgement in one round trip.
        with db_api.autocommit() as conn:
            won = conn.execute(_CLAIM_PG, {
                'ids': ids, 'me': me, 'lease': _lease_end(),
                'ob': outbox_id or ''}).all()
            _clear_waiting(conn, won)
    else:
        with db_api.transaction() as s:
            outbox.acknowledge(s, outbox_id)
            won = _claim_rows(s.connection(), ids, me, _lease_end())
            _clear_waiting(s, won)
    return {row.id: {'name': row.name, 'input': row.input or {}}
            for row in won}


def _claim_rows(conn: Any, ids: list[str], me: str,
                lease: datetime.datetime) -> list[Any]:
    """The compare-and-set of a claim: rows (id, name, input, state_info,
    task_execution_id) of the actions of ``ids`` this executor won."""
    if conn.dialect.update_returning:
        return conn.execute(_AE.update().where(_free(ids)).values(
            executor_id=me, lease_until=lease).returning(*_CLAIMED)).all()
    # MariaDB has no UPDATE ... RETURNING: lock the free rows first (a
    # concurrent claimer waits, then finds them taken).
    won = conn.execute(sa.select(_AE.c.id).where(_free(ids))
                       .with_for_update()).scalars().all()
    if not won:
        return []
    conn.execute(_AE.update().where(_AE.c.id.in_(won)).values(
        executor_id=me, lease_until=lease))
    return conn.execute(sa.select(*_CLAIMED).where(
        _AE.c.id.in_(won))).all()


def _clear_waiting(conn: Any, won: Sequence[Any]) -> None:
    for row in won:
        recovery.clear_waiting(conn, row.id, row.task_execution_id,
                               row.state_info)


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
        if method not in ('run_action', outbox.RUN_ACTIONS):
            raise ValueError('The local executor has no method %r' % method)
        self._ensure_started()
        self._queue.put((mistral_context.MistralContext.from_dict(
            dict(ctx or {})), method, dict(payload)))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            ctx, method, payload = item
            try:
                getattr(self.executor, method)(ctx, **payload)
            except Exception:
                # The outbox row or the lease brings it back.
                LOG.exception('Local executor failed to run %s',
                              payload.get('action_ex_id')
                              or len(payload.get('actions') or ()))

    def run_action_sync(self, ctx: RequestContext, action_name: str,
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
        self.executor.results.stop()


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
