"""/v2/tasks and /v2/executions/<id>/tasks: task executions."""

from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa
from pecan import rest
from sqlalchemy import orm
from wsme import types as wtypes

from mistral import exceptions as exc
from mistral.api import access
from mistral.api import expose
from mistral.api import hooks
from mistral.api.controllers.v2 import action_execution as aex_ctl
from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import listing
from mistral.db import models
from mistral.rpc import clients
from mistral.utils import json_codec
from mistral.workflow import rerun
from mistral.workflow import states

COLUMNS = ('id', 'name', 'type', 'workflow_name', 'workflow_namespace',
           'workflow_id', 'workflow_execution_id', 'tags', 'state',
           'state_info', 'project_id', 'runtime_context', 'published',
           'processed', 'created_at', 'updated_at', 'started_at',
           'finished_at')

FIELD_COLUMNS = {
    # Computed from the task's action or sub-workflow executions.
    'result': ('type', 'runtime_context'),
    'published_global': (),
    'reset': (),
    'env': (),
}


def _index(runtime_context: Any) -> int:
    if isinstance(runtime_context, dict):
        return int(runtime_context.get('index') or 0)
    return 0


def task_results(session: orm.Session, tasks: Sequence[dict[str, Any]]
                 ) -> dict[str, Any]:
    """Results of these tasks, read with two queries for all of them.

    A task's result is the ``result`` of its accepted action executions
    (the output of its finished sub-workflows), a list in item order for
    with-items tasks, ``[]`` while there is none.
    """
    ids = [t['id'] for t in tasks]
    if not ids:
        return {}
    found: dict[str, list[tuple[int, Any, Any]]] = {i: [] for i in ids}
    aex = models.ActionExecution
    for tid, output, rctx, created in session.execute(
            sa.select(aex.task_execution_id, aex.output, aex.runtime_context,
                      aex.created_at)
            .where(aex.task_execution_id.in_(ids), aex.accepted.is_(True))):
        value = output.get('result') if isinstance(output, dict) else None
        found[tid].append((_index(rctx), created, value))
    wex = models.WorkflowExecution
    # A sub-workflow's output counts once it has finished, as upstream's
    # (its running output is no result yet).
    for tid, output, params, created in session.execute(
            sa.select(wex.task_execution_id, wex.output, wex.params,
                      wex.created_at)
            .where(wex.task_execution_id.in_(ids),
                   wex.state.in_(states.COMPLETED))):
        found[tid].append((_index(params), created, output))
    results = {}
    for task in tasks:
        entries = sorted(found[task['id']], key=lambda e: (e[0], e[1]))
        rctx = task.get('runtime_context') or {}
        if isinstance(rctx, dict) and 'with_items' in rctx:
            results[task['id']] = [e[2] for e in entries]
        else:
            # Retries leave several accepted results: the latest counts.
            # No result yet is an empty list, as upstream answers.
            results[task['id']] = (
                max(entries, key=lambda e: e[1])[2] if entries else [])
    return results


def enrich(rows: list[dict[str, Any]], fields: Sequence[str] | None
           ) -> None:
    if fields and 'result' in fields:
        with db_api.read_session() as session:
            results = task_results(session, rows)
        for row in rows:
            row['result'] = json_codec.dumps(results.get(row['id']))


def to_values(row: dict[str, Any], fields: Any = None) -> dict[str, Any]:
    # from_dict and wire_from_dict take the resource's attributes of a
    # row and format its timestamps themselves.
    if fields:
        return {k: v for k, v in row.items() if k in fields}
    return row


def to_resource(row: dict[str, Any], fields: Any = None
                ) -> resources.Task:
    return resources.Task.from_dict(to_values(row, fields))


LISTING = collection.Listing(
    model=models.TaskExecution,
    resource=resources.Task,
    collection=resources.Tasks,
    key='tasks',
    default_columns=COLUMNS,
    field_columns=FIELD_COLUMNS,
    to_values=to_values,
    enrich=enrich,
    enums={'state': states.ALL},
)


def load_task(ctx: MistralContext, id_: str, fields: list[str] | None = None
              ) -> resources.Task:
    fields = list(fields or [])
    if fields and 'id' not in fields:
        fields.insert(0, 'id')
    collection.listing_validate_fields(LISTING, fields)
    columns = collection.columns_for(LISTING, fields) if fields else COLUMNS
    with db_api.read_session() as session:
        row = lookup.get_row(session, models.TaskExecution, ctx, id_,
                             columns)
        if not fields or 'result' in fields:
            row['result'] = json_codec.dumps(task_results(session, [row])[id_])
    return to_resource(row, fields or None)


def _list(filters: dict[str, Any], extra: Sequence[listing.Filter] = (),
          **kwargs: Any) -> resources.Tasks:
    return collection.get_all(LISTING, filters=filters,
                              extra_filters=extra, **kwargs)


