"""Exchanges whose answers must be upstream Mistral 23.0.0's.

Each test states what upstream answered to the same requests (observed on
a live upstream server, noauth, PostgreSQL) and checks that we answer the
same: status codes, which keys an answer has, null vs "" vs missing. The
expectations are written here, not fetched: CI has no upstream server.
Where we answer differently on purpose, doc/source/user/differences.rst
says so and the test says why.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from mistral.db import api as db_api
from mistral.db import models
from mistral.tests.unit.api import conftest as c
from mistral.utils import timeutils

TEXT = {'Content-Type': 'text/plain'}

WB = """version: '2.0'
name: wb
actions:
  act1:
    base: std.echo
    base-input:
      output: hi
workflows:
  wf1:
    tasks:
      t1:
        action: std.noop
"""

ACTIONS = """---
version: '2.0'
a1:
  base: std.echo
  base-input:
    output: hi
a2:
  description: two
  input:
    - a
    - b: 2
    - c: x
    - d: true
    - e: null
    - f: [1, 2]
  base: std.echo
  base-input:
    output: <% $.a %>
"""

ONE_ACTION = """version: '2.0'
a1:
  base: std.echo
  base-input:
    output: hi
"""

WF = """version: '2.0'
wf1:
  input: [x]
  tasks:
    t1:
      action: std.noop
