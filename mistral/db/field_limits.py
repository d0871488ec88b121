"""Refuse values their column can not hold before the database does.

PostgreSQL and MariaDB (strict mode) reject a string longer than its
``VARCHAR(n)`` column with a driver error that names neither the field nor
the object (an API answer of 500), and SQLite stores it whatever its
length. A ``before_flush`` check makes all three answer the same clear
error (``InputException``, 400) naming the object and the field.

PostgreSQL also refuses a NUL character in any bound string (a
``ValueError`` of the driver, a 500): on PostgreSQL such values are
refused the same way, in writes and in lookups. (JSON columns are stored
as text with NUL escaped: they are not concerned.)
"""

from __future__ import annotations

from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import orm

from mistral import exceptions as exc

# Column name -> maximum length (0: unbounded text), per mapped class
# (computed once).
_LIMITS: dict[type, dict[str, int]] = {}


def _limits(cls: type) -> dict[str, int]:
    limits = _LIMITS.get(cls)
    if limits is None:
        limits = {}
        mapper = sa.inspect(cls, raiseerr=False)
        if mapper is not None:
            for attr in mapper.column_attrs:
                for column in attr.columns:
                    if isinstance(column.type, sa.String):
                        length = getattr(column.type, 'length', None)
                        limits[attr.key] = 0 if isinstance(
                            column.type, sa.Text) else (length or 0)
        _LIMITS[cls] = limits
    return limits


def check(obj: Any, nul_ok: bool = False,
          keys: Iterable[str] | None = None) -> None:
    """Raise InputException if a string field of ``obj`` is too long (or
    holds a NUL character, unless ``nul_ok``); ``keys``: only those
    fields (the others are known to be unchanged)."""
    limits = _limits(type(obj))
    values = obj.__dict__
    for key in limits if keys is None else keys:
        length = limits.get(key)
        if length is None:
            continue  # not a string column
        value = values.get(key)
        if not isinstance(value, str):
            continue
        table = getattr(type(obj), '__tablename__', type(obj).__name__)
        if length and len(value) > length:
            raise exc.InputException(
                'Field too long [object=%s, field=%s, length=%d, '
                'limit=%d]' % (table, key, len(value), length))
        if not nul_ok and '\x00' in value:
            raise exc.InputException(
                'NUL characters are not allowed [object=%s, field=%s]'
                % (table, key))


@event.listens_for(orm.Session, 'before_flush')
def _before_flush(session: orm.Session, _context: Any,
                  _instances: Any) -> None:
    nul_ok = session.get_bind().dialect.name != 'postgresql'
    for obj in session.new:
        check(obj, nul_ok)
    # A changed row was checked (or read) as it was: only its changed
    # fields can break a limit now. (A task or workflow row changes a few
    # of its fields per step; checking all of them was most of the cost.)
    for obj in session.dirty:
        check(obj, nul_ok, sa.inspect(obj).committed_state)


def _has_nul(params: Any) -> bool:
    # Runs for every statement on PostgreSQL: a loop over the values with
    # exact type checks, recursing only into containers (executemany
    # parameter lists, dicts), costs a fraction of a generic recursion.
    if isinstance(params, str):
        return '\x00' in params
    if isinstance(params, dict):
        values: Any = params.values()
    elif isinstance(params, (list, tuple)):
        values = params
    else:
        return False
    for value in values:
        kind = type(value)
        if kind is str:
            if '\x00' in value:
                return True
        elif kind is dict or kind is list or kind is tuple:
            if _has_nul(value):
                return True
        elif isinstance(value, (str, dict, list, tuple)) and \
                _has_nul(value):
            return True
    return False


@event.listens_for(sa.engine.Engine, 'before_cursor_execute')
def _before_cursor_execute(conn: Any, _cursor: Any, _statement: str,
                           parameters: Any, _context: Any,
                           _executemany: bool) -> None:
    # Reads too: PostgreSQL's driver refuses a NUL in any bound string
    # with a ValueError (a lookup by such a name was a 500). SQLite and
    # MariaDB store NUL: nothing changes there.
    if conn.dialect.name == 'postgresql' and parameters and \
            _has_nul(parameters):
        raise exc.InputException(
            'NUL characters are not allowed in names, identifiers and '
            'other text values.')
