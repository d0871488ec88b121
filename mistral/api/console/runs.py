"""``GET /ui/api/tasks/<id>/runs``: what ran for one task, and where.

The v2 API lists a task's action executions without the executor that
claimed each one, its lease, or the with-items element it ran for (upstream
has none of these on the wire, and clients compare wire fields), yet these
are what a person looks for when an item is stuck. The console reads them
here, under the same project scoping and policy as ``/v2/tasks/<id>`` and
``/v2/action_executions``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mistral import context as mistral_context
from mistral.api import access
from mistral.api.controllers.v2 import lookup
from mistral.db import api as db_api
from mistral.db import models
from mistral.utils import timeutils

_ACTION_COLUMNS = ('id', 'name', 'state', 'state_info', 'accepted',
                   'runtime_context', 'executor_id', 'lease_until',
                   'last_heartbeat', 'created_at', 'updated_at')
_WORKFLOW_COLUMNS = ('id', 'workflow_name', 'state', 'state_info',
                     'accepted', 'params', 'created_at', 'updated_at')
_TIMES = ('lease_until', 'last_heartbeat', 'created_at', 'updated_at')


def _wire(row: dict[str, Any]) -> dict[str, Any]:
    for key in _TIMES:
        if key in row:
            row[key] = timeutils.to_wire(row[key])
    return row


def task_runs(ctx: mistral_context.MistralContext,
              task_id: str) -> dict[str, Any]:
    """Every action or sub-workflow execution of the task, oldest first.

    Each has ``kind`` (``action`` or ``workflow``), ``index`` (the
    with-items element, 0 otherwise), ``executor_id`` (``inline`` for
    actions the engine ran itself; null for sub-workflows and unclaimed
    actions) and the API's timestamps.
    """
    access.enforce('tasks:get', ctx)
    access.enforce('action_executions:list', ctx)
    lookup.check_uuid('task_id', task_id)
    ae, wf = models.ActionExecution, models.WorkflowExecution
    runs: list[dict[str, Any]] = []
    with db_api.read_session() as session:
        task = lookup.get_row(session, models.TaskExecution, ctx, task_id,
                              ('id', 'type'))
        actions = session.execute(
            lookup.scoped(sa.select(*[getattr(ae, c) for c in
                                      _ACTION_COLUMNS]), ae, ctx)
            .where(ae.task_execution_id == task_id)
            .order_by(ae.created_at, ae.id))
        for found in actions:
            row = dict(zip(_ACTION_COLUMNS, found, strict=False))
            context = row.pop('runtime_context') or {}
            row.update(kind='action', index=context.get('index', 0))
            runs.append(_wire(row))
        subs = session.execute(
            lookup.scoped(sa.select(*[getattr(wf, c) for c in
                                      _WORKFLOW_COLUMNS]), wf, ctx)
            .where(wf.task_execution_id == task_id)
            .order_by(wf.created_at, wf.id))
        for found in subs:
            row = dict(zip(_WORKFLOW_COLUMNS, found, strict=False))
            params = row.pop('params') or {}
            row.update(kind='workflow', name=row.pop('workflow_name'),
                       index=params.get('index', 0), executor_id=None)
            runs.append(_wire(row))
    runs.sort(key=lambda r: (r['created_at'] or '', r['id']))
    return {'task_id': task['id'], 'type': task['type'], 'runs': runs}
