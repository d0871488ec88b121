"""/v2/actions: system actions (from providers) and ad-hoc definitions."""

from __future__ import annotations

import functools
from typing import Any, Sequence

import pecan
from pecan import rest
import sqlalchemy as sa
from wsme import types as wtypes

from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2 import spec_parser
from mistral.api.controllers.v2.types import uniquelist
from mistral.api.controllers.v2 import validation
from mistral.api import access
from mistral.api import errors
from mistral.api import expose
from mistral.api import hooks
from mistral.db import api as db_api
from mistral.db import listing
from mistral.db import models
from mistral import exceptions as exc
from mistral.utils import timeutils

COLUMNS = ('id', 'name', 'is_system', 'input', 'description', 'tags',
           'definition', 'scope', 'project_id', 'created_at', 'updated_at',
           'namespace')


def row_wire(row: Any) -> dict[str, Any]:
    return resources.wire_dict({c: getattr(row, c) for c in COLUMNS},
                               COLUMNS)


def text_dict(row: Any) -> dict[str, Any]:
    out = row_wire(row)
    return {k: v for k, v in out.items()
            if not (k == 'updated_at' and v is None)}


def system_wire(desc: Any) -> dict[str, Any]:
    """How upstream shows an action that has no ad-hoc DB row."""
    out = {'id': desc.name, 'name': desc.name, 'is_system': False,
           'input': desc.params_spec or '',
           'description': desc.description or '', 'tags': None,
           'definition': '', 'scope': None, 'project_id': None,
           'created_at': '', 'updated_at': '', 'namespace': ''}
    if _is_dynamic(desc):
        # Dynamic actions have a row of their own: show who owns it.
        out.update(resources.wire_dict({
            'id': desc.id, 'scope': desc.scope,
            'project_id': desc.project_id, 'created_at': desc.created_at,
            'namespace': desc.namespace or ''},
            ('id', 'scope', 'project_id', 'created_at', 'namespace')))
        if desc.updated_at is not None:
            out['updated_at'] = resources.wire_dict(
                {'u': desc.updated_at}, ('u',))['u']
    return out


def _registry() -> Any:
    from mistral.actions import registry

    return registry


def _is_adhoc(desc: Any) -> bool:
    from mistral.actions import adhoc

    return isinstance(desc, adhoc.AdHocActionDescriptor)


def _is_dynamic(desc: Any) -> bool:
    from mistral.actions import dynamic

    return isinstance(desc, dynamic.DynamicActionDescriptor)


def system_actions(namespace: str = '', project_id: str | None = None
                   ) -> list[dict[str, Any]]:
    return [system_wire(d)
            for d in _registry().list_all(namespace, project_id=project_id)
            if not _is_adhoc(d)]


def adhoc_rows(session: Any, ctx: Any, namespace: str | None
               ) -> list[Any]:
    stmt = sa.select(models.ActionDefinition)
    if namespace is not None:
        stmt = stmt.where(models.ActionDefinition.namespace == namespace)
    if not ctx.is_admin:
        stmt = stmt.where(listing.scope_condition(models.ActionDefinition,
                                                  ctx.project_id))
    return list(session.execute(stmt).scalars())


def _matches(value: Any, flt: listing.Filter) -> bool:
    op, want = flt.op, flt.value
    if flt.column == 'tags':
        tags = want if isinstance(want, list) else str(want).split(',')
        return all(t in (value or []) for t in tags if t)
    if op in ('in', 'nin'):
        found = str(value) in want
        return found if op == 'in' else not found
    if op == 'has':
        return str(want) in str(value or '')
    if isinstance(value, bool):
        want = str(want).lower() in ('true', '1', 'yes')
    elif value is not None:
        want = str(want)
        value = str(value)
    if op == 'eq':
        return value == want
    if op == 'neq':
        return value != want
    if value is None:
        return False
    return {'gt': value > want, 'gte': value >= want,
            'lt': value < want, 'lte': value <= want}[op]


def _compare(a: Any, b: Any) -> int:
    a = '' if a is None else a
    b = '' if b is None else b
    return (a > b) - (a < b)


def find_row(session: Any, ctx: Any, identifier: str, namespace: str
             ) -> models.ActionDefinition | None:
    stmt = sa.select(models.ActionDefinition)
    if lookup.is_uuid(identifier):
        stmt = stmt.where(models.ActionDefinition.id == identifier)
    else:
        stmt = stmt.where(models.ActionDefinition.name == identifier,
                          models.ActionDefinition.namespace == namespace)
    if not ctx.is_admin:
        stmt = stmt.where(listing.scope_condition(models.ActionDefinition,
                                                  ctx.project_id))
    rows = list(session.execute(stmt).scalars())
    own = [r for r in rows if r.project_id == ctx.project_id]
    return (own or rows or [None])[0]