"""


def post(app: Any, path: str, text: str, status: int = 201) -> Any:
    return app.post(path, text, headers=TEXT, status=status)


def put(app: Any, path: str, text: str, status: int = 200) -> Any:
    return app.put(path, text, headers=TEXT, status=status)


# 1. Deleting a workbook deletes the workbook row only.

def test_deleting_a_workbook_leaves_its_workflows_and_actions(app: Any
                                                             ) -> None:
    post(app, '/v2/workbooks', WB)
    wf = app.get('/v2/workflows/wb.wf1').json
    act = app.get('/v2/actions/wb.act1').json
    app.delete('/v2/workbooks/wb', status=204)
    app.get('/v2/workbooks/wb', status=404)
    # Upstream: GET /workflows/wb.wf1 and /actions/wb.act1 -> 200.
    assert app.get('/v2/workflows/wb.wf1').json['id'] == wf['id']
    assert app.get('/v2/actions/wb.act1').json['id'] == act['id']
    # Creating it again over them: 201, the rows are reused (same id and
    # created_at) and, being unchanged, keep updated_at null.
    r = post(app, '/v2/workbooks', WB)
    assert r.status_int == 201 and 'updated_at' not in r.json
    again = app.get('/v2/workflows/wb.wf1').json
    assert (again['id'], again['created_at'], again['updated_at']) == (
        wf['id'], wf['created_at'], None)
    assert app.get('/v2/actions/wb.act1').json['id'] == act['id']
    # A second create is still a conflict (tempest
    # test_double_create_workbook), and the list is empty after delete.
    post(app, '/v2/workbooks', WB, status=409)
    app.delete('/v2/workbooks/wb', status=204)
    assert app.get('/v2/workbooks').json['workbooks'] == []


# 2. Event triggers name their workflow by UUID.

def test_event_trigger_workflow_id_must_be_a_uuid(app: Any) -> None:
    wf_id = post(app, '/v2/workflows', WF).json['workflows'][0]['id']
    body = {'workflow_id': 'wf1', 'exchange': 'x', 'topic': 't',
            'event': 'e', 'workflow_input': {'x': 1}}
    # Upstream: 400 "Expected a uuid but received wf1." (a name is not
    # looked up, even when a workflow has that name).
    r = app.post_json('/v2/event_triggers', body, status=400)
    assert 'workflow_id' in r.json['faultstring']
    assert "'wf1'" in r.json['faultstring']
    # A UUID of no workflow: 404; the workflow's id: 201.
    app.post_json('/v2/event_triggers',
                  dict(body, workflow_id=str(uuid.uuid4())), status=404)
    et = app.post_json('/v2/event_triggers',
                       dict(body, workflow_id=wf_id), status=201).json
    # Its id in the path is a UUID too: 400 for anything else.
    for method in ('get', 'delete'):
        getattr(app, method)('/v2/event_triggers/nope', status=400)
    app.put_json('/v2/event_triggers/nope', {'name': 'n'}, status=400)
    app.delete('/v2/event_triggers/%s' % et['id'], status=204)


# 3. updated_at moves only when an update changes something.

def test_unchanged_updates_leave_updated_at_alone(app: Any) -> None:
    post(app, '/v2/workbooks', WB)
    post(app, '/v2/workflows', WF)
    post(app, '/v2/actions', ONE_ACTION)
    app.post_json('/v2/environments', {'name': 'env', 'variables': {'a': 1}})

    # Upstream answers an update that changes nothing with
    # "updated_at": null (key present), and GET shows null after it.
    assert put(app, '/v2/workbooks', WB).json['updated_at'] is None
    assert put(app, '/v2/workflows', WF).json['workflows'][0][
        'updated_at'] is None
    assert put(app, '/v2/actions', ONE_ACTION).json['actions'][0][
        'updated_at'] is None
    r = app.put_json('/v2/environments', {'name': 'env',
                                          'variables': {'a': 1}})
    assert r.json['updated_at'] is None
    for path in ('/v2/workbooks/wb', '/v2/workflows/wb.wf1',
                 '/v2/actions/wb.act1', '/v2/workflows/wf1',
                 '/v2/actions/a1', '/v2/environments/env'):
        assert app.get(path).json['updated_at'] is None, path

    # A real change sets it (and only on what changed).
    changed = WB.replace('output: hi', 'output: ho')
    assert put(app, '/v2/workbooks', changed).json['updated_at']
    assert app.get('/v2/actions/wb.act1').json['updated_at']
    assert app.get('/v2/workflows/wb.wf1').json['updated_at'] is None
    assert put(app, '/v2/workflows', WF.replace('[x]', '[y]')).json[
        'workflows'][0]['updated_at']
    assert put(app, '/v2/actions', ONE_ACTION.replace('hi', 'ho')).json[
        'actions'][0]['updated_at']
    assert app.put_json('/v2/environments', {
        'name': 'env', 'description': 'd'}).json['updated_at']


def test_unchanged_event_trigger_update(app: Any) -> None:
    wf_id = post(app, '/v2/workflows', WF).json['workflows'][0]['id']
    et = app.post_json('/v2/event_triggers', {
        'name': 'et', 'workflow_id': wf_id, 'exchange': 'x', 'topic': 't',
        'event': 'e', 'workflow_input': {'x': 1}}).json
    path = '/v2/event_triggers/%s' % et['id']
    assert app.put_json(path, {'name': 'et'}).json['updated_at'] is None
    assert app.put_json(path, {'name': 'et2'}).json['updated_at']


def _age(model: type, id_: str) -> str:
    """Set a row's updated_at far in the past; returns its wire form."""
    past = timeutils.utcnow().replace(year=2000)
    with db_api.transaction() as session:
        session.get(model, id_).updated_at = past
    return timeutils.to_wire(past)


def test_unchanged_execution_description(app: Any) -> None:
    post(app, '/v2/workflows', WF)
    ex = app.post_json('/v2/executions', {'workflow_name': 'wf1',
                                          'input': {'x': 1}}).json
    path = '/v2/executions/%s' % ex['id']
    app.put_json(path, {'description': 'd'})
    past = _age(models.WorkflowExecution, ex['id'])
    assert app.put_json(path, {'description': 'd'}).json[
        'updated_at'] == past
    assert app.put_json(path, {'description': 'e'}).json[
        'updated_at'] != past


# 4. An ad-hoc action without input.

def test_action_without_input(app: Any) -> None:
    # Upstream: create and update answer "input": null; GET and list "".
    created = post(app, '/v2/actions', ACTIONS).json['actions']
    assert created[0]['input'] is None
    assert 'updated_at' not in created[0]
    assert put(app, '/v2/actions', ACTIONS).json['actions'][0][
        'input'] is None
    assert app.get('/v2/actions/a1').json['input'] == ''
    r = app.get('/v2/actions?name=a1')
    assert r.json['actions'][0]['input'] == ''
    # Defaults are written as JSON (upstream's `b=2`, not `b="2"`).
    assert created[1]['input'] == 'a, b=2, c="x", d=true, e=null, f=[1, 2]'
    assert app.get('/v2/actions/a2').json['input'] == created[1]['input']


