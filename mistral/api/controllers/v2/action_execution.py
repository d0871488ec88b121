"""/v2/action_executions and /v2/tasks/<id>/action_executions."""

from __future__ import annotations

import json
from typing import Any

from oslo_config import cfg
from pecan import rest
from wsme import types as wtypes

from mistral import exceptions as exc
from mistral.api import access
from mistral.api import expose
from mistral.api import hooks
from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import listing
from mistral.db import models
from mistral.rpc import clients
from mistral.workflow import states

CONF = cfg.CONF

LIST_COLUMNS = ('id', 'workflow_name', 'workflow_namespace',
                'task_execution_id', 'state', 'state_info', 'tags', 'name',
                'description', 'project_id', 'accepted', 'input',
                'created_at', 'updated_at')
GET_COLUMNS = LIST_COLUMNS + ('output',)

FIELD_COLUMNS = {'task_name': (), 'params': ()}

# Fields an engine answer is shown with (task_name is never filled in,
# params are input only).
ENGINE_FIELDS = tuple(f for f in resources.ActionExecution._fields
                      if f not in ('task_name', 'params'))

TERMINAL_STATES = ('SUCCESS', 'ERROR', 'CANCELLED')


def to_values(row: dict[str, Any], fields: Any = None) -> dict[str, Any]:
    # from_dict and wire_from_dict take the resource's attributes of a
    # row and format its timestamps themselves.
    if fields:
        return {k: v for k, v in row.items() if k in fields}
    return row


def to_resource(row: dict[str, Any], fields: Any = None
                ) -> resources.ActionExecution:
    return resources.ActionExecution.from_dict(to_values(row, fields))


def from_engine(values: dict[str, Any]) -> resources.ActionExecution:
    full = {f: values.get(f) for f in ENGINE_FIELDS}
    return resources.ActionExecution.from_dict(
        resources.wire_dict(full, ENGINE_FIELDS))


LISTING = collection.Listing(
    model=models.ActionExecution,
    resource=resources.ActionExecution,
    collection=resources.ActionExecutions,
    key='action_executions',
    default_columns=LIST_COLUMNS,
    field_columns=FIELD_COLUMNS,
    to_values=to_values,
    enums={'state': states.ALL},
)


def load(ctx: MistralContext, id_: str, fields: list[str] | None = None,
         task_execution_id: str | None = None
         ) -> resources.ActionExecution:
    fields = list(fields or [])
    if fields and 'id' not in fields:
        fields.insert(0, 'id')
    collection.listing_validate_fields(LISTING, fields)
    columns = list(collection.columns_for(LISTING, fields) if fields
                   else GET_COLUMNS)
    if 'task_execution_id' not in columns:
        columns.append('task_execution_id')
    with db_api.read_session() as session:
        row = lookup.get_row(session, models.ActionExecution, ctx, id_,
                             columns)
    if task_execution_id and row['task_execution_id'] != task_execution_id:
        raise exc.DBEntityNotFoundError(
            'ActionExecution not found [id=%s]' % id_)
    return to_resource(row, fields or None)


def _filters(**values: Any) -> dict[str, Any]:
    # task_name and params are not stored: upstream accepts and ignores
    # them as filters (params must still be JSON there).
    values.pop('task_name', None)
    params = values.pop('params', None)
    if params is not None:
        try:
            json.loads(params)
        except ValueError:
            raise exc.InputException(
                'Invalid value for params: %s (expected a JSON value)'
                % params) from None
    return values