def find_system(identifier: str, namespace: str,
                project_id: str | None = None) -> dict[str, Any]:
    """The wire dict of a system action, else 404.

    Call it outside of any open session: providers read the database
    through their own.
    """
    desc = _registry().find(identifier, namespace, project_id=project_id)
    if desc is not None and not _is_adhoc(desc):
        return system_wire(desc)
    raise exc.DBEntityNotFoundError(
        'Action not found [name=%s, namespace=%s]' % (identifier, namespace))


def _create(session: Any, ctx: Any, spec: Any, name: str, namespace: str,
            scope: str, workbook_name: str | None = None
            ) -> models.ActionDefinition:
    exists = session.execute(sa.select(models.ActionDefinition.id).where(
        models.ActionDefinition.name == name,
        models.ActionDefinition.namespace == namespace,
        models.ActionDefinition.project_id == ctx.project_id)).first()
    if exists:
        raise exc.DBDuplicateEntryError(
            "Duplicate entry for Action ['name', 'namespace', "
            "'project_id']: %s, %s, %s" % (name, namespace, ctx.project_id))
    row = models.ActionDefinition(
        id=models.new_id(), name=name, namespace=namespace,
        definition=spec.definition, spec=spec.to_dict(),
        tags=list(spec.tags or []), scope=scope, project_id=ctx.project_id,
        description=spec.description, input=spec.input_string,
        is_system=False, workbook_name=workbook_name,
        created_at=timeutils.utcnow())
    session.add(row)
    return row


def _update(row: models.ActionDefinition, spec: Any, scope: str) -> None:
    if row.is_system:
        raise exc.InvalidModelException(
            'Can not modify a system action [name=%s]' % row.name)
    row.definition = spec.definition
    row.spec = spec.to_dict()
    row.tags = list(spec.tags or [])
    row.scope = scope
    row.description = spec.description
    row.input = spec.input_string
    row.updated_at = timeutils.utcnow()


def upsert(session: Any, ctx: Any, specs: Sequence[tuple[str, Any]],
           namespace: str, scope: str, workbook_name: str | None = None,
           create_only: bool = False) -> list[models.ActionDefinition]:
    rows = []
    for name, spec in specs:
        row = None
        if not create_only:
            row = session.execute(sa.select(models.ActionDefinition).where(
                models.ActionDefinition.name == name,
                models.ActionDefinition.namespace == namespace,
                models.ActionDefinition.project_id == ctx.project_id)
            ).scalar()
        if row is None:
            row = _create(session, ctx, spec, name, namespace, scope,
                          workbook_name)
        else:
            _update(row, spec, scope)
        rows.append(row)
    session.flush()
    return rows


def _check_not_system(name: str) -> None:
    desc = _registry().find(name)
    if desc is not None and not _is_adhoc(desc):
        raise exc.InvalidActionException(
            'Attempt to modify a system action: %s' % name)