def test_action_definition_is_the_text_sent(app: Any) -> None:
    # Upstream stores the request's text as the definition of every
    # action it defines (so it can be sent back as it is).
    created = post(app, '/v2/actions', ACTIONS).json['actions']
    assert [a['definition'] for a in created] == [ACTIONS, ACTIONS]
    assert app.get('/v2/actions/a2').json['definition'] == ACTIONS


def test_action_update_by_identifier_takes_the_new_name(app: Any) -> None:
    a1 = post(app, '/v2/actions', ONE_ACTION).json['actions'][0]
    r = put(app, '/v2/actions?identifier=%s' % a1['id'],
            ONE_ACTION.replace('a1:', 'a3:'))
    assert r.json['actions'][0]['id'] == a1['id']
    assert r.json['actions'][0]['name'] == 'a3'
    app.get('/v2/actions/a1', status=404)


# 5. Environment create without a description.

def test_environment_create_answer_has_only_given_optional_keys(app: Any
                                                                ) -> None:
    r = app.post_json('/v2/environments', {'name': 'e1',
                                           'variables': {'a': 1}})
    # Upstream: no "description" key at all (and no updated_at).
    assert set(r.json) == {'id', 'name', 'variables', 'scope',
                           'project_id', 'created_at'}
    r = app.post_json('/v2/environments', {'name': 'e2', 'description': 'd'})
    assert set(r.json) == {'id', 'name', 'description', 'scope',
                           'project_id', 'created_at'}
    # GET shows every field.
    assert app.get('/v2/environments/e1').json['description'] is None


# 6. List arguments are case-insensitive.

@pytest.mark.parametrize('path,query', [
    # What the client functional tests send (execution-list --sort_keys
    # Description, ...).
    ('/v2/executions', 'sort_keys=Description&sort_dirs=DESC'),
    ('/v2/executions', 'fields=Description,State&nulls=Description'),
    ('/v2/workflows', 'sort_keys=NAME&sort_dirs=Asc&fields=Input,Name'),
    ('/v2/actions', 'sort_keys=Description&sort_dirs=DESC&fields=Input'),
    ('/v2/environments', 'fields=Description&sort_keys=Name'),
    ('/v2/workflows/wf1', 'fields=NAME'),
    ('/v2/environments/e', 'fields=Description'),
])
def test_list_arguments_are_lower_cased(app: Any, path: str, query: str
                                        ) -> None:
    post(app, '/v2/workflows', WF)
    post(app, '/v2/actions', ONE_ACTION)
    app.post_json('/v2/environments', {'name': 'e', 'description': 'x'})
    app.post_json('/v2/executions', {'workflow_name': 'wf1',
                                     'input': {'x': 1}})
    r = app.get('%s?%s' % (path, query), status=200)
    if 'sort_keys=NAME' in query:
        # As upstream: input comes with interface (both from the spec).
        assert set(r.json['workflows'][0]) == {'id', 'input', 'interface',
                                               'name'}


# 7. `version` is required.

@pytest.mark.parametrize('kind,text', [
    ('workbooks', WB), ('workflows', WF), ('actions', ONE_ACTION)])
def test_version_is_required(app: Any, kind: str, text: str) -> None:
    text = text.replace("version: '2.0'\n", '')
    r = app.post('/v2/%s/validate' % kind, text, headers=TEXT)
    assert r.json['valid'] is False and 'version' in r.json['error']
    r = post(app, '/v2/%s' % kind, text, status=400)
    assert 'version' in r.json['faultstring']
    # skip_validation does not skip it ([api] validation_mode is
    # "mandatory" by default, as upstream).
    if kind != 'actions':
        post(app, '/v2/%s?skip_validation=true' % kind, text, status=400)


# 8. GET /v2/actions/<name>/<namespace> falls back to the default one.

