"""Paging through 2,500 rows with ``marker``/``limit`` by following the
``next`` links: for every sort/filter combination of the table, each
matching row comes back exactly once and in the requested order.

The rows have many ties on every sort key (so the appended ``id`` key
must break them) and NULLs in one column (where keyset pagination is
easy to get wrong). SQLite by default; ``MISTRAL_API_TEST_DB=postgresql``
(or ``mysql``) runs the same table on a server.
"""

from __future__ import annotations

import datetime
import random
import urllib.parse
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db import models

ROWS = 2500
BASE = datetime.datetime(2026, 1, 1)
STATES = ('RUNNING', 'SUCCESS', 'ERROR', 'PAUSED')
WF_NAMES = ('wf_a', 'wf_b', 'wf_c')
WIRE = '%Y-%m-%d %H:%M:%S'


def _rows() -> list[dict[str, Any]]:
    # Seeded: a failure must be reproducible.
    rnd = random.Random(2500)
    rows = []
    for i in range(ROWS):
        rows.append(dict(
            id=str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            name=WF_NAMES[i % 3], workflow_name=WF_NAMES[i % 3],
            workflow_namespace='', workflow_id=None,
            description='run %03d' % (i % 400),
            # Three rows per second: created_at alone is never unique.
            created_at=BASE + datetime.timedelta(seconds=i // 3),
            updated_at=None, state=STATES[rnd.randrange(4)],
            # Half of the rows have no state_info.
            state_info=None if i % 2 else 'info %02d' % (i % 50),
            tags=[], runtime_context={}, accepted=False, spec={},
            input={}, output={}, params={}, context={},
            project_id='<default-project>', scope='private',
            active_tasks=0))
    return rows


@pytest.fixture
def rows(app: Any) -> list[dict[str, Any]]:
    data = _rows()
    with db_api.transaction() as session:
        session.execute(sa.insert(models.WorkflowExecution), data)
    return data


def _wire(value: Any) -> Any:
    return value.strftime(WIRE) if isinstance(value, datetime.datetime) \
        else value


def _page_through(app: Any, query: str) -> tuple[list[dict], int]:
    """All items of all pages, and the number of pages."""
    url = '/v2/executions?' + query
    items: list[dict] = []
    pages = 0
    while url:
        r = app.get(url)
        page = r.json['executions']
        pages += 1
        items += page
        nxt = r.json.get('next')
        if nxt:
            parts = urllib.parse.urlsplit(nxt)
            assert parts.path == '/v2/executions'
            url = parts.path + '?' + parts.query
            # A page with a next link is full.
            limit = int(urllib.parse.parse_qs(parts.query)['limit'][0])
            assert len(page) == limit
        else:
            url = ''
        assert pages <= ROWS + 1, 'next links never end'
    return items, pages


def _key(row: dict, keys: list[str], dirs: list[str]) -> tuple:
    """Sort key for non-NULL values: desc columns compare reversed."""
    out = []
    for k, d in zip(keys, dirs, strict=False):
        v = _wire(row[k])
        out.append(_Rev(v) if d == 'desc' else v)
    return tuple(out)


class _Rev:
    """Reverses the comparison of a value (for descending keys)."""

    def __init__(self, v: Any) -> None:
        self.v = v

    def __eq__(self, other: Any) -> bool:
        return self.v == other.v

    def __lt__(self, other: Any) -> bool:
        return self.v > other.v


# (id, query string, python filter of the rows, sort keys, sort dirs).
# The server appends ``id asc`` when ``id`` is not a key already.
CASES = [
    ('default', 'limit=250', lambda r: True, ['created_at'], ['asc']),
    ('created-desc', 'sort_keys=created_at&sort_dirs=desc&limit=333',
     lambda r: True, ['created_at'], ['desc']),
    ('no-limit-clamped', '', lambda r: True, ['created_at'], ['asc']),
    ('state-name-created', 'sort_keys=state,workflow_name,created_at&'
     'sort_dirs=asc,desc,desc&limit=199', lambda r: True,
     ['state', 'workflow_name', 'created_at'], ['asc', 'desc', 'desc']),
    ('description-desc-padded', 'sort_keys=description,workflow_name&'
     'sort_dirs=desc&limit=401', lambda r: True,
     ['description', 'workflow_name'], ['desc', 'asc']),
    ('id-only', 'sort_keys=id&sort_dirs=desc&limit=512', lambda r: True,
     ['id'], ['desc']),
    ('id-first-then-state', 'sort_keys=id,state&limit=600',
     lambda r: True, ['id', 'state'], ['asc', 'asc']),
    ('filter-state', 'state=ERROR&sort_keys=description&limit=37',
     lambda r: r['state'] == 'ERROR', ['description'], ['asc']),
    ('filter-in', 'state=in:PAUSED,SUCCESS&sort_keys=state,created_at&'
     'sort_dirs=desc,desc&limit=150',
     lambda r: r['state'] in ('PAUSED', 'SUCCESS'),
     ['state', 'created_at'], ['desc', 'desc']),
    ('filter-neq-and-gte', 'workflow_name=neq:wf_b&'
     'created_at=gte:2026-01-01 00:05:00&limit=111',
     lambda r: r['workflow_name'] != 'wf_b'
     and r['created_at'] >= BASE + datetime.timedelta(minutes=5),
     ['created_at'], ['asc']),
    ('filter-has-small-pages', 'description=has:run 01&'
     'sort_keys=workflow_name&sort_dirs=desc&limit=7',
     lambda r: 'run 01' in r['description'], ['workflow_name'], ['desc']),
    ('fields-kept-in-next', 'fields=state,description&'
     'sort_keys=description,state&sort_dirs=asc,desc&limit=290',
     lambda r: True, ['description', 'state'], ['asc', 'desc']),
    ('filter-lt-exactly-one-page', 'created_at=lt:2026-01-01 00:01:40&'
     'limit=300', lambda r: r['created_at'] < BASE + datetime.timedelta(
         seconds=100), ['created_at'], ['asc']),
]


@pytest.mark.parametrize('query,pred,keys,dirs', [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_every_row_once_in_order(app: Any, rows: list[dict], query: str,
                                 pred: Any, keys: list[str],
                                 dirs: list[str]) -> None:
    items, pages = _page_through(app, query)
    ids = [i['id'] for i in items]
    assert len(ids) == len(set(ids)), 'a row came back twice'
    wanted = [r for r in rows if pred(r)]
    assert set(ids) == {r['id'] for r in wanted}
    if 'id' not in keys:
        keys, dirs = keys + ['id'], dirs + ['asc']
    expected = sorted(wanted, key=lambda r: _key(r, keys, dirs))
    assert ids == [r['id'] for r in expected]
    if 'fields=' in query:
        assert set(items[0]) == {'id', 'state', 'description'}
    # Every page but the last is full; the last one may be exactly full
    # too, and then an empty page ends the walk.
    limit = int(dict(urllib.parse.parse_qsl(query)).get('limit', 1000))
    assert pages in (len(ids) // limit + 1, -(-len(ids) // limit))


@pytest.mark.parametrize('direction', ['asc', 'desc'])
def test_nullable_sort_key(app: Any, rows: list[dict],
                           direction: str) -> None:
    """Half the rows have a NULL state_info. Where NULLs sort differs per
    backend, so only their being together is asserted; the non-NULL
    values must be in order and no row may be lost or repeated."""
    items, _ = _page_through(app, 'sort_keys=state_info&sort_dirs=%s&'
                             'limit=123' % direction)
    ids = [i['id'] for i in items]
    assert len(ids) == len(set(ids)) == ROWS
    values = [i['state_info'] for i in items]
    nulls = [n for n, v in enumerate(values) if v is None]
    assert nulls == list(range(nulls[0], nulls[0] + len(nulls)))
    assert nulls[0] == 0 or nulls[-1] == ROWS - 1
    present = [(i['state_info'], i['id']) for i in items
               if i['state_info'] is not None]
    expected = sorted(present, key=lambda p: (
        _Rev(p[0]) if direction == 'desc' else p[0], p[1]))
    assert present == expected