class ActionsController(rest.RestController):
    validate = validation.ValidationController(
        lambda text: spec_parser.parser().parse_actions(text))

    @expose.wsme(resources.Action, wtypes.text, wtypes.text,
                        uniquelist)
    def get(self, identifier: str, namespace: str = '',
            fields: list[str] | None = None) -> resources.Action:
        ctx = hooks.current_context()
        access.enforce('actions:get', ctx)
        fields = list(fields or [])
        if fields and 'id' not in fields:
            fields.insert(0, 'id')
        listing.validate_fields(fields, resources.Action._fields)
        with db_api.read_session() as session:
            row = find_row(session, ctx, identifier, namespace or '')
            values = None if row is None else row_wire(row)
        if values is None:
            values = find_system(identifier, namespace or '',
                                 ctx.project_id)
        if fields:
            values = {k: v for k, v in values.items() if k in fields}
        return resources.Action.from_dict(values)

    @pecan.expose()
    @errors.text_errors
    def post(self, namespace: str = '', scope: str = 'private',
             **_kw: Any) -> Any:
        ctx = hooks.current_context()
        access.enforce('actions:create', ctx)
        scope = lookup.check_scope(scope, ctx, 'actions')
        specs = spec_parser.parser().parse_actions(
            hooks.request_text())
        for spec in specs:
            _check_not_system(spec.name)
        with db_api.transaction() as session:
            rows = upsert(session, ctx, [(s.name, s) for s in specs],
                          namespace or '', scope, create_only=True)
            body = {'actions': [text_dict(r) for r in rows]}
        return errors.json_response(body, 201)

    @pecan.expose()
    @errors.text_errors
    def put(self, identifier: str | None = None, namespace: str = '',
            scope: str = 'private', **_kw: Any) -> Any:
        ctx = hooks.current_context()
        access.enforce('actions:update', ctx)
        scope = lookup.check_scope(scope, ctx, 'actions')
        specs = spec_parser.parser().parse_actions(
            hooks.request_text())
        if identifier and len(specs) > 1:
            raise exc.InputException(
                'More than one action is in the definition, but an id can '
                'only name one action [id=%s]' % identifier)
        with db_api.transaction() as session:
            if identifier:
                row = find_row(session, ctx, identifier, namespace or '')
                if row is None:
                    raise exc.DBEntityNotFoundError(
                        'Action not found [id=%s]' % identifier)
                lookup.check_owner(row, ctx, 'action')
                _update(row, specs[0], scope)
                rows = [row]
            else:
                rows = upsert(session, ctx, [(s.name, s) for s in specs],
                              namespace or '', scope)
            body = {'actions': [text_dict(r) for r in rows]}
        return errors.json_response(body, 200)

    @expose.wsme(None, wtypes.text, wtypes.text, status_code=204)
    def delete(self, identifier: str, namespace: str = '') -> None:
        ctx = hooks.current_context()
        access.enforce('actions:delete', ctx)
        with db_api.transaction() as session:
            row = find_row(session, ctx, identifier, namespace or '')
            if row is not None and not row.is_system:
                lookup.check_owner(row, ctx, 'action')
                session.delete(row)
                return
        if row is None:
            find_system(identifier, namespace or '',
                        ctx.project_id)  # 404 if unknown
        raise exc.DataAccessException(
            'Attempt to delete a system action: %s' % identifier)

    # The marker of actions is a name (system actions have no UUID).
    @expose.wsme_query(resources.Actions, overrides={'marker': wtypes.text})
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None,
                created_at: str | None = None, name: str | None = None,
                scope: str | None = None, tags: str | None = None,
                updated_at: str | None = None,
                description: str | None = None,
                definition: str | None = None,
                is_system: str | None = None, input: str | None = None,
                namespace: str = '') -> resources.Actions:
        ctx = hooks.current_context()
        access.enforce('actions:list', ctx)
        spec = collection.Listing(
            model=models.ActionDefinition, resource=resources.Action,
            collection=resources.Actions, key='actions',
            default_columns=COLUMNS, default_sort_key='name')
        limit, sort_keys, sort_dirs, fields = collection.prepare(
            spec, limit, sort_keys, sort_dirs, fields)
        for key in sort_keys:
            if key not in COLUMNS:
                raise exc.InputException('Unknown sort key: %s' % key)
        if 'id' not in sort_keys:
            sort_keys.append('id')
            sort_dirs.append('asc')
        filters = {k: v for k, v in dict(
            created_at=created_at, name=name, scope=scope, tags=tags,
            updated_at=updated_at, description=description,
            definition=definition, is_system=is_system, input=input,
            namespace='eq:%s' % (namespace or '')).items()
            if v is not None}
        flts = [listing.parse_filter(k, v) for k, v in filters.items()]
        collection.check_enum_filters(flts, {'scope': collection.SCOPES})
        for flt in flts:
            if flt.column == 'is_system':
                for value in (flt.value if isinstance(flt.value, list)
                              else [flt.value]):
                    lookup.parse_bool(value, 'is_system')
        with db_api.read_session() as session:
            items = [row_wire(r) for r in adhoc_rows(session, ctx,
                                                     namespace or '')]
        items += system_actions(namespace or '', ctx.project_id)
        items = [i for i in items
                 if all(_matches(i.get(f.column), f) for f in flts)]

        def order(a: dict[str, Any], b: dict[str, Any]) -> int:
            for key, direction in zip(sort_keys, sort_dirs):
                res = _compare(a.get(key), b.get(key))
                if res:
                    return res if direction == 'asc' else -res
            return 0

        items.sort(key=functools.cmp_to_key(order))
        if marker:
            names = [i['name'] for i in items]
            items = items[names.index(marker) + 1:] if marker in names \
                else []
        items = items[:limit]
        if fields:
            items = [{k: v for k, v in i.items() if k in fields}
                     for i in items]
        result = resources.Actions(
            actions=[resources.Action.from_dict(i) for i in items])
        link = collection.next_link('actions', result.actions, limit,
                                    sort_keys, sort_dirs, fields, filters,
                                    marker_attr='name')
        if link:
            result.next = link
        return result
