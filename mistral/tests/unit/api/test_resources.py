"""Wire format and status codes of the core endpoints."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from mistral import exceptions as exc
from mistral.db import api as db_api
from mistral.db import models
from mistral.tests.unit.api import conftest as c

TWO_WFS = """---
version: '2.0'
wa:
  tasks:
    a:
      action: std.noop
wb:
  input: [x]
  tasks:
    b:
      action: std.noop
"""


def test_root_and_versions(app: Any) -> None:
    r = app.get('/')
    assert r.json == {'versions': [{
        'id': 'v2.0', 'status': 'CURRENT',
        'links': [{'href': 'http://localhost/v2', 'target': 'v2',
                   'rel': 'self'}]}]}
    assert app.get('/v2/').json == {'uri': 'http://localhost/v2'}
    assert app.get('/v2', status=302).headers['Location'] == \
        'http://localhost/v2/'
    app.get('/v2/services', status=404)


def test_xml_bodies_are_refused(app: Any) -> None:
    for ctype in ('application/xml', 'text/xml', 'application/atom+xml'):
        r = app.post('/v2/executions', '<x/>', status=415,
                     headers={'Content-Type': ctype})
        assert r.headers['Server-Error-Message'] == \
            'XML request bodies are not supported.'


def test_workflow_create_wire_format(app: Any) -> None:
    r = c.create_wf(app)
    assert r.status_int == 201
    assert r.headers['Content-Type'].startswith('application/json')
    wf = r.json['workflows'][0]
    assert 'updated_at' not in wf
    assert wf['interface'] == {'input': ['name', {'greeting': 'Hello'}],
                               'output': ['msg']}
    assert wf['input'] == 'name, greeting="Hello"'
    assert wf['definition'] == c.WF
    assert wf['tags'] == ['t1'] and wf['scope'] == 'private'
    assert wf['project_id'] == '<default-project>'
    assert len(wf['checksum']) == 32
    got = app.get('/v2/workflows/%s' % wf['id']).json
    assert got['interface'] == (
        '{"input": ["name", {"greeting": "Hello"}], "output": ["msg"]}')
    assert got['updated_at'] is None
    assert app.get('/v2/workflows/wf1').json['id'] == wf['id']


def test_workflow_text_errors(app: Any) -> None:
    c.create_wf(app)
    r = app.post('/v2/workflows', c.WF, status=409,
                 headers={'Content-Type': 'text/plain'})
    assert r.json == {'faultstring': (
        "Duplicate entry for WorkflowDefinition ['name', 'namespace', "
        "'project_id']: wf1, , <default-project>")}
    r = app.post('/v2/workflows', 'version: "2.0"\nbad: [1]', status=400,
                 headers={'Content-Type': 'text/plain'})
    assert list(r.json) == ['faultstring']
    r = app.post('/v2/workflows?scope=public', c.WF, status=403)
    assert 'faultstring' in r.json
    r = app.post('/v2/workflows?scope=nope', c.WF, status=400)


def test_workflow_namespace_multi_and_update(app: Any) -> None:
    r = app.post('/v2/workflows?namespace=ns1', TWO_WFS,
                 headers={'Content-Type': 'application/json'})
    wfs = r.json['workflows']
    assert [w['name'] for w in wfs] == ['wa', 'wb']
    assert all(w['namespace'] == 'ns1' for w in wfs)
    assert wfs[1]['input'] == 'x'
    app.get('/v2/workflows/wa', status=404)
    assert app.get('/v2/workflows/wa?namespace=ns1').json['name'] == 'wa'
    r = app.get('/v2/workflows?namespace=ns1&fields=name')
    assert [w['name'] for w in r.json['workflows']] == ['wa', 'wb']
    r = app.put('/v2/workflows?namespace=ns1', TWO_WFS)
    assert r.status_int == 200
    assert [w['id'] for w in r.json['workflows']] == [
        w['id'] for w in wfs]
    # The same definitions: nothing changed, updated_at stays null.
    assert [w['updated_at'] for w in r.json['workflows']] == [None, None]
    r = app.put('/v2/workflows?namespace=ns1',
                TWO_WFS.replace('std.noop', 'std.echo output=1', 1))
    assert r.json['workflows'][0]['updated_at']
    assert r.json['workflows'][1]['updated_at'] is None
    r = app.put('/v2/workflows/%s?namespace=ns1' % wfs[0]['id'],
                TWO_WFS, status=400)
    single = TWO_WFS.split('wb:')[0]
    r = app.put('/v2/workflows/%s?namespace=ns1' % wfs[0]['id'], single)
    assert r.json['id'] == wfs[0]['id']
    app.delete('/v2/workflows/wa?namespace=ns1', status=204)
    app.delete('/v2/workflows/wa?namespace=ns1', status=404)


def test_validate_endpoint(app: Any) -> None:
    r = app.post('/v2/workflows/validate', c.WF,
                 headers={'Content-Type': 'text/plain'})
    assert r.json == {'valid': True}
    r = app.post('/v2/workflows/validate',
                 'version: "2.0"\nwf:\n  tasks: {}\n')
    assert r.json['valid'] is False and r.json['error']


def test_execution_create_errors(app: Any, engine: Any) -> None:
    c.create_wf(app)
    r = app.post_json('/v2/executions', {'workflow_name': 'wf1', 'x': 1},
                      status=400)
    assert r.json['faultstring'] == \
        'Unknown attribute for argument wf_ex: x'
    r = app.post_json('/v2/executions', {'description': 'no wf'},
                      status=400)
    assert r.json['faultcode'] == 'Client'
    r = app.post_json('/v2/executions', {'workflow_name': 'nope'},
                      status=404)
    assert 'nope' in r.json['faultstring']

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError('secret details')

    engine.start_workflow = boom
    r = app.post_json('/v2/executions', {'workflow_name': 'wf1'},
                      status=500)
    assert r.json['faultcode'] == 'Server'
    assert 'secret' not in r.text and 'Traceback' not in r.text

    def invalid(*_a: Any, **_k: Any) -> None:
        raise exc.InputException('Invalid input [name=x]')

    engine.start_workflow = invalid
    r = app.post_json('/v2/executions', {'workflow_name': 'wf1'},
                      status=400)
    assert r.json['faultstring'] == 'Invalid input [name=x]'


def test_execution_create_arguments(app: Any, engine: Any) -> None:
    c.create_wf(app)
    r = app.post_json('/v2/executions', {
        'id': '11111111-2222-3333-4444-555555555555',
        'workflow_name': 'wf1', 'workflow_namespace': '',
        'input': '{"name": "Bob"}',
        'params': '{"env": {"a": 1}, "task_name": "t1"}',
        'description': 'd'}, status=201)
    assert r.json['id'] == '11111111-2222-3333-4444-555555555555'
    name, args, kw = engine.calls[-1]
    assert args == ('wf1',)
    assert kw['wf_ex_id'] == r.json['id']
    assert kw['wf_input'] == {'name': 'Bob'}
    assert kw['params'] == {'env': {'a': 1}, 'task_name': 't1'}
    # Same id again: the existing execution, no new start.
    count = len(engine.calls)
    again = app.post_json('/v2/executions', {
        'id': r.json['id'], 'workflow_name': 'wf1'}, status=201)
    assert again.json['id'] == r.json['id'] and len(engine.calls) == count
    # From a source execution: same workflow, input and params.
    r2 = app.post_json('/v2/executions', {
        'source_execution_id': r.json['id']}, status=201)
    kw = engine.calls[-1][2]
    assert kw['wf_input'] == {'name': 'Bob'}
    assert kw['params']['env'] == {'a': 1}
    assert r.json['id'] in r2.json['description']


def test_execution_update_rules(app: Any, engine: Any) -> None:
    c.create_wf(app)
    ex = app.post_json('/v2/executions', {'workflow_name': 'wf1'}).json
    url = '/v2/executions/%s' % ex['id']
    r = app.put_json(url, {}, status=400)
    assert r.json['faultstring'] == (
        'The property state, description, or env is not provided for '
        'update.')
    app.put_json(url, {'state': 'PAUSED', 'description': 'x'}, status=400)
    r = app.put_json(url, {'params': {'env': {'a': 1}}}, status=403)
    assert 'IDLE, PAUSED, or ERROR' in r.json['faultstring']
    app.put_json(url, {'state': 'PAUSED'}, status=200)
    r = app.put_json(url, {'params': '{"env": {"a": 1}}'}, status=200)
    assert '"a": 1' in r.json['params']
    r = app.put_json(url, {'state': 'RUNNING', 'params': {'env': {'b': 2}}})
    assert engine.calls[-1] == ('resume_workflow', (ex['id'],),
                                {'env': {'b': 2}})
    r = app.put_json(url, {'state': 'ERROR', 'state_info': 'why'})
    assert engine.calls[-1] == ('stop_workflow', (ex['id'], 'ERROR'),
                                {'message': 'why'})
    assert r.json['state'] == 'ERROR'
    app.put_json(url, {'state': 'BOGUS'}, status=400)
    app.put_json('/v2/executions/missing', {'state': 'PAUSED'}, status=404)


def test_execution_delete(app: Any) -> None:
    c.create_wf(app)
    ex = app.post_json('/v2/executions', {'workflow_name': 'wf1'}).json
    c.add_task(ex['id'], results=['x'])
    r = app.delete('/v2/executions/%s' % ex['id'], status=403)
    assert r.json['faultstring'].startswith(
        'Only completed executions can be deleted.')
    app.delete('/v2/executions/%s?force=true' % ex['id'], status=204)
    app.get('/v2/executions/%s' % ex['id'], status=404)
    with db_api.read_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(
            models.ActionExecution)).scalar() == 0


def test_tasks(app: Any, engine: Any) -> None:
    c.create_wf(app)
    ex = app.post_json('/v2/executions', {'workflow_name': 'wf1'}).json
    plain = c.add_task(ex['id'], name='a', results=['hello'])
    items = c.add_task(ex['id'], name='b',
                       runtime_context={'with_items': {'count': 3}},
                       results=[1, 2, 3])
    failed = c.add_task(ex['id'], name='c', state='ERROR', results=['x'])
    r = app.get('/v2/executions/%s/tasks' % ex['id'])
    entries = r.json['tasks']
    assert [t['name'] for t in entries] == ['a', 'b', 'c']
    assert all('result' not in t for t in entries)
    assert entries[0]['published'] == '{"msg": "x"}'
    assert entries[0]['runtime_context'] == '{}'
    assert app.get('/v2/tasks/%s' % plain).json['result'] == '"hello"'
    assert app.get('/v2/tasks/%s' % items).json['result'] == '[1, 2, 3]'
    app.get('/v2/executions/missing/tasks', status=400)
    app.get('/v2/executions/%s/tasks' % uuid.uuid4(), status=404)
    r = app.get('/v2/tasks?workflow_execution_id=%s&name=b' % ex['id'])
    assert [t['id'] for t in r.json['tasks']] == [items]
    r = app.get('/v2/tasks/%s/action_executions' % plain)
    aex = r.json['action_executions']
    assert [a['name'] for a in aex] == ['std.echo']
    assert 'output' not in aex[0] and aex[0]['input'] == \
        '{"output": "hello"}'
    one = app.get('/v2/tasks/%s/action_executions/%s'
                  % (plain, aex[0]['id'])).json
    assert one['output'] == '{"result": "hello"}'
    app.get('/v2/tasks/%s/action_executions/%s' % (items, aex[0]['id']),
            status=404)
    url = '/v2/tasks/%s' % failed
    r = app.put_json(url, {'state': 'RUNNING'}, status=400)
    assert r.json['faultstring'] == 'Reset field is mandatory to rerun task.'
    app.put_json('/v2/tasks/%s' % plain, {'state': 'RUNNING',
                                           'reset': True}, status=400)
    app.put_json(url, {'state': 'RUNNING', 'reset': False}, status=400)
    r = app.put_json(url, {'id': failed, 'state': 'RUNNING', 'reset': True,
                           'env': '{"k": 1}'})
    assert engine.calls[-1] == ('rerun_workflow', (failed,), {
        'reset': True, 'skip': False, 'env': {'k': 1}})
    assert r.json['id'] == failed


def test_action_executions(app: Any, engine: Any) -> None:
    r = app.post_json('/v2/action_executions', {
        'name': 'std.echo', 'input': '{"output": "hi"}',
        'params': '{"save_result": false, "run_sync": true}'}, status=201)
    assert r.json['id'] is None and r.json['output'] == '{"result": "hi"}'
    assert r.json['created_at'] is None
    saved = app.post_json('/v2/action_executions', {
        'name': 'std.echo', 'input': {'output': 'hi'},
        'params': {'save_result': True}}, status=201).json
    assert saved['state'] == 'RUNNING' and saved['output'] is None
    url = '/v2/action_executions/%s' % saved['id']
    r = app.put_json(url, {'state': 'ERROR'})
    assert engine.calls[-1][2] == {'result': {'error': 'Unknown error'}}
    app.put_json(url, {'state': 'CANCELLED'})
    assert engine.calls[-1][2] == {'result': {'cancel': True}}
    app.put_json(url, {'state': 'PAUSED'})
    assert engine.calls[-1] == ('on_action_update', (saved['id'],
                                                     'PAUSED'), {})
    app.put_json(url, {'state': 'WHAT'}, status=400)
    r = app.get('/v2/action_executions')
    assert [a['id'] for a in r.json['action_executions']] == [saved['id']]
    assert 'output' not in r.json['action_executions'][0]
    r = app.get('/v2/action_executions?include_output=true')
    assert 'output' in r.json['action_executions'][0]
    app.post_json('/v2/action_executions', {'input': {}}, status=400)
    app.delete(url, status=403)


def test_info_endpoint(app: Any, tmp_path: Any) -> None:
    from oslo_config import cfg

    conf = cfg.CONF
    r = app.get('/info', status=400)
    assert r.json['faultcode'] == 'Client'
    info = tmp_path / 'info.json'
    info.write_text('{"version": "x"}')
    conf.set_override('enable_info_endpoint', True, group='api')
    conf.set_override('info_json_file_path', str(info), group='api')
    try:
        assert app.get('/info').json == {'version': 'x'}
    finally:
        conf.clear_override('enable_info_endpoint', group='api')
        conf.clear_override('info_json_file_path', group='api')


def test_proxy_headers_change_links(app: Any) -> None:
    from oslo_config import cfg

    cfg.CONF.set_override('enable_proxy_headers_parsing', True,
                          group='oslo_middleware')
    try:
        r = app.get('/v2/', headers={'X-Forwarded-Proto': 'https',
                                     'X-Forwarded-Host': 'wf.example'})
        assert r.json == {'uri': 'https://wf.example/v2'}
    finally:
        cfg.CONF.clear_override('enable_proxy_headers_parsing',
                                group='oslo_middleware')


def test_published_global(app: Any) -> None:
    c.create_wf(app)
    ex = app.post_json('/v2/executions', {'workflow_name': 'wf1'}).json
    with db_api.transaction() as session:
        row = session.get(models.WorkflowExecution, ex['id'])
        row.runtime_context = {'published_global': {'g': 1}}
        row.context = {'g': 1, 'counter': 0}
    one = app.get('/v2/executions/%s' % ex['id']).json
    assert one['published_global'] == '{"g": 1}'
    r = app.get('/v2/executions/%s?fields=published_global' % ex['id'])
    assert r.json == {'id': ex['id'], 'published_global': '{"g": 1}'}


def test_bad_bodies(app: Any) -> None:
    for body in ('abc', '[1]', '"x"'):
        r = app.post('/v2/executions', body, status=400,
                     headers={'Content-Type': 'application/json'})
        assert r.json['faultcode'] == 'Client'
    r = app.post('/v2/workflows', b'\xff\xfe', status=400)
    assert list(r.json) == ['faultstring']
    r = app.get('/v2/executions?unknown=1', status=400)
    assert r.json['faultcode'] == 'Client'


def test_workflow_fields_follow_the_spec(app: Any) -> None:
    wf = c.create_wf(app).json['workflows'][0]
    r = app.get('/v2/workflows?limit=1&fields=name,input')
    assert r.json == {
        'workflows': [{
            'id': wf['id'], 'name': 'wf1',
            'input': 'name, greeting="Hello"',
            'interface': '{"input": ["name", {"greeting": "Hello"}], '
                         '"output": ["msg"]}'}],
        'next': 'http://localhost/v2/workflows?sort_keys=created_at,id&'
                'sort_dirs=asc,asc&limit=1&marker=%s&fields=id,name,spec'
                % wf['id']}


def test_cors_only_when_an_origin_is_allowed(app: Any) -> None:
    import webtest
    from oslo_config import cfg

    from mistral.api import app as api_app

    asked = {'Origin': 'https://ui.example'}
    r = app.get('/v2/workflows', headers=asked)
    assert 'Access-Control-Allow-Origin' not in r.headers
    cfg.CONF.set_override('allowed_origin', ['https://ui.example'],
                          group='cors')
    try:
        with_cors = webtest.TestApp(api_app.setup_app())
        r = with_cors.get('/v2/workflows', headers=asked)
        assert r.headers['Access-Control-Allow-Origin'] == \
            'https://ui.example'
        r = with_cors.get('/v2/workflows',
                          headers={'Origin': 'https://other.example'})
        assert 'Access-Control-Allow-Origin' not in r.headers
    finally:
        cfg.CONF.clear_override('allowed_origin', group='cors')
