"""Execution events for the notifier (WORKFLOW_* and TASK_*).

The engine calls these at every state change inside its transaction; an
event that has publishers becomes a row of the notifier's durable queue
(:mod:`mistral.handoff.deliveries`), so notifications commit with the
state they report and are published in order, with retries.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Callable

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import orm

from mistral.db import models
from mistral.handoff import deliveries
from mistral.metrics import hooks as metrics
from mistral.utils import timeutils
from mistral.workflow import task_machine as tm

if TYPE_CHECKING:
    from mistral.engine.run import Run

CONF = cfg.CONF

WORKFLOW_LAUNCHED = 'WORKFLOW_LAUNCHED'
WORKFLOW_SUCCEEDED = 'WORKFLOW_SUCCEEDED'
WORKFLOW_FAILED = 'WORKFLOW_FAILED'
WORKFLOW_CANCELLED = 'WORKFLOW_CANCELLED'
WORKFLOW_PAUSED = 'WORKFLOW_PAUSED'
WORKFLOW_RESUMED = 'WORKFLOW_RESUMED'
WORKFLOW_RERUN = 'WORKFLOW_RERUN'

# A task's events and which transition emits which are the task
# machine's (it returns them as Notify commands).
TASK_LAUNCHED = tm.TASK_LAUNCHED
TASK_SUCCEEDED = tm.TASK_SUCCEEDED
TASK_FAILED = tm.TASK_FAILED
TASK_CANCELLED = tm.TASK_CANCELLED
TASK_PAUSED = tm.TASK_PAUSED
TASK_RESUMED = tm.TASK_RESUMED
TASK_RERUN = tm.TASK_RERUN
TASK_SKIPPED = tm.TASK_SKIPPED

WORKFLOW_BY_STATE = {'SUCCESS': WORKFLOW_SUCCEEDED, 'ERROR': WORKFLOW_FAILED,
                     'CANCELLED': WORKFLOW_CANCELLED,
                     'PAUSED': WORKFLOW_PAUSED}
TASK_BY_STATE = tm.TASK_BY_STATE


def _iso(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.isoformat(' ')


def _publishers(run: Run, launching: bool) -> list[dict[str, Any]]:
    """The execution's publishers: ``params.notify``.

    At launch a sub-workflow inherits the publishers of its workflow tree
    (they are the root's: each level copied them from the one above), and
    a root execution gets the global ``[notifier] notify`` ones; both are
    written into the execution's params, as upstream shows them, so every
    later event just reads them from there.
    """
    wf_ex = run.wf_ex
    params = wf_ex.params or {}
    own = list(params.get('notify') or [])
    if not launching:
        return own
    if wf_ex.root_execution_id:
        extra = [] if own else _root_publishers(run.session,
                                                wf_ex.root_execution_id)
    else:
        extra = [dict(p) for p in CONF.notifier.notify or []]
    if extra:
        own += extra
        wf_ex.params = {**params, 'notify': own}
    return own


def _root_publishers(session: orm.Session, root_id: str
                     ) -> list[dict[str, Any]]:
    # The root is usually in this session already (sub-workflows start in
    # their parent's transaction); ask the database only when it is not.
    root = session.identity_map.get(
        orm.util.identity_key(models.WorkflowExecution, root_id))
    if root is None:
        root = next((o for o in session.new
                     if isinstance(o, models.WorkflowExecution)
                     and o.id == root_id), None)
    if root is not None:
        params = root.params or {}
    else:
        with session.no_autoflush:
            params = session.execute(
                sa.select(models.WorkflowExecution.params).where(
                    models.WorkflowExecution.id == root_id)
            ).scalar() or {}
    return list(params.get('notify') or [])


def _emit(run: Run, ex_id: str, event: str,
          data_of: Callable[[], dict[str, Any]]) -> None:
    # The payload is built only for an event someone subscribed to: most
    # executions have no publisher, and building it (a dozen attributes,
    # four timestamps as text) was most of the cost of an event.
    launching = event == WORKFLOW_LAUNCHED
    publishers = [p for p in _publishers(run, launching)
                  if isinstance(p, dict) and deliveries.wants(p, event)]
    if not publishers:
        return
    deliveries.enqueue(run.session, run.ctx, run.wf_ex.id, ex_id, data_of(),
                       event, _iso(timeutils.utcnow()), publishers)


def workflow_event(run: Run, event: str) -> None:
    """The run's workflow execution reached ``event``."""
    metrics.workflow_event(run, event)
    wf_ex = run.wf_ex
    _emit(run, wf_ex.id, event, lambda: {
        'id': wf_ex.id, 'name': wf_ex.name,
        'workflow_name': wf_ex.workflow_name,
        'workflow_namespace': wf_ex.workflow_namespace,
        'workflow_id': wf_ex.workflow_id, 'state': wf_ex.state,
        'state_info': wf_ex.state_info, 'project_id': wf_ex.project_id,
        'task_execution_id': wf_ex.task_execution_id,
        'root_execution_id': wf_ex.root_execution_id,
        'created_at': _iso(wf_ex.created_at),
        'updated_at': _iso(wf_ex.updated_at), 'event': event,
    })


def task_event(run: Run, task_ex: models.TaskExecution, event: str) -> None:
    """A task execution of the run's workflow reached ``event``."""
    metrics.task_event(run, task_ex, event)
    wf_ex = run.wf_ex
    _emit(run, task_ex.id, event, lambda: {
        'id': task_ex.id, 'name': task_ex.name,
        'workflow_execution_id': wf_ex.id,
        'workflow_name': wf_ex.workflow_name,
        'workflow_namespace': wf_ex.workflow_namespace,
        'workflow_id': wf_ex.workflow_id, 'state': task_ex.state,
        'state_info': task_ex.state_info, 'type': task_ex.type,
        'project_id': task_ex.project_id,
        'created_at': _iso(task_ex.created_at),
        'updated_at': _iso(task_ex.updated_at),
        'started_at': _iso(task_ex.started_at),
        'finished_at': _iso(task_ex.finished_at), 'event': event,
    })
