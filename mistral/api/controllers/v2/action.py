"""/v2/actions: system actions (from providers) and ad-hoc definitions."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any, Sequence

import sqlalchemy as sa
from pecan import rest
from sqlalchemy import orm
from wsme import types as wtypes

from mistral import exceptions as exc
from mistral.api import access
from mistral.api import errors
from mistral.api import expose
from mistral.api import hooks
from mistral.api.controllers.v2 import changes
from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2 import spec_parser
from mistral.api.controllers.v2 import validation
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import listing
from mistral.db import models
from mistral.utils import ids
from mistral.utils import timeutils

if TYPE_CHECKING:
    from mistral.actions.descriptor import ActionDescriptor

COLUMNS = ('id', 'name', 'is_system', 'input', 'description', 'tags',
           'definition', 'scope', 'project_id', 'created_at', 'updated_at',
           'namespace')


def row_wire(row: Any) -> dict[str, Any]:
    """An ad-hoc action as GET and lists show it: no input is ""."""
    out = resources.wire_dict({c: getattr(row, c) for c in COLUMNS},
                              COLUMNS)
    if out.get('input') is None:
        out['input'] = ''
    return out


def text_dict(row: Any, created: bool = False) -> dict[str, Any]:
    """An ad-hoc action as create and update answer it: the stored row,
    so an action without input has "input": null (as upstream). A new
    one is shown without updated_at; an updated one with it, null when
    the update changed nothing."""
    out = resources.wire_dict({c: getattr(row, c) for c in COLUMNS},
                              COLUMNS)
    if created:
        out.pop('updated_at', None)
    return out


def input_text(spec: Any) -> str | None:
    """The stored ``input`` of an ad-hoc action: its parameters, defaults
    as JSON (``a, b=2, c="x"``); None when it has none."""
    parts: list[str] = []
    for param in spec.input_spec:
        if isinstance(param, dict):
            parts.extend('%s=%s' % (k, json.dumps(v))
                         for k, v in param.items())
        else:
            parts.append(str(param))
    return ', '.join(parts) or None


def not_found(identifier: str, namespace: str
              ) -> exc.DBEntityNotFoundError:
    return exc.DBEntityNotFoundError(
        'Action definition not found [action_name=%s, namespace=%s]'
        % (identifier, namespace))


def system_wire(desc: ActionDescriptor) -> dict[str, Any]:
    """How upstream shows an action that has no ad-hoc DB row."""
    out = {'id': desc.name, 'name': desc.name, 'is_system': False,
           'input': desc.params_spec or '',
           'description': desc.description or '', 'tags': None,
           'definition': '', 'scope': None, 'project_id': None,
           'created_at': '', 'updated_at': '', 'namespace': ''}
    if _is_dynamic(desc):
        # Show who owns it; as upstream, its id is its name and its times
        # are empty here (GET /v2/dynamic_actions has the row's own).
        out.update({'scope': desc.scope, 'project_id': desc.project_id,
                    'namespace': desc.namespace or ''})
    return out


def _registry() -> Any:
    from mistral.actions import registry

    return registry


def _is_adhoc(desc: ActionDescriptor) -> bool:
    from mistral.actions import adhoc

    return isinstance(desc, adhoc.AdHocActionDescriptor)


def _is_dynamic(desc: ActionDescriptor) -> bool:
    from mistral.actions import dynamic

    return isinstance(desc, dynamic.DynamicActionDescriptor)


def system_actions(namespace: str = '', project_id: str | None = None
                   ) -> list[dict[str, Any]]:
    return [system_wire(d)
            for d in _registry().list_all(namespace, project_id=project_id)
            if not _is_adhoc(d)]


def adhoc_rows(session: orm.Session, ctx: MistralContext, namespace: str | None
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


def find_row(session: orm.Session, ctx: MistralContext, identifier: str,
             namespace: str,
             fallback: bool = False) -> models.ActionDefinition | None:
    """The ad-hoc action ``identifier`` (id or name in ``namespace``).

    With ``fallback``, a name not found in ``namespace`` is looked up in
    the default namespace, as upstream's GET does.
    """
    row = _find_row(session, ctx, identifier, namespace)
    if row is None and fallback and namespace:
        row = _find_row(session, ctx, identifier, '')
    return row


def _find_row(session: orm.Session, ctx: MistralContext, identifier: str,
              namespace: str
              ) -> models.ActionDefinition | None:
    stmt = sa.select(models.ActionDefinition)
    if ids.is_uuid(identifier):
        stmt = stmt.where(models.ActionDefinition.id == identifier)
    else:
        stmt = stmt.where(models.ActionDefinition.name == identifier,
                          models.ActionDefinition.namespace == namespace)
    if not ctx.is_admin:
        stmt = stmt.where(listing.scope_condition(models.ActionDefinition,
                                                  ctx.project_id))
    rows = list(session.execute(stmt).scalars())
    own = [r for r in rows if r.project_id == ctx.project_id]
    return own[0] if own else rows[0] if rows else None


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


def _create(session: orm.Session, ctx: MistralContext, spec: Any, name: str,
            namespace: str,
            scope: str, workbook_name: str | None = None,
            definition: str | None = None) -> models.ActionDefinition:
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
        definition=definition or spec.definition, spec=spec.to_dict(),
        tags=list(spec.tags or []), scope=scope, project_id=ctx.project_id,
        description=spec.description, input=input_text(spec),
        is_system=False, workbook_name=workbook_name,
        created_at=timeutils.utcnow())
    session.add(row)
    return row


def _update(row: models.ActionDefinition, spec: Any, scope: str,
            definition: str | None = None, **extra: Any) -> None:
    if row.is_system:
        raise exc.InvalidActionException(
            'Attempt to modify a system action: %s' % row.name)
    changes.apply(row, dict(
        definition=definition or spec.definition, spec=spec.to_dict(),
        tags=list(spec.tags or []), scope=scope,
        description=spec.description, input=input_text(spec), **extra))


def _own_row(session: orm.Session, ctx: MistralContext, name: str,
             namespace: str
             ) -> models.ActionDefinition | None:
    return session.execute(sa.select(models.ActionDefinition).where(
        models.ActionDefinition.name == name,
        models.ActionDefinition.namespace == namespace,
        models.ActionDefinition.project_id == ctx.project_id)).scalar()


def upsert(session: orm.Session, ctx: MistralContext,
           specs: Sequence[tuple[str, Any]],
           namespace: str, scope: str, workbook_name: str | None = None,
           create_only: bool = False, update_only: bool = False,
           definition: str | None = None
           ) -> list[models.ActionDefinition]:
    """Create or update the actions ``specs`` (``(name, spec)`` pairs).

    ``create_only``: an existing one is a duplicate (409);
    ``update_only``: a missing one is not found (404). ``definition``
    is stored as every action's definition (the text of a POST or PUT,
    as upstream); each spec's own otherwise (workbooks).
    """
    rows = []
    for name, spec in specs:
        row = None if create_only else _own_row(session, ctx, name,
                                                namespace)
        if row is None and update_only:
            raise not_found(name, namespace)
        if row is None:
            row = _create(session, ctx, spec, name, namespace, scope,
                          workbook_name, definition)
        else:
            # A standalone update leaves the workbook the action came
            # from as it was.
            extra = {'workbook_name': workbook_name} if workbook_name \
                else {}
            _update(row, spec, scope, definition, **extra)
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
        namespace = namespace or ''
        with db_api.read_session() as session:
            row = find_row(session, ctx, identifier, namespace)
            values = None if row is None else row_wire(row)
        if values is None:
            try:
                values = find_system(identifier, namespace, ctx.project_id)
            except exc.DBEntityNotFoundError:
                if not namespace:
                    raise
                # Not in that namespace: the default one's, as upstream
                # (what `action-get-definition --namespace` relies on).
                with db_api.read_session() as session:
                    row = find_row(session, ctx, identifier, '')
                    values = None if row is None else row_wire(row)
                if values is None:
                    raise
        if fields:
            values = {k: v for k, v in values.items() if k in fields}
        return resources.Action.from_dict(values)

    @expose.text_body()
    @errors.text_errors
    def post(self, namespace: str = '', scope: str = 'private',
             **_kw: Any) -> Any:
        ctx = hooks.current_context()
        access.enforce('actions:create', ctx)
        scope = lookup.check_scope(scope, ctx, 'actions')
        text = hooks.request_text()
        specs = spec_parser.parser().parse_actions(text)
        for spec in specs:
            _check_not_system(spec.name)
        with db_api.transaction() as session:
            rows = upsert(session, ctx, [(s.name, s) for s in specs],
                          namespace or '', scope, create_only=True,
                          definition=text)
            body = {'actions': [text_dict(r, created=True) for r in rows]}
        return errors.json_response(body, 201)

    @expose.text_body()
    @errors.text_errors
    def put(self, identifier: str | None = None, namespace: str = '',
            scope: str = 'private', **_kw: Any) -> Any:
        ctx = hooks.current_context()
        access.enforce('actions:update', ctx)
        scope = lookup.check_scope(scope, ctx, 'actions')
        text = hooks.request_text()
        specs = spec_parser.parser().parse_actions(text)
        if identifier and len(specs) > 1:
            raise exc.InputException(
                'More than one action is in the definition, but an id can '
                'only name one action [id=%s]' % identifier)
        namespace = namespace or ''
        with db_api.transaction() as session:
            if identifier:
                row = find_row(session, ctx, identifier, namespace)
                if row is None:
                    raise not_found(identifier, namespace)
                lookup.check_owner(row, ctx, 'action')
                # The definition names the action: it may rename it.
                _update(row, specs[0], scope, text, name=specs[0].name)
                rows = [row]
            else:
                # An update, not a create: every action must exist.
                rows = upsert(session, ctx, [(s.name, s) for s in specs],
                              namespace, scope, update_only=True,
                              definition=text)
            body = {'actions': [text_dict(r) for r in rows]}
        return errors.json_response(body, 200)

    @expose.wsme(None, wtypes.text, wtypes.text, status_code=204)
    def delete(self, identifier: str, namespace: str = '') -> None:
        ctx = hooks.current_context()
        access.enforce('actions:delete', ctx)
        namespace = namespace or ''
        with db_api.transaction() as session:
            row = find_row(session, ctx, identifier, namespace)
            # Actions of providers (std.*, dynamic, plugins) are no
            # definitions: not found, as upstream.
            if row is None:
                raise not_found(identifier, namespace)
            if row.is_system:
                raise exc.DataAccessException(
                    'Attempt to delete a system action: %s' % identifier)
            lookup.check_owner(row, ctx, 'action')
            session.delete(row)

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
        # No cap on the page size: upstream's action list has none, and
        # `mistral action-list` asks for every action without a limit.
        limit, sort_keys, sort_dirs, fields = collection.prepare(
            spec, limit, sort_keys, sort_dirs, fields, max_limit=None)
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
            for key, direction in zip(sort_keys, sort_dirs, strict=False):
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
