"""Recovery of work whose owner disappeared, and actions that wait.

* An action claimed by an executor whose lease ran out: the executor died
  (or lost the database) while running it. With ``safe-rerun`` it is handed
  out again (to its ``target``, if it has one); otherwise it fails, with
  the message upstream Mistral gives an action whose executor stopped
  sending heartbeats.
* An action nobody claimed for a while:

  - with a ``target``: no executor serving that target is running. Its
    ``run_action`` message stays in the outbox (the relay keeps sending it
    until an executor claims it), and the action and its task say, in their
    ``state_info``, that they wait for an executor with that target. The
    executor that claims it clears the notice;
  - without one: its ``run_action`` message was lost (e.g. a broker
    restart). It is sent again; claims are compare-and-set, so a duplicate
    cannot run it twice.

Every engine runs this sweep; rows are claimed with SKIP LOCKED, so engines
never work on the same row at once.
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import orm

from mistral import context as mistral_context
from mistral.db import api as db_api
from mistral.db import models
from mistral.handoff import lease as leases
from mistral.handoff import outbox
from mistral.utils import timeutils
from mistral.workflow import states

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Upstream's text for a run request that came again for an action that may
# already have run (it is the wire contract: clients match on it).
REDELIVERED_MSG = ('Request to run an action was redelivered, but it cannot '
                   'be re-run safely. The only safe thing to do is fail it '
                   '[action=%s].')
# An action whose executor died: upstream fails it with "Heartbeat wasn't
# received." once its executor stops reporting; the rest says why here.
LOST_EXECUTOR_MSG = ("Heartbeat wasn't received. The executor running this "
                     'action stopped before it reported a result, and the '
                     'action is not marked safe-rerun, so it was not run '
                     'again [action_ex_id=%s]')
WAITING_PREFIX = 'Waiting for an executor with target '
WAITING_FOR_TARGET_MSG = (WAITING_PREFIX + '"%s": no running executor has '
                          'that target ([executor] host); the action runs '
                          'as soon as one starts')


_FINISHED = (states.SUCCESS, states.ERROR, states.CANCELLED)


def waiting_message(target: str) -> str:
    return WAITING_FOR_TARGET_MSG % target


def target_of(ax: models.ActionExecution) -> str | None:
    return (ax.runtime_context or {}).get('target') or None


def _run_action_payload(ax: models.ActionExecution) -> dict[str, Any]:
    rctx = ax.runtime_context or {}
    return {
        'action_ex_id': ax.id, 'action_name': ax.name,
        'namespace': ax.workflow_namespace or '',
        'safe_rerun': bool(rctx.get('safe_rerun')),
        # Of an action run alone with params.timeout.
        'timeout': rctx.get('timeout'),
        'exec_ctx': {
            'workflow_execution_id': ax.workflow_execution_id,
            'task_execution_id': ax.task_execution_id,
            'action_execution_id': ax.id,
            'workflow_name': ax.workflow_name,
            'callback_url': '/v2/action_executions/%s' % ax.id,
        },
    }


def _ctx_for(ax: models.ActionExecution, redelivered: bool
             ) -> dict[str, Any]:
    return mistral_context.MistralContext(
        project_id=ax.project_id, redelivered=redelivered).to_dict()


def _queued_for(s: orm.Session, targets: set[str | None]
                ) -> dict[str, str]:
    """action_ex_id -> outbox row id of the run_action messages queued
    for these targets (the few rows of targets nobody serves)."""
    if not targets:
        return {}
    ob = models.OutboxMessage
    found = s.execute(sa.select(ob.id, ob.payload).where(
        ob.target == 'executor', ob.method == 'run_action',
        ob.server.in_(targets))).all()
    out = {}
    for row in found:
        args = (row.payload or {}).get('args') or {}
        if args.get('action_ex_id'):
            out[args['action_ex_id']] = row.id
    return out


def _note_waiting(s: orm.Session, ax: models.ActionExecution,
                  target: str) -> None:
    """Say on the action and its task that they wait for ``target``."""
    msg = waiting_message(target)
    if ax.state_info != msg:
        LOG.warning('Action execution %s waits for an executor with '
                    'target %s', ax.id, target)
        ax.state_info = msg
    if ax.task_execution_id:
        te = models.TaskExecution
        # Only a running task with nothing else to say: the engine's own
        # state_info (retries, errors) is never overwritten.
        s.execute(sa.update(te).where(
            te.id == ax.task_execution_id, te.state == states.RUNNING,
            sa.or_(te.state_info.is_(None), sa.and_(
                te.state_info.like(WAITING_PREFIX + '%'),
                te.state_info != msg))).values(state_info=msg))


def clear_waiting(s: orm.Session, action_ex_id: str, task_ex_id: str | None,
                  state_info: str | None) -> None:
    """An executor claimed a waiting action: drop the notices."""
    if not state_info or not state_info.startswith(WAITING_PREFIX):
        return
    ae, te = models.ActionExecution, models.TaskExecution
    s.execute(sa.update(ae).where(ae.id == action_ex_id).values(
        state_info=None))
    if task_ex_id:
        s.execute(sa.update(te).where(
            te.id == task_ex_id,
            te.state_info.like(WAITING_PREFIX + '%')).values(
                state_info=None))


def sweep_actions(limit: int = 100) -> tuple[int, list[str]]:
    """Re-send lost messages, note actions waiting for their target;
    return (messages re-sent, ids to fail)."""
    ae = models.ActionExecution
    now = timeutils.utcnow()
    lease = datetime.timedelta(seconds=CONF.executor.action_lease)
    batch = outbox.Batch()
    to_fail: list[str] = []
    with db_api.transaction() as s:
        # Actions of workflows and actions run alone (POST
        # /v2/action_executions) alike; async ones wait for the API.
        # Another engine's sweep skips the rows this one looks at.
        found = s.execute(leases.skip_locked(sa.select(ae).where(
            ae.state == states.RUNNING, ae.is_sync.is_(True),
            sa.or_(ae.lease_until < now,
                   sa.and_(ae.executor_id.is_(None),
                           ae.last_heartbeat < now - lease))).limit(limit))
        ).scalars().all()
        alive = _live_executors(s, {ax.executor_id for ax in found
                                    if ax.executor_id}, now)
        waiting = [ax for ax in found
                   if ax.executor_id is None and target_of(ax)]
        queued = _queued_for(s, {target_of(ax) for ax in waiting})
        finished = _finished_workflows(
            s, {ax.workflow_execution_id for ax in waiting})
        for ax in found:
            target = target_of(ax)
            if ax.executor_id is None:
                if target and ax.workflow_execution_id in finished:
                    # Its workflow ended (e.g. cancelled) while it waited;
                    # drop_orphan_messages() removes its message.
                    ax.last_heartbeat = now
                    continue
                if target:
                    # Nobody serves the target (yet). The message waits in
                    # the outbox; it never goes to another executor.
                    _note_waiting(s, ax, target)
                    ax.last_heartbeat = now
                    if ax.id in queued:
                        continue
                elif (ax.last_heartbeat or now) >= now - 2 * lease:
                    continue
                LOG.info('Re-sending run_action for %s (lost message)',
                         ax.id)
                ax.last_heartbeat = now
                batch.add('executor', 'run_action', _run_action_payload(ax),
                          ctx=_ctx_for(ax, False), server=target)
                continue
            if ax.executor_id in alive:
                # Its executor still renews other leases: this one missed
                # a renewal (e.g. its row was locked meanwhile), it is not
                # lost. The lease is not extended here: only the executor's
                # own renewals may count as signs of life.
                continue
            safe = bool((ax.runtime_context or {}).get('safe_rerun'))
            if not safe:
                LOG.warning('Executor %s stopped renewing the lease of %s; '
                            'the action is not safe-rerun, failing it',
                            ax.executor_id, ax.id)
                to_fail.append(ax.id)
                # Keep other sweeps away while the engine fails it.
                ax.lease_until = now + lease
                continue
            LOG.warning('Executor %s stopped renewing the lease of %s; '
                        'running the action again (safe-rerun)',
                        ax.executor_id, ax.id)
            ax.executor_id = None
            ax.lease_until = None
            ax.last_heartbeat = now
            batch.add('executor', 'run_action', _run_action_payload(ax),
                      ctx=_ctx_for(ax, True), server=target)
        batch.write(s)
    outbox.relay().deliver(batch.due_now())
    return len(batch.rows), to_fail


def _finished_workflows(s: orm.Session, wf_ex_ids: set[str]) -> set[str]:
    if not wf_ex_ids:
        return set()
    wf = models.WorkflowExecution
    return set(s.execute(sa.select(wf.id).where(
        wf.id.in_(wf_ex_ids), wf.state.in_(_FINISHED))).scalars().all())


def _live_executors(s: orm.Session, executor_ids: set[str | None],
                    now: datetime.datetime) -> set[str | None]:
    """Executors that renewed some lease recently (their latest lease is
    still running)."""
    if not executor_ids:
        return set()
    ae = models.ActionExecution
    found = s.execute(
        sa.select(ae.executor_id).where(
            ae.executor_id.in_(executor_ids), ae.state == states.RUNNING,
            ae.lease_until > now).distinct()).scalars().all()
    return set(found)


def fail_lost_actions(ids: list[str]) -> None:
    from mistral.engine import engine as engine_mod

    eng = engine_mod.Engine()
    for ax_id in ids:
        try:
            eng.on_action_complete(mistral_context.admin_context(), ax_id,
                                   {'error': LOST_EXECUTOR_MSG % ax_id})
        except Exception:
            LOG.warning('Failing lost action %s failed', ax_id,
                        exc_info=True)


def drop_orphan_messages(limit: int = 200) -> int:
    """Delete targeted run_action messages whose action no longer waits
    (finished, cancelled, deleted or already claimed): nobody would ever
    acknowledge them, and the relay would send them for ever."""
    ob, ae = models.OutboxMessage, models.ActionExecution
    with db_api.transaction() as s:
        rows = s.execute(sa.select(ob.id, ob.payload).where(
            ob.target == 'executor', ob.method == 'run_action',
            ob.server.is_not(None),
            ob.created_at < timeutils.utcnow() - datetime.timedelta(
                seconds=CONF.executor.action_lease)).limit(limit)).all()
        by_action = {((r.payload or {}).get('args') or {}).get(
            'action_ex_id'): r.id for r in rows}
        by_action.pop(None, None)
        if not by_action:
            return 0
        wf = models.WorkflowExecution
        waiting = set(s.execute(
            sa.select(ae.id).outerjoin(
                wf, wf.id == ae.workflow_execution_id).where(
                ae.id.in_(list(by_action)), ae.state == states.RUNNING,
                ae.executor_id.is_(None),
                sa.or_(wf.id.is_(None),
                       wf.state.not_in(_FINISHED)))).scalars().all())
        dead = [row_id for ax_id, row_id in by_action.items()
                if ax_id not in waiting]
        if dead:
            s.execute(sa.delete(ob).where(ob.id.in_(dead)))
        return len(dead)


class RecoveryLoop:
    def __init__(self, interval: float | None = None) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name='recovery')
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        interval = self._interval or max(CONF.executor.action_lease / 3.0,
                                         1.0)
        while not self._stop.wait(interval):
            try:
                _, to_fail = sweep_actions()
                if to_fail:
                    fail_lost_actions(to_fail)
                drop_orphan_messages()
            except Exception:
                LOG.warning('Recovery sweep failed', exc_info=True)
