"""Workbooks, actions and environments."""

from __future__ import annotations

from typing import Any

WB = """version: '2.0'
name: wb1
workflows:
  w:
    tasks:
      a:
        action: act1
actions:
  act1:
    base: std.echo output=1
"""

ACTIONS = """---
version: '2.0'
my_echo:
  description: Echoes.
  input:
    - text
    - flag: true
  base: std.echo output=<% $.text %>
"""


def test_workbook_lifecycle(app: Any) -> None:
    r = app.post('/v2/workbooks', WB, headers={'Content-Type': 'text/plain'})
    assert r.status_int == 201
    wb = r.json
    assert wb['name'] == 'wb1' and wb['definition'] == WB
    assert 'updated_at' not in wb and wb['tags'] == []
    got = app.get('/v2/workbooks/wb1').json
    assert got['id'] == wb['id'] and got['updated_at'] is None
    r = app.get('/v2/workflows?name=wb1.w&fields=name,namespace')
    assert [w['name'] for w in r.json['workflows']] == ['wb1.w']
    action = app.get('/v2/actions/wb1.act1').json
    assert action['name'] == 'wb1.act1' and action['is_system'] is False
    assert action['scope'] == 'private'
    app.post('/v2/workbooks', WB, status=409)
    r = app.put('/v2/workbooks', WB.replace('output=1', 'output=2'))
    assert r.status_int == 200 and r.json['updated_at']
    assert 'output=2' in app.get('/v2/actions/wb1.act1').json['definition']
    assert [w['name'] for w in app.get('/v2/workbooks').json[
        'workbooks']] == ['wb1']
    assert app.post('/v2/workbooks/validate', WB).json == {'valid': True}
    assert app.post('/v2/workbooks/validate',
                    'version: "2.0"\n').json['valid'] is False
    app.delete('/v2/workbooks/wb1', status=204)
    app.get('/v2/workbooks/wb1', status=404)
    # Its workflows and actions stay (as upstream).
    app.get('/v2/workflows/wb1.w', status=200)
    app.get('/v2/actions/wb1.act1', status=200)


def test_workbook_takes_over_existing_definitions(app: Any) -> None:
    wf = app.post('/v2/workflows', "version: '2.0'\nwb1.w:\n  tasks:\n"
                  "    a:\n      action: std.noop\n", status=201
                  ).json['workflows'][0]
    app.post('/v2/workbooks', WB, status=201)
    got = app.get('/v2/workflows/wb1.w').json
    assert got['id'] == wf['id'] and got['created_at'] == wf['created_at']
    assert 'act1' in got['definition'] and got['updated_at']
    app.get('/v2/actions/wb1.act1', status=200)


def test_system_actions(app: Any) -> None:
    echo = app.get('/v2/actions/std.echo').json
    assert echo['id'] == 'std.echo' and echo['is_system'] is False
    assert echo['input'] == 'output, delay=0'
    assert echo['created_at'] == '' and echo['scope'] is None
    assert app.get('/v2/actions/std.echo/').json['name'] == 'std.echo'
    r = app.get('/v2/actions?limit=2')
    names = [a['name'] for a in r.json['actions']]
    assert names == sorted(names) and len(names) == 2
    assert r.json['next'] == (
        'http://localhost/v2/actions?sort_keys=name,id&sort_dirs=asc,asc&'
        'namespace=eq:&limit=2&marker=%s' % names[1])
    r2 = app.get('/v2/actions?limit=2&marker=%s' % names[1])
    assert r2.json['actions'][0]['name'] > names[1]
    r = app.get('/v2/actions?name=std.echo&fields=name,input')
    assert r.json['actions'] == [{'id': 'std.echo', 'name': 'std.echo',
                                  'input': 'output, delay=0'}]
    # Provider actions are no definitions: nothing to delete (upstream).
    r = app.delete('/v2/actions/std.echo', status=404)
    assert 'std.echo' in r.json['faultstring']
    app.get('/v2/actions/no.such.action', status=404)


def test_adhoc_actions(app: Any) -> None:
    r = app.post('/v2/actions', ACTIONS,
                 headers={'Content-Type': 'text/plain'})
    assert r.status_int == 201
    act = r.json['actions'][0]
    assert act['name'] == 'my_echo' and act['input'] == 'text, flag=true'
    assert act['description'] == 'Echoes.' and 'updated_at' not in act
    assert app.get('/v2/actions/my_echo').json['id'] == act['id']
    assert app.get('/v2/actions/%s' % act['id']).json['name'] == 'my_echo'
    r = app.get('/v2/actions?name=has:my_')
    assert [a['name'] for a in r.json['actions']] == ['my_echo']
    app.post('/v2/actions', ACTIONS, status=409)
    r = app.put('/v2/actions', ACTIONS.replace('Echoes.', 'Again.'))
    assert r.json['actions'][0]['description'] == 'Again.'
    assert app.post('/v2/actions/validate', ACTIONS).json == {'valid': True}
    app.delete('/v2/actions/my_echo/', status=204)
    app.get('/v2/actions/my_echo', status=404)
    r = app.post('/v2/actions', ACTIONS.replace('my_echo', 'std.echo'),
                 status=400)
    assert list(r.json) == ['faultstring']


def test_environments(app: Any) -> None:
    r = app.post_json('/v2/environments', {
        'name': 'env1', 'description': 'e', 'variables': '{"a": 1}'},
        status=201)
    env = r.json
    assert env['variables'] == '{"a": 1}' and 'updated_at' not in env
    assert env['scope'] == 'private'
    got = app.get('/v2/environments/env1').json
    assert got['updated_at'] is None and got['id'] == env['id']
    app.post_json('/v2/environments', {'name': 'env1'}, status=409)
    app.post_json('/v2/environments', {'name': 'x', 'id': 'y'}, status=400)
    app.post_json('/v2/environments', {'name': 'x', 'foo': 1}, status=400)
    r = app.put_json('/v2/environments', {'name': 'env1',
                                          'variables': {'b': 2}})
    assert r.json['variables'] == '{"b": 2}' and r.json['updated_at']
    app.put_json('/v2/environments', {'name': 'nope'}, status=404)
    r = app.get('/v2/environments?fields=name')
    assert r.json['environments'] == [{'id': env['id'], 'name': 'env1'}]
    app.delete('/v2/environments/env1', status=204)
    app.get('/v2/environments/env1', status=404)
