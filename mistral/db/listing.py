"""Generic list queries: filters, project scoping, keyset pagination.

Every list endpoint of the API goes through :func:`list_rows`, which runs
exactly one SELECT for the page (plus one small lookup for the marker row)
and returns plain dicts holding only the requested columns, so large JSON
columns are never loaded when nobody asked for them.

The queries are Core selects of the models' table columns, run on a plain
Connection (:func:`mistral.db.api.read_connection`): the result is only
turned into dicts, so the ORM's session, compile state and result
machinery would be pure overhead (most of the CPU of a small list
request).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from mistral import exceptions as exc
from mistral.db import models
from mistral.db import types as db_types
from mistral.utils.lru import LRU

# Filter prefixes accepted in query values, e.g. ``state=neq:ERROR``.
OPERATORS = ('eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'has', 'in', 'nin')

SORT_DIRS = ('asc', 'desc')


@dataclasses.dataclass
class Filter:
    column: str
    op: str
    value: Any


def parse_filter(column: str, raw: Any) -> Filter:
    """Split ``op:value`` into a Filter; no known prefix means equality."""
    if isinstance(raw, str):
        head, sep, tail = raw.partition(':')
        if sep and head in OPERATORS:
            if head in ('in', 'nin'):
                return Filter(column, head, [v for v in tail.split(',')])
            return Filter(column, head, tail)
    return Filter(column, 'eq', raw)


def validate_paging(limit: int | None, sort_keys: list[str],
                    sort_dirs: list[str], max_limit: int | None
                    ) -> tuple[Any, list[str], list[str]]:
    """Check limit and sort arguments; returns the effective values.

    The limit is capped at ``max_limit`` (none when that is None: then no
    limit stays None). The messages are the ones upstream clients show to
    users.
    """
    if limit is not None and limit <= 0:
        raise exc.InputException('Limit must be positive.')
    if max_limit is not None and (limit is None or limit > max_limit):
        limit = max_limit
    if len(sort_dirs) > len(sort_keys):
        raise exc.InputException(
            'Length of sort_keys must be equal or greater than sort_dirs.')
    dirs = list(sort_dirs) + ['asc'] * (len(sort_keys) - len(sort_dirs))
    for d in dirs:
        if d not in SORT_DIRS:
            raise exc.InputException(
                "Unknown sort direction, must be 'desc' or 'asc'.")
    return limit, list(sort_keys), dirs


def validate_fields(fields: Sequence[str], valid: Sequence[str]) -> None:
    unknown = [f for f in fields if f not in valid]
    if unknown:
        raise exc.InputException(
            'Some fields do not exist  [%s], please choose from [%s]'
            % (', '.join(unknown), ', '.join(valid)))


def _column(model: type, name: str) -> sa.Column[Any]:
    """The table column of the mapped attribute ``name`` of ``model``.

    A Core column rather than the ORM attribute: a select of ORM
    attributes (even in its WHERE clause) is compiled and run by the ORM.
    """
    col = models.table_columns(model).get(name)
    if col is None:
        raise exc.InputException('Unknown field or filter: %s' % name)
    return col


def _coerce(col: Any, name: str, value: Any) -> Any:
    """Turn a query-string value into what the column compares with
    (``name``: the field's, for messages)."""
    if value is None or not isinstance(value, str):
        return value
    ctype = col.type
    if isinstance(ctype, sa.Boolean):
        low = value.lower()
        if low in ('true', '1', 'yes', 'on'):
            return True
        if low in ('false', '0', 'no', 'off'):
            return False
        raise exc.InputException('Invalid boolean value for %s: %s '
                                 '(expected true or false)' % (name, value))
    if isinstance(ctype, sa.Integer):
        try:
            return int(value)
        except ValueError:
            raise exc.InputException('Invalid integer value for %s: %s'
                                     % (name, value)) from None
    if isinstance(ctype, sa.DateTime) or (
            isinstance(ctype, sa.types.TypeDecorator)
            and isinstance(ctype.impl_instance, sa.DateTime)):
        return _parse_datetime(value, name)
    if isinstance(ctype, db_types.JsonEncoded):
        # A JSON field is compared with a JSON value (as upstream, which
        # answers 400 for text that is not JSON).
        try:
            return json.loads(value)
        except ValueError:
            raise exc.InputException(
                'Invalid value for %s: %s (expected a JSON value, e.g. '
                '{"key": "value"})' % (name, value)) from None
    return value


def _parse_datetime(value: str, name: str = 'value'
                    ) -> datetime.datetime:
    for fmt in ('%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S',
                '%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S',
                '%Y-%m-%d %H:%M', '%Y-%m-%d'):
        try:
            return datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise exc.InputException(
        'Invalid date/time value for %s: %s (expected YYYY-MM-DD '
        'HH:MM:SS)' % (name, value))


def _is_json(col: Any) -> bool:
    return isinstance(col.type, db_types.JsonEncoded)


def _condition(model: type, flt: Filter) -> Any:
    col = _column(model, flt.column)
    op, value = flt.op, flt.value
    if flt.column == 'tags' and _is_json(col):
        # Tags are a JSON list stored as text: every requested tag must be
        # one of the row's tags.
        tags = value if isinstance(value, list) else str(value).split(',')
        text = sa.cast(col, sa.Text)
        return sa.and_(*[text.like('%%%s%%' % json.dumps(t.strip()))
                         for t in tags if t.strip()])
    if op == 'has':
        return sa.cast(col, sa.Text).like('%%%s%%' % value)
    if op in ('in', 'nin'):
        values = [_coerce(col, flt.column, v) for v in value]
        cond = col.in_(values)
        return cond if op == 'in' else sa.not_(cond)
    value = _coerce(col, flt.column, value)
    if op == 'eq':
        return col.is_(None) if value is None else col == value
    if op == 'neq':
        return col.is_not(None) if value is None else col != value
    return {'gt': col > value, 'gte': col >= value,
            'lt': col < value, 'lte': col <= value}[op]


def shared_ids(project_id: str | None, resource_type: str
               ) -> sa.Select[Any]:
    """Ids of resources shared with ``project_id`` and accepted by it."""
    member = models.ResourceMember.__table__.c
    return sa.select(member.resource_id).where(
        member.member_id == project_id,
        member.resource_type == resource_type,
        member.status == 'accepted')


# Models whose rows can be shared with other projects (members API).
_SHARABLE = {'workflow_definitions_v2': 'workflow'}


# Built conditions by (model, project): SQL expressions are immutable, so
# one can serve every query of a project; building it costs about as much
# as running a small cached query.
_scopes: LRU[Any] = LRU(1024)


def scope_condition(model: type, project_id: str | None) -> Any:
    """Rows of the caller's project, shared with everyone, or shared with
    the caller's project and accepted by it.

    Made of table columns, so it serves Core selects (lists) as well as
    ORM ones (single objects) without making the former ORM selects.
    """
    key = (model, project_id)
    cond = _scopes.get(key)
    if cond is None:
        cond = _build_scope_condition(model, project_id)
        _scopes.put(key, cond)
    return cond


def _build_scope_condition(model: type, project_id: str | None) -> Any:
    cols = models.table_columns(model)
    own = cols['project_id'] == project_id
    conds = [own]
    if 'scope' in cols:
        conds.append(cols['scope'] == 'public')
    resource_type = _SHARABLE.get(getattr(model, '__tablename__', ''))
    if resource_type is not None:
        conds.append(cols['id'].in_(shared_ids(project_id, resource_type)))
    return sa.or_(*conds) if len(conds) > 1 else own


def _marker_condition(model: type, conn: sa.engine.Connection, marker: str,
                      keys: list[str], dirs: list[str],
                      marker_column: str) -> Any:
    cols = [_column(model, k) for k in keys]
    row = conn.execute(
        sa.select(*cols).where(_column(model, marker_column) == marker)
    ).first()
    if row is None:
        raise exc.DBEntityNotFoundError(
            '%s not found [%s=%s]' % (_entity_name(model), marker_column,
                                      marker))
    # Keyset pagination: rows strictly after the marker in the sort order,
    # i.e. (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...
    ors = []
    for i, (col, d) in enumerate(zip(cols, dirs, strict=False)):
        ands = []
        for prev_col, prev_val in zip(cols[:i], row[:i], strict=False):
            ands.append(prev_col.is_(None) if prev_val is None
                        else prev_col == prev_val)
        val = row[i]
        after: Any
        if val is None:
            # NULLs sort first ascending on SQLite and MySQL.
            after = col.is_not(None) if d == 'asc' else sa.false()
        else:
            after = col > val if d == 'asc' else col < val
            if d == 'desc':
                after = sa.or_(after, col.is_(None))
        ors.append(sa.and_(*ands, after))
    return sa.or_(*ors)


def _entity_name(model: type) -> str:
    return getattr(model, 'entity_name', model.__name__)


# The SELECT clause by (model, columns): the few shapes the API asks for
# (default columns, a client's fields) repeat on every poll.
_selects: LRU[sa.Select[Any]] = LRU(1024)


def _select_columns(model: type, columns: tuple[str, ...]
                    ) -> sa.Select[Any]:
    key = (model, columns)
    stmt = _selects.get(key)
    if stmt is None:
        stmt = sa.select(*[_column(model, c) for c in columns])
        _selects.put(key, stmt)
    return stmt


def build_query(model: type, *, columns: Iterable[str],
                filters: Iterable[Filter] = (),
                nulls: Iterable[str] = (),
                project_id: str | None = None,
                insecure: bool = False) -> sa.Select[Any]:
    """A Core SELECT of the given columns with the filters."""
    stmt = _select_columns(model, tuple(columns))
    conds = [_condition(model, f) for f in filters]
    conds += [_column(model, n).is_(None) for n in nulls]
    if not insecure and 'project_id' in models.table_columns(model):
        conds.append(scope_condition(model, project_id))
    if conds:
        stmt = stmt.where(*conds)
    return stmt


# ORDER BY terms by (model, key, direction, PostgreSQL?): a closed set
# (keys are checked columns), rebuilt on every request otherwise.
_ORDER_TERMS: dict[tuple[type, str, str, bool], Any] = {}


def _order_term(model: type, key: str, direction: str,
                postgres: bool) -> Any:
    term = _ORDER_TERMS.get((model, key, direction, postgres))
    if term is not None:
        return term
    col = _column(model, key)
    term = col.asc() if direction == 'asc' else col.desc()
    if postgres and col.nullable:
        # NULL sorts lowest everywhere (as on SQLite and MariaDB), the
        # order the marker criteria assume; PostgreSQL sorts it highest by
        # default. Only for columns that can hold NULL: the clause keeps
        # PostgreSQL from reading a page in the order of an index
        # (created_at, id), so that it would sort the whole table for
        # each page.
        term = (term.nulls_first() if direction == 'asc'
                else term.nulls_last())
    _ORDER_TERMS[(model, key, direction, postgres)] = term
    return term


def list_rows(conn: sa.engine.Connection, model: type, *,
              columns: Sequence[str], limit: int, sort_keys: list[str],
              sort_dirs: list[str], marker: str | None = None,
              filters: Iterable[Filter] = (), nulls: Iterable[str] = (),
              project_id: str | None = None, insecure: bool = False,
              marker_column: str = 'id') -> list[dict[str, Any]]:
    """One page of rows as dicts of ``columns``, read on ``conn`` (e.g.
    from :func:`mistral.db.api.read_connection`).

    ``sort_keys``/``sort_dirs`` are extended in place with ``id`` so the
    order is total (the caller echoes them in the ``next`` link).
    """
    if 'id' not in sort_keys:
        sort_keys.append('id')
        sort_dirs.append('asc')
    columns = list(columns)
    stmt = build_query(model, columns=columns, filters=filters, nulls=nulls,
                       project_id=project_id, insecure=insecure)
    if marker:
        stmt = stmt.where(_marker_condition(model, conn, marker,
                                            sort_keys, sort_dirs,
                                            marker_column))
    postgres = conn.dialect.name == 'postgresql'
    stmt = stmt.order_by(*[
        _order_term(model, key, d, postgres)
        for key, d in zip(sort_keys, sort_dirs, strict=False)
    ]).limit(limit)
    return [dict(zip(columns, row, strict=False))
            for row in conn.execute(stmt)]
