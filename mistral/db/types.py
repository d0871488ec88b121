"""Column types that behave the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from mistral.utils import json_codec


def LongText() -> sa.types.TypeEngine:
    """Unbounded text (MySQL's TEXT stops at 64 KB)."""
    return sa.Text().with_variant(mysql.LONGTEXT(), 'mysql', 'mariadb')


class JsonEncoded(sa.types.TypeDecorator):
    """JSON stored as text.

    A plain text column rather than the dialects' JSON types: the three
    backends disagree on JSON comparison and key order, and we only ever read
    and write the whole value.
    """

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ('mysql', 'mariadb'):
            return dialect.type_descriptor(mysql.LONGTEXT())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        return json_codec.dumps_compact(value)

    def process_result_value(self, value: str | None, dialect) -> Any:
        if value is None:
            return None
        return json_codec.loads(value)


def DateTime() -> sa.types.TypeEngine:
    """Naive UTC timestamps with microseconds on every backend."""
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',
                                      'mariadb')