class TaskSubExecutionsController(rest.RestController):
    """/v2/tasks/<id>/workflow_executions: sub-workflows of a task."""

    # The filters of upstream's list (its state filter is typed with task
    # states there; sub-workflow executions have workflow states).
    @expose.wsme_query(resources.Executions)
    def get_all(self, task_execution_id: str, marker: str | None = None,
                limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None,
                workflow_name: str | None = None,
                workflow_id: str | None = None,
                description: str | None = None, tags: str | None = None,
                params: str | None = None, state: str | None = None,
                state_info: str | None = None, input: str | None = None,
                output: str | None = None, created_at: str | None = None,
                updated_at: str | None = None,
                include_output: bool = False) -> resources.Executions:
        from mistral.api.controllers.v2 import execution

        ctx = hooks.current_context()
        access.enforce('executions:list', ctx)
        lookup.check_uuid('task_execution_id', task_execution_id)
        with db_api.read_session() as session:
            lookup.get_row(session, models.TaskExecution, ctx,
                           task_execution_id, ('id',))
        return execution.list_executions(
            marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields,
            include_output=include_output,
            # Upstream's rows here leave out input and params (columns
            # it loads lazily and this list never loads).
            without=('input', 'params'),
            filters={'task_execution_id': task_execution_id,
                     'workflow_name': workflow_name,
                     'workflow_id': workflow_id,
                     'description': description, 'tags': tags,
                     'params': params, 'state': state,
                     'state_info': state_info, 'input': input,
                     'output': output, 'created_at': created_at,
                     'updated_at': updated_at})


class TasksController(rest.RestController):
    action_executions = aex_ctl.TaskActionExecutionsController()
    workflow_executions = TaskSubExecutionsController()

    @expose.wsme(resources.Task, wtypes.text, uniquelist)
    def get(self, id: str, fields: list[str] | None = None
            ) -> resources.Task:
        ctx = hooks.current_context()
        access.enforce('tasks:get', ctx)
        return load_task(ctx, id, fields)

    @expose.wsme_query(resources.Tasks)
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None, name: str | None = None,
                workflow_name: str | None = None,
                workflow_id: str | None = None,
                workflow_execution_id: str | None = None,
                tags: str | None = None, state: str | None = None,
                state_info: str | None = None, result: str | None = None,
                published: str | None = None,
                processed: str | None = None,
                created_at: str | None = None,
                updated_at: str | None = None, reset: str | None = None,
                env: str | None = None) -> resources.Tasks:
        access.enforce('tasks:list', hooks.current_context())
        return _list(
            {'name': name, 'workflow_name': workflow_name,
             'workflow_id': workflow_id,
             'workflow_execution_id': workflow_execution_id, 'tags': tags,
             'state': state, 'state_info': state_info,
             'published': published, 'processed': processed,
             'created_at': created_at, 'updated_at': updated_at},
            marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields)

    @expose.wsme(resources.Task, wtypes.text, body=resources.Task)
    def put(self, id: str, task: resources.Task) -> resources.Task:
        ctx = hooks.current_context()
        access.enforce('tasks:update', ctx)
        with db_api.read_session() as session:
            row = lookup.get_row(session, models.TaskExecution, ctx, id,
                                 ('id', 'name', 'workflow_name', 'state',
                                  'runtime_context', 'project_id'))
        lookup.check_owner(row, ctx, 'task')
        values = task.to_dict()
        for key in ('name', 'workflow_name'):
            if values.get(key) and values[key] != row[key]:
                raise exc.WorkflowException(
                    'Task %s mismatch [task_ex_id=%s, expected=%s, '
                    'given=%s]' % (key.replace('_', ' '), id, row[key],
                                   values[key]))
        state = values.get('state')
        env = values.get('env')
        rerun.check_env(env)
        if state == 'RUNNING':
            reset = values.get('reset')
            rerun.check_rerun(row['id'], row['state'], row['runtime_context'],
                              reset)
            # Upstream's rerun only schedules the task's start, so its
            # answer is the task as it was before the rerun (ERROR, its
            # old result). Ours starts it in the rerun's transaction, where
            # inline actions may even finish it: answer what upstream does.
            before = load_task(ctx, id)
            clients.engine().rerun_workflow(ctx, id, reset=reset,
                                            skip=False, env=env)
            return before
        elif state == 'SKIPPED':
            rerun.check_rerun(row['id'], row['state'], row['runtime_context'],
                              False, skip=True)
            clients.engine().rerun_workflow(ctx, id, reset=False,
                                            skip=True, env=env)
        else:
            raise exc.InputException(
                'Tasks can only be set to RUNNING (rerun) or SKIPPED '
                '[task_ex_id=%s, state=%s]' % (id, state))
        return load_task(ctx, id)


class ExecutionTasksController(rest.RestController):
    """/v2/executions/<id>/tasks."""

    @expose.wsme_query(resources.Tasks)
    def get_all(self, workflow_execution_id: str,
                marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None, name: str | None = None,
                workflow_name: str | None = None,
                workflow_id: str | None = None,
                tags: str | None = None, state: str | None = None,
                state_info: str | None = None, result: str | None = None,
                published: str | None = None,
                processed: str | None = None,
                created_at: str | None = None,
                updated_at: str | None = None, reset: str | None = None,
                env: str | None = None) -> resources.Tasks:
        ctx = hooks.current_context()
        access.enforce('tasks:list', ctx)
        lookup.check_uuid('workflow_execution_id', workflow_execution_id)
        with db_api.read_session() as session:
            lookup.get_row(session, models.WorkflowExecution, ctx,
                           workflow_execution_id, ('id',))
        return _list(
            {'name': name, 'workflow_name': workflow_name,
             'workflow_id': workflow_id, 'tags': tags, 'state': state,
             'state_info': state_info, 'published': published,
             'processed': processed, 'created_at': created_at,
             'updated_at': updated_at},
            [listing.Filter('workflow_execution_id', 'eq',
                            workflow_execution_id)],
            marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields)
