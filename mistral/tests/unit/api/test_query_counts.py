"""A list request costs the same number of queries for any page size.

An N+1 pattern (one query per listed row for a related object, a lazy
column or a result) would make the count grow with ``limit``; the table
below lists every collection with rows that have such relations.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.tests.unit.api import conftest as c

ROWS = 12

WB = """---
version: '2.0'
name: wb%d
workflows:
  flow:
    tasks:
      t1:
        action: std.noop
"""


@contextlib.contextmanager
def _selects() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith('SELECT'):
            seen.append(statement)

    engine = db_api.get_engine()
    sa.event.listen(engine, 'before_cursor_execute', count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, 'before_cursor_execute', count)


def _seed(app: Any) -> str:
    c.create_wf(app)
    for i in range(ROWS):
        app.post('/v2/workbooks', WB % i,
                 headers={'Content-Type': 'text/plain'})
        app.post_json('/v2/environments', {
            'name': 'env%d' % i, 'variables': {'k': i}})
    first = None
    for i in range(ROWS):
        ex = app.post_json('/v2/executions', {
            'workflow_name': 'wf1', 'input': {'name': str(i)}}).json
        first = first or ex['id']
    # Many tasks of one execution, each with action results, so that the
    # per-execution task list has rows with relations too.
    for i in range(ROWS):
        c.add_task(first, name='t%d' % i, results=['a', 'b'])
    return first


LISTS = [
    '/v2/workflows',
    '/v2/workbooks',
    '/v2/environments',
    '/v2/executions',
    '/v2/executions?include_output=true',
    '/v2/tasks',
    '/v2/tasks?fields=name,result',
    '/v2/executions/{ex}/tasks',
    '/v2/action_executions',
    '/v2/actions',
]


@pytest.mark.parametrize('db', ['sqlite', 'postgresql'], indirect=True)
def test_queries_per_list_request_do_not_grow_with_the_page(app: Any
                                                            ) -> None:
    ex_id = _seed(app)
    for path in LISTS:
        path = path.format(ex=ex_id)
        sep = '&' if '?' in path else '?'
        counts = {}
        for limit in (2, ROWS):
            with _selects() as seen:
                r = app.get('%s%slimit=%d' % (path, sep, limit))
            key = [k for k in r.json if isinstance(r.json[k], list)][0]
            assert len(r.json[key]) == limit, (path, limit)
            counts[limit] = len(seen)
        assert counts[2] == counts[ROWS], (path, counts)
        assert counts[ROWS] <= 4, (path, counts)
