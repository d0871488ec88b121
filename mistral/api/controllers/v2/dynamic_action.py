"""/v2/dynamic_actions: actions implemented by a class of a code source."""

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
from mistral.api.controllers.v2 import code_source
from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.utils import timeutils

COLUMNS = resources.DynamicAction._fields
WRITABLE = ('id', 'name', 'namespace', 'class_name', 'code_source_id',
            'code_source_name', 'scope')

LISTING = collection.Listing(
    model=models.DynamicActionDefinition,
    resource=resources.DynamicAction,
    collection=resources.DynamicActions,
    key='dynamic_actions',
    default_columns=COLUMNS,
)


def _values(body: resources.DynamicAction) -> dict[str, Any]:
    values = body.to_dict()
    extra = sorted(k for k, v in values.items()
                   if k not in WRITABLE and v is not None)
    if extra:
        raise exc.InputException(
            'Only %s can be given for a dynamic action; not: %s'
            % (', '.join(WRITABLE), ', '.join(extra)))
    return values


def _resource(row: models.DynamicActionDefinition, created: bool = False
              ) -> resources.DynamicAction:
    values = {c: getattr(row, c) for c in COLUMNS}
    if created:
        # A new one is shown without updated_at, as upstream does.
        values.pop('updated_at')
    return resources.DynamicAction.from_dict(values)


def find(session: orm.Session, ctx: MistralContext, identifier: str,
         namespace: str = ''
         ) -> models.DynamicActionDefinition:
    model = models.DynamicActionDefinition
    row = lookup.by_id_or_name(session, model, ctx, identifier, namespace)
    if row is None:
        raise exc.DBEntityNotFoundError(
            'Dynamic action not found [identifier=%s, namespace=%s]'
            % (identifier, namespace or ''))
    return row


def _code_source(session: orm.Session, ctx: MistralContext,
                 values: dict[str, Any],
                 namespace: str) -> models.CodeSource:
    ident = values.get('code_source_id') or values.get('code_source_name')
    if not ident:
        raise exc.InputException(
            'Either code_source_id or code_source_name is required.')
    return code_source.find(session, ctx, ident, namespace)


def _check_class(source: models.CodeSource, class_name: str) -> None:
    """The class must be defined by the module (checked on the syntax
    tree: storing a definition never runs the code)."""
    if not class_name:
        raise exc.InputException('The class_name is required.')
    names = code_source.module_names(source.content)
    if names is not None and class_name not in names:
        raise exc.InputException(
            'Class %s is not defined in code source %s'
            % (class_name, source.name))


class DynamicActionsController(rest.RestController):
    @expose.wsme(resources.DynamicAction, wtypes.text, wtypes.text,
                 uniquelist)
    def get(self, identifier: str, namespace: str = '',
            fields: list[str] | None = None) -> resources.DynamicAction:
        ctx = hooks.current_context()
        access.enforce('dynamic_actions:get', ctx)
        fields = list(fields or [])
        if fields and 'id' not in fields:
            fields.insert(0, 'id')
        collection.listing_validate_fields(LISTING, fields)
        with db_api.read_session() as session:
            row = find(session, ctx, identifier, namespace)
            values = {c: getattr(row, c) for c in COLUMNS
                      if not fields or c in fields}
        return resources.DynamicAction.from_dict(values)

    @expose.wsme(resources.DynamicAction, body=resources.DynamicAction,
                 status_code=201)
    def post(self, action: resources.DynamicAction
             ) -> resources.DynamicAction:
        ctx = hooks.current_context()
        access.enforce('dynamic_actions:create', ctx)
        values = _values(action)
        name = values.get('name')
        if not name:
            raise exc.InputException('The dynamic action name is required.')
        namespace = values.get('namespace') or ''
        scope = lookup.check_scope(values.get('scope'), ctx,
                                   'dynamic_actions')
        model = models.DynamicActionDefinition
        with db_api.transaction() as session:
            source = _code_source(session, ctx, values, namespace)
            _check_class(source, values.get('class_name') or '')
            exists = session.execute(sa.select(model.id).where(
                model.name == name, model.namespace == namespace,
                model.project_id == ctx.project_id)).first()
            if exists:
                raise exc.DBDuplicateEntryError(
                    "Duplicate entry for DynamicActionDefinition ['name', "
                    "'namespace', 'project_id']: %s, %s, %s"
                    % (name, namespace, ctx.project_id))
            row = model(id=models.new_id(), name=name, namespace=namespace,
                        class_name=values['class_name'],
                        code_source_id=source.id,
                        code_source_name=source.name, scope=scope,
                        project_id=ctx.project_id,
                        created_at=timeutils.utcnow())
            session.add(row)
            session.flush()
            return _resource(row, created=True)

    @expose.wsme(resources.DynamicAction, body=resources.DynamicAction)
    def put(self, action: resources.DynamicAction
            ) -> resources.DynamicAction:
        ctx = hooks.current_context()
        access.enforce('dynamic_actions:update', ctx)
        values = _values(action)
        ident = values.get('id') or values.get('name')
        if not ident:
            raise exc.InputException(
                'The id or name of the dynamic action is required.')
        namespace = values.get('namespace') or ''
        with db_api.transaction() as session:
            row = find(session, ctx, ident, namespace)
            lookup.check_owner(row, ctx, 'dynamic action')
            new: dict[str, Any] = {}
            if values.get('scope'):
                new['scope'] = lookup.check_scope(values['scope'], ctx,
                                                  'dynamic_actions')
            source = session.get(models.CodeSource, row.code_source_id)
            if values.get('code_source_id') or \
                    values.get('code_source_name'):
                source = _code_source(session, ctx, values, namespace)
            class_name = values.get('class_name') or row.class_name
            # A code source in use cannot be deleted (see the delete
            # guards), nor does _code_source answer None.
            assert source is not None
            _check_class(source, class_name)
            new.update(class_name=class_name, code_source_id=source.id,
                       code_source_name=source.name)
            changes.apply(row, new)
            session.flush()
            return _resource(row)

    @expose.wsme(None, wtypes.text, wtypes.text, status_code=204)
    def delete(self, identifier: str, namespace: str = '') -> None:
        ctx = hooks.current_context()
        access.enforce('dynamic_actions:delete', ctx)
        with db_api.transaction() as session:
            row = find(session, ctx, identifier, namespace)
            lookup.check_owner(row, ctx, 'dynamic action')
            session.delete(row)

    @expose.wsme_query(resources.DynamicActions)
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None, name: str | None = None,
                namespace: str | None = None,
                class_name: str | None = None,
                code_source_id: str | None = None,
                code_source_name: str | None = None,
                scope: str | None = None, project_id: str | None = None,
                created_at: str | None = None,
                updated_at: str | None = None,
                all_projects: bool = False) -> resources.DynamicActions:
        access.enforce('dynamic_actions:list', hooks.current_context())
        return collection.get_all(
            LISTING, marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields, all_projects=all_projects,
            filters={'name': name, 'namespace': namespace,
                     'class_name': class_name,
                     'code_source_id': code_source_id,
                     'code_source_name': code_source_name, 'scope': scope,
                     'project_id': project_id, 'created_at': created_at,
                     'updated_at': updated_at})
