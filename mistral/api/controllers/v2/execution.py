"""/v2/executions: workflow executions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pecan import rest
from sqlalchemy import orm
from wsme import types as wtypes

from mistral import exceptions as exc
from mistral.api import access
from mistral.api import expose
from mistral.api import hooks
from mistral.api.controllers.v2 import changes
from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2 import task as task_ctl
from mistral.api.controllers.v2 import types
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import listing
from mistral.db import models
from mistral.rpc import clients
from mistral.workflow import rerun

# Columns of a list entry (no output, no published_global by default).
LIST_COLUMNS = ('id', 'workflow_id', 'workflow_name', 'workflow_namespace',
                'description', 'tags', 'params', 'task_execution_id',
                'root_execution_id', 'state', 'state_info', 'input',
                'created_at', 'updated_at', 'project_id')
GET_COLUMNS = LIST_COLUMNS + ('output', 'runtime_context')

FIELD_COLUMNS = {
    'source_execution_id': (),
    'published_global': ('runtime_context',),
}

TERMINAL_STATES = ('SUCCESS', 'ERROR', 'CANCELLED')
STATES = ('IDLE', 'RUNNING', 'SUCCESS', 'ERROR', 'PAUSED', 'CANCELLED')


def published_global(row: dict[str, Any]) -> dict[str, Any]:
    """Variables published globally (the engine keeps them apart from
    the rest of the workflow context in the runtime context)."""
    runtime = row.get('runtime_context') or {}
    return dict(runtime.get('published_global') or {})


def to_values(row: dict[str, Any], fields: Any = None) -> dict[str, Any]:
    # from_dict and wire_from_dict take the resource's attributes of a
    # row and format its timestamps themselves.
    values = row
    if 'runtime_context' in row and (not fields
                                     or 'published_global' in fields):
        values = dict(row, published_global=published_global(row))
    if fields:
        wanted = frozenset(fields)
        values = {k: v for k, v in values.items() if k in wanted}
    return values


def to_resource(row: dict[str, Any], fields: Any = None
                ) -> resources.Execution:
    return resources.Execution.from_dict(to_values(row, fields))


LISTING = collection.Listing(
    model=models.WorkflowExecution,
    resource=resources.Execution,
    collection=resources.Executions,
    key='executions',
    default_columns=LIST_COLUMNS,
    field_columns=FIELD_COLUMNS,
    to_values=to_values,
    enums={'state': STATES},
)


def from_engine(values: dict[str, Any]) -> resources.Execution:
    """The resource of an execution dict returned by the engine."""
    keep = [f for f in resources.Execution._fields
            if f not in ('published_global', 'source_execution_id')]
    return resources.Execution.from_dict(resources.wire_dict(values, keep))


def load(ctx: MistralContext, id_: str, columns: tuple[str, ...] = GET_COLUMNS
         ) -> dict[str, Any]:
    with db_api.read_session() as session:
        return lookup.get_row(session, models.WorkflowExecution, ctx, id_,
                              columns)


def _dict_or_error(value: Any, name: str) -> dict[str, Any]:
    if value is None or isinstance(value, wtypes.UnsetType):
        return {}
    if not isinstance(value, dict):
        raise exc.InputException(
            'Field "%s" must be a JSON object, got: %s' % (name, value))
    return value


def descendant_ids(session: orm.Session, wf_ex_id: str) -> list[str]:
    """Ids of the execution and of all its sub-workflow executions."""
    ids = [wf_ex_id]
    frontier = [wf_ex_id]
    while frontier:
        task_ids = sa.select(models.TaskExecution.id).where(
            models.TaskExecution.workflow_execution_id.in_(frontier))
        frontier = list(session.execute(
            sa.select(models.WorkflowExecution.id).where(
                models.WorkflowExecution.task_execution_id.in_(task_ids))
        ).scalars())
        ids += frontier
    return ids


class ExecutionsController(rest.RestController):
    tasks = task_ctl.ExecutionTasksController()

    @expose.wsme(resources.Execution, wtypes.text, uniquelist)
    def get(self, id: str, fields: list[str] | None = None
            ) -> resources.Execution:
        ctx = hooks.current_context()
        access.enforce('executions:get', ctx)
        fields = list(fields or [])
        if fields and 'id' not in fields:
            fields.insert(0, 'id')
        collection.listing_validate_fields(LISTING, fields)
        columns = (tuple(collection.columns_for(LISTING, fields))
                   if fields else GET_COLUMNS)
        return to_resource(load(ctx, id, columns), fields or None)

    @expose.wsme(resources.Execution, body=resources.Execution,
                        status_code=201)
    def post(self, wf_ex: resources.Execution) -> resources.Execution:
        ctx = hooks.current_context()
        access.enforce('executions:create', ctx)
        values = wf_ex.to_dict()
        ex_id = values.get('id')
        if ex_id:
            with db_api.read_session() as session:
                existing = session.execute(
                    sa.select(models.WorkflowExecution.id).where(
                        models.WorkflowExecution.id == ex_id)).first()
            if existing:
                return to_resource(load(ctx, ex_id, GET_COLUMNS[:-1]))
        source_id = values.pop('source_execution_id', None)
        if source_id:
            source = load(ctx, source_id, ('workflow_id', 'workflow_name',
                                           'workflow_namespace',
                                           'description', 'input',
                                           'params'))
            merged = {k: v for k, v in source.items() if v is not None}
            merged.update({k: v for k, v in values.items()
                           if v is not None})
            merged['description'] = (
                "%s Based on the execution '%s'"
                % (values.get('description') or '', source_id)).strip()
            values = merged
        wf_identifier = values.get('workflow_id') or values.get(
            'workflow_name')
        if not wf_identifier:
            raise exc.InputException(
                'Workflow ID or workflow name must be provided. Workflow '
                'ID is recommended.')
        wf_input = _dict_or_error(values.get('input'), 'input')
        params = dict(_dict_or_error(values.get('params'), 'params'))
        # Only workflow_namespace picks where the workflow is looked up
        # (as upstream); a namespace in params is kept as the namespace
        # its sub-workflows are looked up in.
        namespace = values.get('workflow_namespace') or ''
        for reserved in ('wf_identifier', 'wf_namespace', 'wf_ex_id',
                         'wf_input', 'description', 'ctx'):
            params.pop(reserved, None)
        result = clients.engine().start_workflow(
            ctx, wf_identifier, wf_namespace=namespace, wf_ex_id=ex_id,
            wf_input=wf_input, description=values.get('description') or '',
            **params)
        return from_engine(result)

    @expose.wsme(resources.Execution, wtypes.text,
                        body=resources.Execution)
    def put(self, id: str, wf_ex: resources.Execution
            ) -> resources.Execution:
        ctx = hooks.current_context()
        access.enforce('executions:update', ctx)
        current = load(ctx, id, ('id', 'state', 'project_id'))
        lookup.check_owner(current, ctx, 'execution')
        values = wf_ex.to_dict()
        state = values.get('state')
        # As upstream: an empty description or env is not given.
        description = values.get('description') or None
        params = values.get('params')
        env = (params.get('env') or None) if isinstance(params, dict) \
            else None
        if not (state or description or env):
            raise exc.InputException(
                'The property state, description, or env is not provided '
                'for update.')
        if description and state:
            raise exc.InputException(
                'The description can only be updated on its own, without '
                'a state.')
        if env and state and state != 'RUNNING':
            raise exc.InputException(
                'The env can only be given with the state RUNNING (a '
                'resume), or without a state.')
        if not state:
            return self._update_fields(ctx, id, description, env)
        engine = clients.engine()
        if state == 'RUNNING':
            result = engine.resume_workflow(ctx, id, env=env)
        elif state == 'PAUSED':
            result = engine.pause_workflow(ctx, id)
        elif state in TERMINAL_STATES:
            result = engine.stop_workflow(ctx, id, state,
                                          message=values.get('state_info'))
        else:
            raise exc.InputException(
                'Unsupported target state of a workflow execution: %s '
                '(expected one of %s)' % (state, ', '.join(
                    ('RUNNING', 'PAUSED') + TERMINAL_STATES)))
        return from_engine(result)

    @staticmethod
    def _update_fields(ctx: MistralContext, id_: str, description: str | None,
                       env: Any) -> resources.Execution:
        """Update the description and/or merge ``env`` into the env of a
        stopped execution. The answer has the columns upstream's has
        loaded: no input or output, and params only when env changed."""
        rerun.check_env(env)
        with db_api.transaction() as session:
            # The env is merged under the execution's lock (put()
            # checked that the caller may change it).
            row = db_api.lock_for_update(session, models.WorkflowExecution,
                                         id_)
            if row is None:
                raise exc.DBEntityNotFoundError(
                    'WorkflowExecution not found [id=%s]' % id_)
            new: dict[str, Any] = {}
            if description:
                new['description'] = description
            if env:
                rerun.check_env_update(row.state)
                new['params'] = rerun.params_with_env(row.params, env)
            changes.apply(row, new)
        columns = tuple(c for c in LIST_COLUMNS
                        if c not in ('input', 'params'))
        if env:
            columns += ('params',)
        return to_resource(load(ctx, id_, columns))

    @expose.wsme(None, wtypes.text, types.boolean, status_code=204)
    def delete(self, id: str, force: bool = False) -> None:
        ctx = hooks.current_context()
        access.enforce('executions:delete', ctx)
        with db_api.transaction() as session:
            row = lookup.get_row(session, models.WorkflowExecution, ctx, id,
                                 ('id', 'state', 'project_id'))
            lookup.check_owner(row, ctx, 'execution')
            if not force and row['state'] not in TERMINAL_STATES:
                raise exc.NotAllowedException(
                    'Only completed executions can be deleted. Use --force '
                    'to override this check [id=%s, state=%s]'
                    % (id, row['state']))
            ids = descendant_ids(session, id)
            session.execute(sa.delete(models.WorkflowExecution).where(
                models.WorkflowExecution.id.in_(ids)))

    @expose.wsme_query(resources.Executions)
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None,
                workflow_name: str | None = None,
                workflow_id: str | None = None,
                description: str | None = None, tags: str | None = None,
                params: str | None = None,
                task_execution_id: str | None = None,
                root_execution_id: str | None = None,
                state: str | None = None, state_info: str | None = None,
                input: str | None = None, output: str | None = None,
                created_at: str | None = None,
                updated_at: str | None = None,
                include_output: bool = False,
                project_id: str | None = None,
                all_projects: bool = False,
                nulls: list[str] | None = None) -> resources.Executions:
        if project_id is not None:
            collection.check_enum_filters(
                [listing.parse_filter('project_id', project_id)], {})
            # Another project's executions are an admin's business.
            collection.check_all_projects(True, 'executions')
        access.enforce('executions:list', hooks.current_context())
        return list_executions(
            marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields,
            include_output=include_output, all_projects=all_projects,
            nulls=nulls,
            filters={'workflow_name': workflow_name,
                     'workflow_id': workflow_id,
                     'description': description, 'tags': tags,
                     'params': params,
                     'task_execution_id': task_execution_id,
                     'root_execution_id': root_execution_id,
                     'state': state, 'state_info': state_info,
                     'input': input, 'output': output,
                     'created_at': created_at, 'updated_at': updated_at,
                     'project_id': project_id})


def list_executions(*, filters: dict[str, Any], include_output: bool,
                    nulls: list[str] | None = None, extra_filters: Any = (),
                    without: tuple[str, ...] = (),
                    **kwargs: Any) -> resources.Executions:
    """A page of executions. ``without``: columns left out of rows when
    no ``fields`` are asked for."""
    nulls = list(nulls or [])
    for column in nulls:
        if column not in LIST_COLUMNS + ('output',):
            raise exc.InputException(
                'Unknown column in "nulls": %s' % column)
    default = tuple(c for c in LIST_COLUMNS if c not in without) + (
        ('output',) if include_output else ())
    return collection.get_all(LISTING, filters=filters, nulls=nulls,
                              extra_filters=extra_filters,
                              default_columns=default, **kwargs)
