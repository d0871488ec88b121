"""Refuse values longer than their column before the database does.

PostgreSQL and MariaDB (strict mode) reject a string longer than its
``VARCHAR(n)`` column with a driver error that names neither the field nor
the object (an API answer of 500), and SQLite stores it whatever its
length. A ``before_flush`` check makes all three answer the same clear
error (``InputException``, 400) naming the object and the field.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, orm

from mistral import exceptions as exc

# Column name -> maximum length, per mapped class (computed once).
_LIMITS: dict[type, dict[str, int]] = {}


def _limits(cls: type) -> dict[str, int]:
    limits = _LIMITS.get(cls)
    if limits is None:
        limits = {}
        mapper = sa.inspect(cls, raiseerr=False)
        if mapper is not None:
            for attr in mapper.column_attrs:
                for column in attr.columns:
                    length = getattr(column.type, 'length', None)
                    if isinstance(column.type, sa.String) and length and \
                            not isinstance(column.type, sa.Text):
                        limits[attr.key] = length
        _LIMITS[cls] = limits
    return limits


def check(obj: Any) -> None:
    """Raise InputException if a string field of ``obj`` is too long."""
    for key, length in _limits(type(obj)).items():
        value = obj.__dict__.get(key)
        if isinstance(value, str) and len(value) > length:
            table = getattr(type(obj), '__tablename__', type(obj).__name__)
            raise exc.InputException(
                'Field too long [object=%s, field=%s, length=%d, '
                'limit=%d]' % (table, key, len(value), length))


@event.listens_for(orm.Session, 'before_flush')
def _before_flush(session: orm.Session, _context: Any,
                  _instances: Any) -> None:
    for obj in list(session.new) + list(session.dirty):
        check(obj)
