"""List pages on PostgreSQL order NOT NULL columns plainly (index order)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql

from mistral.db import listing
from mistral.db import models


class _Connection:
    """Enough of a connection for list_rows: says it is PostgreSQL and
    keeps the statement it is given."""

    def __init__(self) -> None:
        self.statements: list[Any] = []

    @property
    def dialect(self) -> Any:
        return postgresql.dialect()

    def execute(self, stmt: Any) -> list[Any]:
        self.statements.append(stmt)
        return []


def _order_sql(keys: list[str], dirs: list[str]) -> str:
    conn = _Connection()
    listing.list_rows(conn, models.WorkflowExecution,
                      columns=['id', 'state'], limit=10, sort_keys=keys,
                      sort_dirs=dirs, project_id='p')
    sql = str(conn.statements[0].compile(dialect=postgresql.dialect()))
    return sql[sql.index('ORDER BY'):]


def test_not_null_columns_keep_index_order():
    # created_at and id are NOT NULL: with NULLS FIRST PostgreSQL could
    # not read a page in the order of the created_at index and would sort
    # every row of the table for each page.
    order = _order_sql(['created_at'], ['asc'])
    assert 'NULLS' not in order
    assert 'created_at ASC' in order and 'id ASC' in order
    assert 'NULLS' not in _order_sql(['created_at'], ['desc'])


def test_nullable_columns_sort_null_lowest():
    assert 'updated_at ASC NULLS FIRST' in _order_sql(['updated_at'],
                                                      ['asc'])
    assert 'updated_at DESC NULLS LAST' in _order_sql(['updated_at'],
                                                      ['desc'])