def test_action_get_falls_back_to_the_default_namespace(app: Any) -> None:
    post(app, '/v2/actions', ONE_ACTION)
    for path in ('/v2/actions/a1/ns1', '/v2/actions/a1?namespace=ns1'):
        got = app.get(path).json
        assert got['name'] == 'a1' and got['namespace'] == ''
    # One in that namespace wins over the default one.
    post(app, '/v2/actions?namespace=ns1',
         ONE_ACTION.replace('output: hi', 'output: ns'))
    assert app.get('/v2/actions/a1/ns1').json['namespace'] == 'ns1'
    app.get('/v2/actions/nope/ns1', status=404)
    # Deleting does not fall back (we differ from upstream here: it
    # would delete the default namespace's action).
    app.delete('/v2/actions/a1?namespace=ns2', status=404)


# 9. PUT /v2/workflows updates; it does not create.

def test_workflow_update_of_a_missing_workflow_is_not_found(app: Any
                                                            ) -> None:
    r = put(app, '/v2/workflows', WF, status=404)
    assert r.json == {'faultstring': 'Workflow not found '
                      '[workflow_identifier=wf1, namespace=]'}
    app.get('/v2/workflows/wf1', status=404)
    # One missing among several: nothing is updated.
    post(app, '/v2/workflows', WF)
    two = WF.replace('[x]', '[y]') + 'wf2:\n  tasks:\n    t:\n' \
        '      action: std.noop\n'
    put(app, '/v2/workflows', two, status=404)
    assert app.get('/v2/workflows/wf1').json['input'] == 'x'
    # Same for actions.
    put(app, '/v2/actions', ONE_ACTION, status=404)


# 10. Provider actions are not definitions.

def test_deleting_a_provider_action_is_not_found(app: Any) -> None:
    r = app.delete('/v2/actions/std.echo', status=404)
    assert 'std.echo' in r.json['faultstring']
    put(app, '/v2/actions', "version: '2.0'\nstd.echo:\n  base: std.noop\n",
        status=404)


# 11. The action list has no cap.

def test_action_list_is_not_capped(app: Any, conf: Any) -> None:
    conf('max_limit', 5, group='api')
    everything = app.get('/v2/actions').json
    assert len(everything['actions']) > 5 and 'next' not in everything
    names = [a['name'] for a in everything['actions']]
    assert 'std.echo' in names and 'std.noop' in names
    # Nor is an explicit limit (upstream caps neither) ...
    assert len(app.get('/v2/actions?limit=7').json['actions']) == 7
    # ... while other lists stay capped at [api] max_limit.
    for i in range(7):
        app.post_json('/v2/environments', {'name': 'e%d' % i})
    assert len(app.get('/v2/environments').json['environments']) == 5


# 12. Audit: filters, path ids and answers.

@pytest.mark.parametrize('path', [
    '/v2/environments?variables=xx', '/v2/executions?input=xx',
    '/v2/executions?params=xx', '/v2/executions?output=xx',
    '/v2/tasks?published=xx', '/v2/action_executions?input=xx',
    '/v2/action_executions?params=xx',
    '/v2/cron_triggers?workflow_input=xx',
    '/v2/cron_triggers?workflow_params=xx',
])
def test_json_filters_take_json(app: Any, path: str) -> None:
    # Upstream: 400 "unable to convert to json".
    r = app.get(path, status=400)
    assert 'xx' in r.json['faultstring']


@pytest.mark.parametrize('path', [
    '/v2/workflows?project_id=foo', '/v2/cron_triggers?project_id=foo',
    '/v2/executions?project_id=foo',
])
def test_project_filters_take_uuids(app: Any, path: str) -> None:
    # Upstream: 400 "Expected a uuid" (before any policy check).
    r = app.get(path, status=400)
    assert 'project_id' in r.json['faultstring']


def test_parent_ids_in_paths_are_uuids(app: Any) -> None:
    # Upstream: 400 for a parent id that is not a UUID, 404 (ours) for
    # one that names nothing.
    for path in ('/v2/executions/nope/tasks',
                 '/v2/tasks/nope/workflow_executions',
                 '/v2/tasks/nope/action_executions'):
        app.get(path, status=400)
        app.get(path.replace('nope', str(uuid.uuid4())), status=404)


