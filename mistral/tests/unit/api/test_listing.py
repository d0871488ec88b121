"""Pagination, sorting, fields and filters of list endpoints."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db import models
from mistral.tests.unit.api import conftest as c

CONF = cfg.CONF

# The SQL of filters and keyset pagination differs per backend.
pytestmark = pytest.mark.parametrize(
    'db', ['sqlite', 'postgresql', 'mysql'], indirect=True)


def _executions(app: Any, count: int) -> list[str]:
    c.create_wf(app)
    ids = []
    for i in range(count):
        r = app.post_json('/v2/executions', {
            'workflow_name': 'wf1', 'input': {'name': str(i)},
            'description': 'run %d' % i})
        ids.append(r.json['id'])
    # Distinct creation times make the order deterministic.
    base = datetime.datetime(2026, 1, 1)
    with db_api.transaction() as session:
        for i, ex_id in enumerate(ids):
            session.execute(sa.update(models.WorkflowExecution).where(
                models.WorkflowExecution.id == ex_id).values(
                created_at=base + datetime.timedelta(minutes=i)))
    return ids


def test_pages_follow_markers_and_next_links(app: Any) -> None:
    ids = _executions(app, 5)
    r = app.get('/v2/executions?limit=2')
    assert [e['id'] for e in r.json['executions']] == ids[:2]
    assert r.json['next'] == (
        'http://localhost/v2/executions?sort_keys=created_at,id&'
        'sort_dirs=asc,asc&limit=2&marker=%s' % ids[1])
    r = app.get('/v2/executions?limit=2&marker=%s' % ids[1])
    assert [e['id'] for e in r.json['executions']] == ids[2:4]
    r = app.get('/v2/executions?limit=2&marker=%s' % ids[3])
    assert [e['id'] for e in r.json['executions']] == ids[4:]
    assert 'next' not in r.json


def test_descending_sort_and_multi_keys(app: Any) -> None:
    ids = _executions(app, 3)
    r = app.get('/v2/executions?sort_keys=created_at&sort_dirs=desc&'
                'limit=2')
    assert [e['id'] for e in r.json['executions']] == ids[::-1][:2]
    assert 'sort_dirs=desc,asc' in r.json['next']
    r = app.get('/v2/executions?sort_keys=created_at&sort_dirs=desc&'
                'limit=2&marker=%s' % ids[1])
    assert [e['id'] for e in r.json['executions']] == [ids[0]]
    r = app.get('/v2/executions?sort_keys=workflow_name,description&'
                'sort_dirs=asc,desc')
    assert [e['description'] for e in r.json['executions']] == [
        'run 2', 'run 1', 'run 0']


def test_limit_is_clamped_to_max_limit(app: Any) -> None:
    _executions(app, 3)
    CONF.set_override('max_limit', 2, group='api')
    try:
        r = app.get('/v2/executions')
        assert len(r.json['executions']) == 2
        assert 'limit=2&' in r.json['next']
        r = app.get('/v2/executions?limit=50')
        assert len(r.json['executions']) == 2
    finally:
        CONF.clear_override('max_limit', group='api')


def test_paging_argument_errors(app: Any) -> None:
    def fault(url: str) -> str:
        r = app.get(url, status=400)
        assert r.json['faultcode'] == 'Client'
        assert r.json['debuginfo'] is None
        return r.json['faultstring']

    assert fault('/v2/executions?limit=0') == 'Limit must be positive.'
    assert fault('/v2/executions?limit=-3') == 'Limit must be positive.'
    assert fault('/v2/executions?sort_dirs=up') == (
        "Unknown sort direction, must be 'desc' or 'asc'.")
    assert fault('/v2/executions?sort_keys=state&sort_dirs=asc,desc') == (
        'Length of sort_keys must be equal or greater than sort_dirs.')
    assert 'limit' in fault('/v2/executions?limit=abc')
    assert fault('/v2/executions?fields=bogus').startswith(
        'Some fields do not exist  [bogus], please choose from [id, '
        'workflow_id, workflow_name,')
    assert fault('/v2/tasks?fields=nope').startswith(
        'Some fields do not exist  [nope]')
    assert 'nope' in fault('/v2/executions?sort_keys=nope')


def test_fields_select_columns_and_add_id(app: Any) -> None:
    ids = _executions(app, 2)
    r = app.get('/v2/executions?fields=state,workflow_name&limit=1')
    assert r.json['executions'] == [
        {'id': ids[0], 'state': 'RUNNING', 'workflow_name': 'wf1'}]
    assert r.json['next'].endswith('&fields=id,state,workflow_name')
    r = app.get('/v2/executions/%s?fields=state' % ids[0])
    assert r.json == {'id': ids[0], 'state': 'RUNNING'}
    app.get('/v2/executions/%s?fields=bad' % ids[0], status=400)


def test_output_only_on_request(app: Any) -> None:
    _executions(app, 1)
    entry = app.get('/v2/executions').json['executions'][0]
    assert 'output' not in entry and 'published_global' not in entry
    entry = app.get('/v2/executions?include_output=true'
                    ).json['executions'][0]
    assert entry['output'] == '{}'
    one = app.get('/v2/executions/%s' % entry['id']).json
    assert one['output'] == '{}' and one['published_global'] == '{}'


def test_filter_operators(app: Any) -> None:
    ids = _executions(app, 4)
    with db_api.transaction() as session:
        session.execute(sa.update(models.WorkflowExecution).where(
            models.WorkflowExecution.id == ids[0]).values(state='ERROR'))
        session.execute(sa.update(models.WorkflowExecution).where(
            models.WorkflowExecution.id == ids[1]).values(
            state='SUCCESS', root_execution_id=ids[0]))

    def found(query: str) -> list[str]:
        r = app.get('/v2/executions?' + query)
        return [e['id'] for e in r.json['executions']]

    assert found('state=ERROR') == [ids[0]]
    assert found('state=eq:ERROR') == [ids[0]]
    assert found('state=neq:RUNNING') == ids[:2]
    assert found('state=in:ERROR,SUCCESS') == ids[:2]
    assert found('state=nin:ERROR,SUCCESS') == ids[2:]
    assert found('description=has:n 3') == [ids[3]]
    assert found('created_at=gt:2026-01-01 00:01:00') == ids[2:]
    assert found('created_at=gte:2026-01-01 00:01:00') == ids[1:]
    assert found('created_at=lt:2026-01-01 00:01:00') == [ids[0]]
    assert found('created_at=lte:2026-01-01 00:01:00') == ids[:2]
    assert found('nulls=root_execution_id') == [ids[0]] + ids[2:]
    assert found('root_execution_id=%s' % ids[0]) == [ids[1]]
    assert found('tags=t1') == ids
    assert found('tags=t1,other') == []
    r = app.get('/v2/executions?state=ERROR&limit=1')
    assert r.json['next'] == (
        'http://localhost/v2/executions?sort_keys=created_at,id&'
        'sort_dirs=asc,asc&state=ERROR&limit=1&marker=%s' % ids[0])


def test_other_projects_rows_are_hidden(app: Any) -> None:
    ids = _executions(app, 2)
    with db_api.transaction() as session:
        session.execute(sa.update(models.WorkflowExecution).where(
            models.WorkflowExecution.id == ids[1]).values(
            project_id='other'))
    r = app.get('/v2/executions')
    assert [e['id'] for e in r.json['executions']] == [ids[0]]
    app.get('/v2/executions/%s' % ids[1], status=404)
    r = app.get('/v2/executions?all_projects=true', status=403)
    assert r.json['faultcode'] == 'Client'


def test_one_query_per_page(app: Any) -> None:
    ids = _executions(app, 3)
    for ex_id in ids:
        c.add_task(ex_id, results=['a', 'b'])
    statements: list[str] = []
    engine = db_api.get_engine()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith('SELECT'):
            statements.append(statement)

    sa.event.listen(engine, 'before_cursor_execute', count)
    try:
        r = app.get('/v2/tasks?fields=name,result')
    finally:
        sa.event.remove(engine, 'before_cursor_execute', count)
    assert len(r.json['tasks']) == 3
    # The page, then the results of all its tasks (actions, sub-workflows).
    assert len(statements) == 3, statements
