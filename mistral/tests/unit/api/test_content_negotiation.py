"""Accept and Content-Type handling as upstream Mistral 23.0.0's.

Every status code here was observed on a live upstream server (noauth)
for the same request. Upstream's exposures decide: definition bodies
(POST/PUT of workflows, workbooks, actions) are served as text/plain, so
``Accept: text/plain`` works and ``Accept: application/json`` is a 406;
``/validate``, ``/info`` and ``GET /maintenance`` are JSON only; WSME
endpoints (and the execution report) answer JSON or XML. The bodies of
pecan's own errors differ on purpose: ours are JSON with a faultstring
(doc/source/user/differences.rst).
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as et

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db import models
from mistral.tests.unit.api import conftest as c
from mistral.tests.unit.api import test_execution_tree as trees

WF = """version: '2.0'
wf1:
  tasks:
    t1:
      action: std.noop
"""

WB = """version: '2.0'
name: wb
workflows:
  wf1:
    tasks:
      t1:
        action: std.noop
"""

ACTION = """version: '2.0'
a1:
  base: std.echo
  base-input:
    output: hi
"""

# Accept header (None: not sent) -> served?
TEXT_ENDPOINT = {'text/plain': True, '*/*': True, None: True,
                 'application/json': False, 'text/html': False,
                 'application/xml': False}
JSON_ENDPOINT = {'application/json': True, '*/*': True, None: True,
                 'text/plain': False, 'text/html': False,
                 'application/xml': False}


def _headers(accept: str | None, ctype: str | None = 'text/plain'
             ) -> dict[str, str]:
    out = {}
    if accept is not None:
        out['Accept'] = accept
    if ctype is not None:
        out['Content-Type'] = ctype
    return out


def _check_406(r: Any, accept: str) -> None:
    assert r.status_int == 406
    body = r.json
    assert 'Not Acceptable' in body['faultstring']
    assert accept in body['faultstring']
    if accept == 'application/json':
        # pecan's JSON error body, as upstream's, with a faultstring.
        assert body['code'] == 406 and body['title'] == 'Not Acceptable'


@pytest.mark.parametrize('accept', list(TEXT_ENDPOINT))
@pytest.mark.parametrize('ctype', ['text/plain', 'application/json',
                                   'application/x-yaml', None])
@pytest.mark.parametrize('path,text,key', [
    ('/v2/workflows', WF, 'workflows'),
    ('/v2/workbooks', WB, 'name'),
    ('/v2/actions', ACTION, 'actions')])
def test_definition_create_and_update(app: Any, path: str, text: str,
                                      key: str, ctype: str | None,
                                      accept: str | None) -> None:
    r = app.post(path, text, headers=_headers(accept, ctype),
                 expect_errors=True)
    if not TEXT_ENDPOINT[accept]:
        _check_406(r, accept)
        # Nothing was created: a create that is served now succeeds.
        r = app.post(path, text, headers=_headers(None), status=201)
    else:
        assert r.status_int == 201, r.text
        assert r.content_type == 'application/json'
        assert key in r.json
    r = app.put(path, text, headers=_headers(accept, ctype),
                expect_errors=True)
    if not TEXT_ENDPOINT[accept]:
        _check_406(r, accept)
    else:
        assert r.status_int == 200, r.text
        assert r.content_type == 'application/json'
        assert key in r.json


@pytest.mark.parametrize('accept', list(JSON_ENDPOINT))
@pytest.mark.parametrize('path,text', [
    ('/v2/workflows/validate', WF), ('/v2/workbooks/validate', WB),
    ('/v2/actions/validate', ACTION)])
def test_validate(app: Any, path: str, text: str, accept: str | None
                  ) -> None:
    for body, valid in ((text, True), ('foo: [', False)):
        r = app.post(path, body, headers=_headers(accept),
                     expect_errors=True)
        if JSON_ENDPOINT[accept]:
            assert r.status_int == 200
            assert r.content_type == 'application/json'
            assert r.json['valid'] is valid
        else:
            _check_406(r, accept)


@pytest.mark.parametrize('accept', list(JSON_ENDPOINT))
def test_maintenance_get_is_json_only(app: Any, accept: str | None
                                      ) -> None:
    r = app.get('/maintenance', headers=_headers(accept, None),
                expect_errors=True)
    if JSON_ENDPOINT[accept]:
        assert r.status_int == 200
        assert r.json == {'status': 'RUNNING'}
    else:
        _check_406(r, accept)


def test_info_is_json(app: Any, conf: Any, tmp_path: Any) -> None:
    path = tmp_path / 'info.json'
    path.write_text(json.dumps({'version': 'x'}))
    conf('enable_info_endpoint', True, group='api')
    conf('info_json_file_path', str(path), group='api')
    for accept in ('application/json', '*/*', None):
        r = app.get('/info', headers=_headers(accept, None))
        assert r.json == {'version': 'x'}
    _check_406(app.get('/info', headers={'Accept': 'text/plain'},
                       status=406), 'text/plain')


def test_report_answers_json_or_xml(app: Any) -> None:
    ids = trees._tree(app)
    path = '/v2/executions/%s/report' % ids['parent']
    for accept in ('application/json', '*/*', None):
        r = app.get(path, headers=_headers(accept, None))
        assert r.content_type == 'application/json'
        root = r.json['root_workflow_execution']
        # Upstream's key order (its resources' attribute order).
        assert list(root) == ['id', 'name', 'created_at', 'updated_at',
                              'state', 'state_info', 'task_executions']
        [task] = root['task_executions']
        assert list(task)[:3] == ['action_executions',
                                  'workflow_executions', 'id']
        assert list(task['action_executions'][0])[:3] == [
            'accepted', 'last_heartbeat', 'id']
    for accept in ('application/xml', 'text/xml'):
        r = app.get(path, headers={'Accept': accept})
        assert r.content_type == accept
        doc = et.fromstring(r.body)
        assert doc.tag == 'result'
        assert doc.find('statistics/total_tasks_count').text == '2'
        root = doc.find('root_workflow_execution')
        assert root.find('id').text == ids['parent']
        assert root.find('state_info').get('nil') == 'true'
        item = root.find('task_executions/item')
        assert item.find('name').text == 't1'
        assert item.find('action_executions/item/accepted').text == 'true'
        sub = item.find('workflow_executions/item')
        assert sub.find('id').text == ids['child']
    _check_406(app.get(path, headers={'Accept': 'text/plain'}, status=406),
               'text/plain')


@pytest.mark.parametrize('path,key', [
    ('/v2/workflows', 'workflows'), ('/v2/executions', 'executions'),
    ('/v2/actions?name=std.noop', 'actions'), ('/v2/tasks', 'tasks')])
def test_lists_in_xml(app: Any, path: str, key: str) -> None:
    c.create_wf(app)
    ex = app.post_json('/v2/executions', {'workflow_name': 'wf1'}).json
    c.add_task(ex['id'], results=['a'])
    r = app.get(path, headers={'Accept': 'application/xml'})
    assert r.content_type == 'application/xml'
    doc = et.fromstring(r.body)
    items = doc.findall('%s/item' % key)
    assert items, r.text
    listed = app.get(path).json[key]
    assert [i.find('id').text for i in items] == [e['id'] for e in listed]
    first = items[0]
    # Elements in the order of the JSON keys, nulls as nil="true".
    assert [e.tag for e in first] == list(listed[0])
    for name, value in listed[0].items():
        if value is None:
            assert first.find(name).get('nil') == 'true'
        elif isinstance(value, bool):
            assert first.find(name).text == str(value).lower()


def test_xml_errors_keep_their_faultstring(app: Any) -> None:
    r = app.get('/v2/workflows/nope', headers={'Accept': 'application/xml'},
                status=404)
    assert r.content_type == 'application/xml'
    fault = et.fromstring(r.body).find('faultstring').text
    assert 'Workflow not found' in fault and 'nope' in fault
    r = app.post('/v2/environments', '{"name": "e"}',
                 headers={'Accept': 'application/xml',
                          'Content-Type': 'text/plain'}, status=415)
    assert 'text/plain' in et.fromstring(r.body).find('faultstring').text


def test_running_task_result_is_an_empty_list(app: Any) -> None:
    # Upstream: a task with no finished action or sub-workflow has the
    # result [] (a RUNNING task, a task whose sub-workflow still runs).
    ids = trees._tree(app)
    task = c.add_task(ids['parent'], name='t2', state='RUNNING')
    assert app.get('/v2/tasks/%s' % task).json['result'] == '[]'
    with db_api.transaction() as session:
        session.get(models.WorkflowExecution, ids['child']).state = \
            'RUNNING'
        session.execute(sa.delete(models.ActionExecution).where(
            models.ActionExecution.task_execution_id == ids['t1']))
    assert app.get('/v2/tasks/%s' % ids['t1']).json['result'] == '[]'
    with db_api.transaction() as session:
        session.get(models.WorkflowExecution, ids['child']).state = 'ERROR'
    assert json.loads(app.get('/v2/tasks/%s' % ids['t1']).json['result']) \
        == {'o': 1}