class ActionExecutionsController(rest.RestController):
    @expose.wsme(resources.ActionExecution, wtypes.text, uniquelist)
    def get(self, id: str, fields: list[str] | None = None
            ) -> resources.ActionExecution:
        ctx = hooks.current_context()
        access.enforce('action_executions:get', ctx)
        return load(ctx, id, fields)

    @expose.wsme(resources.ActionExecution,
                        body=resources.ActionExecution, status_code=201)
    def post(self, action_ex: resources.ActionExecution
             ) -> resources.ActionExecution:
        ctx = hooks.current_context()
        access.enforce('action_executions:create', ctx)
        values = action_ex.to_dict()
        name = values.get('name')
        if not name:
            raise exc.InputException(
                'The action name is required to run an action.')
        action_input = values.get('input') or {}
        if not isinstance(action_input, dict):
            raise exc.InputException('The input must be a JSON object.')
        params = values.get('params') or {}
        if not isinstance(params, dict):
            raise exc.InputException('The params must be a JSON object.')
        params = {k: v for k, v in params.items()
                  if k not in ('action_name', 'action_input', 'description',
                               'namespace', 'ctx')}
        # "false" must not run synchronously / save the result.
        for flag in ('save_result', 'run_sync'):
            if flag in params:
                params[flag] = lookup.parse_bool(params[flag],
                                                 'params.' + flag)
        result = clients.engine().start_action(
            ctx, name, action_input,
            description=values.get('description') or '',
            namespace=values.get('workflow_namespace') or '', **params)
        return from_engine(result)

    @expose.wsme(resources.ActionExecution, wtypes.text,
                        body=resources.ActionExecution)
    def put(self, id: str, action_ex: resources.ActionExecution
            ) -> resources.ActionExecution:
        ctx = hooks.current_context()
        access.enforce('action_executions:update', ctx)
        with db_api.read_session() as session:
            row = lookup.get_row(session, models.ActionExecution, ctx, id,
                                 ('id', 'project_id'))
        lookup.check_owner(row, ctx, 'action execution')
        values = action_ex.to_dict()
        state = values.get('state')
        output = values.get('output')
        engine = clients.engine()
        if state == 'SUCCESS':
            result = engine.on_action_complete(ctx, id, {'data': output})
        elif state == 'ERROR':
            result = engine.on_action_complete(
                ctx, id, {'error': output or 'Unknown error'})
        elif state == 'CANCELLED':
            result = engine.on_action_complete(ctx, id, {'cancel': True})
        elif state in ('PAUSED', 'RUNNING'):
            result = engine.on_action_update(ctx, id, state)
        else:
            raise exc.InputException(
                'Unsupported action execution state: %s (expected one of '
                'SUCCESS, ERROR, CANCELLED, PAUSED, RUNNING)' % state)
        return from_engine(result)

    @expose.wsme(None, wtypes.text, status_code=204)
    def delete(self, id: str) -> None:
        ctx = hooks.current_context()
        access.enforce('action_executions:delete', ctx)
        if not CONF.api.allow_action_execution_deletion:
            raise exc.NotAllowedException(
                'Deleting action executions is disabled on this server.')
        with db_api.transaction() as session:
            row = lookup.get_row(session, models.ActionExecution, ctx, id)
            lookup.check_owner(row, ctx, 'action execution')
            if row.task_execution_id:
                raise exc.NotAllowedException(
                    'Only ad-hoc action executions can be deleted.')
            if row.state not in TERMINAL_STATES:
                raise exc.NotAllowedException(
                    'Only completed action executions can be deleted.')
            session.delete(row)

    @expose.wsme_query(resources.ActionExecutions)
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None,
                created_at: str | None = None, name: str | None = None,
                tags: str | None = None, updated_at: str | None = None,
                workflow_name: str | None = None,
                task_name: str | None = None,
                task_execution_id: str | None = None,
                state: str | None = None, state_info: str | None = None,
                accepted: str | None = None, input: str | None = None,
                output: str | None = None, params: str | None = None,
                description: str | None = None,
                include_output: bool = False
                ) -> resources.ActionExecutions:
        access.enforce('action_executions:list', hooks.current_context())
        return list_action_executions(
            _filters(created_at=created_at, name=name, tags=tags,
                     updated_at=updated_at, workflow_name=workflow_name,
                     task_name=task_name,
                     task_execution_id=task_execution_id, state=state,
                     state_info=state_info, accepted=accepted, input=input,
                     output=output, params=params,
                     description=description),
            include_output, marker=marker, limit=limit,
            sort_keys=sort_keys, sort_dirs=sort_dirs, fields=fields)


def list_action_executions(filters: dict[str, Any], include_output: bool,
                           extra: Any = (), **kwargs: Any
                           ) -> resources.ActionExecutions:
    default = GET_COLUMNS if include_output else LIST_COLUMNS
    return collection.get_all(LISTING, filters=filters,
                              extra_filters=extra, default_columns=default,
                              **kwargs)


class TaskActionExecutionsController(rest.RestController):
    """/v2/tasks/<task id>/action_executions[/<id>]."""

    @expose.wsme(resources.ActionExecution, wtypes.text, wtypes.text,
                        uniquelist)
    def get(self, task_execution_id: str, action_ex_id: str,
            fields: list[str] | None = None) -> resources.ActionExecution:
        ctx = hooks.current_context()
        access.enforce('action_executions:get', ctx)
        return load(ctx, action_ex_id, fields,
                    task_execution_id=task_execution_id)

    @expose.wsme_query(resources.ActionExecutions)
    def get_all(self, task_execution_id: str, marker: str | None = None,
                limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None,
                created_at: str | None = None, name: str | None = None,
                tags: str | None = None, updated_at: str | None = None,
                workflow_name: str | None = None,
                task_name: str | None = None,
                state: str | None = None, state_info: str | None = None,
                accepted: str | None = None, input: str | None = None,
                output: str | None = None, params: str | None = None,
                description: str | None = None,
                include_output: bool = False
                ) -> resources.ActionExecutions:
        ctx = hooks.current_context()
        access.enforce('action_executions:list', ctx)
        lookup.check_uuid('task_execution_id', task_execution_id)
        with db_api.read_session() as session:
            lookup.get_row(session, models.TaskExecution, ctx,
                           task_execution_id, ('id',))
        return list_action_executions(
            _filters(created_at=created_at, name=name, tags=tags,
                     updated_at=updated_at, workflow_name=workflow_name,
                     state=state, state_info=state_info, accepted=accepted,
                     input=input, output=output,
                     description=description),
            include_output,
            [listing.Filter('task_execution_id', 'eq', task_execution_id)],
            marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields)
