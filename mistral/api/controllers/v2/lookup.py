"""Loading single objects for the API, scoped to the caller's project."""

from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import orm

from mistral import exceptions as exc
from mistral.context import MistralContext
from mistral.db import listing
from mistral.utils import ids

CONF = cfg.CONF

def check_uuid(name: str, value: Any) -> None:
    """400 when an argument that upstream types as a UUID is not one
    (e.g. a name given where only an id is understood)."""
    if value is not None and not ids.is_uuid(str(value)):
        raise exc.InputException(
            "Invalid input for field/attribute %s. Value: '%s'. It must "
            "be a UUID (an id, not a name)." % (name, value))


def entity_name(model: type) -> str:
    """The name in "not found" messages: the model's, as upstream's."""
    return model.__name__


def scoped(stmt: sa.Select, model: type, ctx: MistralContext) -> Any:
    if ctx.is_admin or not hasattr(model, 'project_id'):
        return stmt
    return stmt.where(listing.scope_condition(model, ctx.project_id))


def get_row(session: orm.Session, model: type[Any], ctx: MistralContext,
            id_: str, columns: Sequence[str] | None = None) -> Any:
    """The row with this id visible to ``ctx``, else 404.

    With ``columns`` a dict of those columns is returned instead of the
    mapped object (no other column is read).
    """
    stmt: sa.Select[Any]
    if columns is None:
        stmt = sa.select(model)
    else:
        stmt = sa.select(*[getattr(model, c) for c in columns])
    stmt = scoped(stmt.where(model.id == id_), model, ctx)
    result = session.execute(stmt)
    if columns is None:
        row = result.scalar_one_or_none()
    else:
        found = result.first()
        row = None if found is None else dict(
            zip(columns, found, strict=False))
    if row is None:
        raise exc.DBEntityNotFoundError(
            '%s not found [id=%s]' % (entity_name(model), id_))
    return row


def get_by_name(session: orm.Session, model: type[Any], ctx: MistralContext,
                name: str, namespace: str | None = None,
                columns: Sequence[str] | None = None) -> Any | None:
    """The row named ``name``; the caller's own wins over a public one."""
    stmt: sa.Select[Any]
    if columns is None:
        stmt = sa.select(model)
    else:
        stmt = sa.select(*[getattr(model, c) for c in columns],
                         model.project_id)
    stmt = stmt.where(model.name == name)
    if namespace is not None and hasattr(model, 'namespace'):
        stmt = stmt.where(model.namespace == namespace)
    stmt = scoped(stmt, model, ctx)
    result = session.execute(stmt)
    if columns is None:
        rows = list(result.scalars())
        own = [r for r in rows if r.project_id == ctx.project_id]
        return (own or rows or [None])[0]
    found = [tuple(r) for r in result]
    own = [r for r in found if r[-1] == ctx.project_id]
    chosen = own[0] if own else found[0] if found else None
    return None if chosen is None else dict(zip(columns, chosen, strict=False))


def by_id_or_name(session: orm.Session, model: type[Any],
                  ctx: MistralContext, identifier: str,
                  namespace: str = '') -> Any | None:
    """The row ``identifier`` names: by id when it reads as a UUID, else
    (or when no row has that id) by name in ``namespace``; None when
    neither finds one the caller may see."""
    row = None
    if ids.is_uuid(identifier):
        row = session.execute(scoped(
            sa.select(model).where(model.id == identifier), model,
            ctx)).scalar()
    if row is None:
        row = get_by_name(session, model, ctx, identifier, namespace or '')
    return row


def check_owner(row: Any, ctx: MistralContext, kind: str) -> None:
    """Only the owner (or an admin) may change or delete an object."""
    project_id = (row['project_id'] if isinstance(row, dict)
                  else row.project_id)
    if not ctx.is_admin and project_id != ctx.project_id:
        raise exc.NotAllowedException(
            'Can not access %s resource of other projects' % kind)


def check_scope(scope: str | None, ctx: MistralContext,
                resource: str) -> str:
    """Validate ``scope``; making ``resource`` public is a policy."""
    from mistral.api import access

    scope = scope or 'private'
    if scope not in ('private', 'public'):
        raise exc.InputException(
            'Scope must be one of the following: private, public. '
            'Actual: %s' % scope)
    if scope == 'public':
        access.enforce('%s:publicize' % resource, ctx)
    return scope


def parse_bool(value: Any, name: str = 'value') -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    low = str(value).strip().lower()
    if low in ('true', '1', 'yes', 'on', 't', 'y'):
        return True
    if low in ('false', '0', 'no', 'off', 'f', 'n', ''):
        return False
    raise exc.InputException('Invalid boolean value for %s: %s'
                             % (name, value))


def should_validate(skip_validation: Any) -> bool:
    mode = CONF.api.validation_mode
    if mode == 'disabled':
        return False
    if mode == 'enabled':
        return not parse_bool(skip_validation, 'skip_validation')
    return True