def test_task_sub_executions_take_upstreams_filters(app: Any) -> None:
    post(app, '/v2/workflows', WF)
    ex = app.post_json('/v2/executions', {'workflow_name': 'wf1',
                                          'input': {'x': 1}}).json
    task = c.add_task(ex['id'])
    r = app.get('/v2/tasks/%s/workflow_executions?state=SUCCESS&'
                'workflow_name=x&description=d&tags=t&input={}&'
                'created_at=gt:2000-01-01' % task)
    assert r.json['executions'] == []


def test_execution_description_update_answer(app: Any) -> None:
    post(app, '/v2/workflows', WF)
    ex = app.post_json('/v2/executions', {'workflow_name': 'wf1',
                                          'input': {'x': 1}}).json
    path = '/v2/executions/%s' % ex['id']
    # Upstream answers a description update without input, output and
    # params, and reads an empty description as none given.
    r = app.put_json(path, {'description': 'new'})
    assert r.json['description'] == 'new'
    assert not {'input', 'output', 'params'} & set(r.json)
    r = app.put_json(path, {'description': ''}, status=400)
    assert 'not provided' in r.json['faultstring']
    # An env goes with no state or with RUNNING (a resume) only.
    r = app.put_json(path, {'state': 'PAUSED', 'params': {'env': {'a': 1}}},
                     status=400)
    assert 'env' in r.json['faultstring']
    # An env update answers with params (no input or output).
    with db_api.transaction() as session:
        session.get(models.WorkflowExecution, ex['id']).state = 'ERROR'
    r = app.put_json(path, {'params': {'env': {'a': 1}},
                            'description': 'both'})
    assert json.loads(r.json['params'])['env'] == {'a': 1}
    assert r.json['description'] == 'both'
    assert not {'input', 'output'} & set(r.json)


def test_unchanged_member_status(auth_app: Any) -> None:
    owner, member = c.headers('p1'), c.headers('p2')
    wf = auth_app.post('/v2/workflows', WF, headers={**TEXT, **owner}
                       ).json['workflows'][0]
    path = '/v2/workflows/%s/members' % wf['id']
    share = auth_app.post_json(path, {'member_id': 'p2'},
                               headers=owner).json
    past = _age(models.ResourceMember, share['id'])
    r = auth_app.put_json(path + '/p2', {'status': 'pending'},
                          headers=member)
    assert r.json['updated_at'] == past
    r = auth_app.put_json(path + '/p2', {'status': 'accepted'},
                          headers=member)
    assert r.json['updated_at'] != past


def test_create_answers_without_updated_at(auth_app: Any) -> None:
    # Upstream shows a new object with the columns it stored: no
    # updated_at (code sources, dynamic actions and members alike).
    from mistral.actions import dynamic
    from mistral.actions import registry

    admin = c.headers('adm', 'admin')
    registry.reset()
    dynamic.reset()
    try:
        cs = auth_app.post('/v2/code_sources?name=src',
                           'class A:\n    pass\n',
                           headers={**TEXT, **admin}).json
        assert 'updated_at' not in cs
        da = auth_app.post_json('/v2/dynamic_actions', {
            'name': 'da', 'class_name': 'A', 'code_source_id': cs['id']},
            headers=admin).json
        assert 'updated_at' not in da and da['class_name'] == 'A'
        # An update that changes nothing leaves it null.
        r = auth_app.put_json('/v2/dynamic_actions', {
            'name': 'da', 'class_name': 'A'}, headers=admin)
        assert r.json['updated_at'] is None
    finally:
        registry.reset()
        dynamic.reset()


def test_member_create_answer_without_updated_at(auth_app: Any) -> None:
    owner = c.headers('p1')
    wf = auth_app.post('/v2/workflows', WF, headers={**TEXT, **owner}
                       ).json['workflows'][0]
    share = auth_app.post_json('/v2/workflows/%s/members' % wf['id'],
                               {'member_id': 'p2'}, headers=owner).json
    assert 'updated_at' not in share and share['status'] == 'pending'
