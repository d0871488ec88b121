"""Recovery of work whose owner disappeared.

* An action claimed by an executor whose lease ran out: the executor died
  (or lost the database) while running it. With ``safe-rerun`` it is handed
  out again; otherwise it fails, because it may have had effects already.
* An action nobody claimed for a while: its ``run_action`` message was lost
  (e.g. a broker restart). It is sent again; claims are compare-and-set, so
  a duplicate cannot run it twice.

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

from mistral import context as mistral_context
from mistral.db import api as db_api
from mistral.db import models
from mistral.engine import outbox
from mistral.utils import timeutils
from mistral.workflow import states

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

LOST_EXECUTOR_MSG = ('The executor running this action stopped before it '
                     'reported a result, and the action is not marked '
                     'safe-rerun, so it was not run again [action_ex_id=%s]')


def _run_action_payload(ax: models.ActionExecution) -> dict[str, Any]:
    return {
        'action_ex_id': ax.id, 'action_name': ax.name,
        'namespace': ax.workflow_namespace or '',
        'safe_rerun': bool((ax.runtime_context or {}).get('safe_rerun')),
        'exec_ctx': {
            'workflow_execution_id': ax.workflow_execution_id,
            'task_execution_id': ax.task_execution_id,
            'action_execution_id': ax.id,
            'workflow_name': ax.workflow_name,
            'callback_url': '/v2/action_executions/%s' % ax.id,
        },
    }


def _ctx_for(ax: models.ActionExecution) -> dict[str, Any]:
    return mistral_context.MistralContext(
        project_id=ax.project_id, redelivered=True).to_dict()


def sweep_actions(limit: int = 100) -> tuple[int, list[str]]:
    """Re-send lost messages; return (re-sent, ids to fail)."""
    ae = models.ActionExecution
    now = timeutils.utcnow()
    stale = now - datetime.timedelta(seconds=2 * CONF.executor.action_lease)
    batch = outbox.Batch()
    to_fail: list[str] = []
    with db_api.transaction() as s:
        stmt = sa.select(ae).where(
            ae.state == states.RUNNING, ae.is_sync.is_(True),
            ae.workflow_execution_id.is_not(None),
            sa.or_(ae.lease_until < now,
                   sa.and_(ae.executor_id.is_(None),
                           ae.last_heartbeat < stale))).limit(limit)
        if not db_api.is_sqlite():
            stmt = stmt.with_for_update(skip_locked=True)
        found = s.execute(stmt).scalars().all()
        alive = _live_executors(s, {ax.executor_id for ax in found
                                    if ax.executor_id}, now)
        for ax in found:
            if ax.executor_id in alive:
                # Its executor still renews other leases: this one missed
                # a renewal (e.g. its row was locked meanwhile), it is not
                # lost. The lease is not extended here: only the executor's
                # own renewals may count as signs of life.
                continue
            safe = bool((ax.runtime_context or {}).get('safe_rerun'))
            if ax.executor_id is not None and not safe:
                to_fail.append(ax.id)
                # Keep other sweeps away while the engine fails it.
                ax.lease_until = now + datetime.timedelta(
                    seconds=CONF.executor.action_lease)
                continue
            LOG.info('Re-sending run_action for %s (%s)', ax.id,
                     'lost executor' if ax.executor_id else 'lost message')
            ax.executor_id = None
            ax.lease_until = None
            ax.last_heartbeat = now
            batch.add('executor', 'run_action', _run_action_payload(ax),
                      ctx=_ctx_for(ax))
        batch.write(s)
    outbox.relay().deliver(batch.due_now())
    return len(batch.rows), to_fail


def _live_executors(s: Any, executor_ids: set[str],
                    now: datetime.datetime) -> set[str]:
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
            except Exception:
                LOG.warning('Recovery sweep failed', exc_info=True)
