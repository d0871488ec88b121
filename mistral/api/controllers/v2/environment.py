"""/v2/environments: named variable sets for executions."""

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
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.utils import timeutils

COLUMNS = ('id', 'name', 'description', 'variables', 'scope', 'project_id',
           'created_at', 'updated_at')
WRITABLE = ('name', 'description', 'variables', 'scope')

LISTING = collection.Listing(
    model=models.Environment,
    resource=resources.Environment,
    collection=resources.Environments,
    key='environments',
    default_columns=COLUMNS,
)


def _values(env: resources.Environment) -> dict[str, Any]:
    values = env.to_dict()
    extra = sorted(set(values) - set(WRITABLE))
    if extra:
        raise exc.InputException(
            'Only %s can be given for an environment; not: %s'
            % (', '.join(WRITABLE), ', '.join(extra)))
    variables = values.get('variables')
    if variables is not None and not isinstance(variables, dict):
        raise exc.InputException('The variables must be a JSON object.')
    return values


def find(session: orm.Session, ctx: MistralContext,
         name: str) -> models.Environment:
    row = lookup.get_by_name(session, models.Environment, ctx, name)
    if row is None:
        raise exc.DBEntityNotFoundError(
            'Environment not found [name=%s]' % name)
    return row


def _resource(row: models.Environment,
              given: Any = None) -> resources.Environment:
    """The answer of a create (``given``: the keys of its body) or an
    update (every field)."""
    values = {c: getattr(row, c) for c in COLUMNS}
    if given is not None:
        # As upstream: a new environment is shown without updated_at,
        # and without the optional fields its body did not give.
        values.pop('updated_at')
        for key in ('description', 'variables'):
            if key not in given:
                values.pop(key)
    return resources.Environment.from_dict(values)


class EnvironmentController(rest.RestController):
    @expose.wsme(resources.Environment, wtypes.text, uniquelist)
    def get(self, name: str, fields: list[str] | None = None
            ) -> resources.Environment:
        ctx = hooks.current_context()
        access.enforce('environments:get', ctx)
        fields = list(fields or [])
        if fields and 'id' not in fields:
            fields.insert(0, 'id')
        collection.listing_validate_fields(LISTING, fields)
        with db_api.read_session() as session:
            row = find(session, ctx, name)
            values = {c: getattr(row, c) for c in COLUMNS
                      if not fields or c in fields}
        return resources.Environment.from_dict(values)

    @expose.wsme(resources.Environment,
                        body=resources.Environment, status_code=201)
    def post(self, env: resources.Environment) -> resources.Environment:
        ctx = hooks.current_context()
        access.enforce('environments:create', ctx)
        values = _values(env)
        if not values.get('name'):
            raise exc.InputException('The environment name is required.')
        scope = lookup.check_scope(values.get('scope'), ctx,
                                   'environments')
        with db_api.transaction() as session:
            exists = session.execute(sa.select(models.Environment.id).where(
                models.Environment.name == values['name'],
                models.Environment.project_id == ctx.project_id)).first()
            if exists:
                raise exc.DBDuplicateEntryError(
                    "Duplicate entry for Environment ['name', "
                    "'project_id']: %s, %s" % (values['name'],
                                               ctx.project_id))
            row = models.Environment(
                id=models.new_id(), name=values['name'],
                description=values.get('description'),
                variables=values.get('variables'), scope=scope,
                project_id=ctx.project_id, created_at=timeutils.utcnow())
            session.add(row)
            session.flush()
            return _resource(row, given=values)

    @expose.wsme(resources.Environment, body=resources.Environment)
    def put(self, env: resources.Environment) -> resources.Environment:
        ctx = hooks.current_context()
        access.enforce('environments:update', ctx)
        values = _values(env)
        if not values.get('name'):
            raise exc.InputException(
                'The name of the environment to update is required.')
        with db_api.transaction() as session:
            row = find(session, ctx, values['name'])
            lookup.check_owner(row, ctx, 'environment')
            new: dict[str, Any] = {k: values[k]
                                   for k in ('description', 'variables')
                   if k in values}
            if 'scope' in values:
                new['scope'] = lookup.check_scope(values['scope'], ctx,
                                                  'environments')
            changes.apply(row, new)
            session.flush()
            return _resource(row)

    @expose.wsme(None, wtypes.text, status_code=204)
    def delete(self, name: str) -> None:
        ctx = hooks.current_context()
        access.enforce('environments:delete', ctx)
        with db_api.transaction() as session:
            row = find(session, ctx, name)
            lookup.check_owner(row, ctx, 'environment')
            session.delete(row)

    @expose.wsme_query(resources.Environments)
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None, name: str | None = None,
                description: str | None = None,
                variables: str | None = None, scope: str | None = None,
                created_at: str | None = None,
                updated_at: str | None = None) -> resources.Environments:
        access.enforce('environments:list', hooks.current_context())
        return collection.get_all(
            LISTING, marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields,
            filters={'name': name, 'description': description,
                     'variables': variables, 'scope': scope,
                     'created_at': created_at, 'updated_at': updated_at})
