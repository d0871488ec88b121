"""Strict query arguments of list endpoints: markers, booleans, states.

A malformed query argument is a 400 whose faultstring names the argument
and the value, never a silently empty (or, for booleans, inverted) result.
"""

from __future__ import annotations

from typing import Any

import pytest

from mistral.tests.unit.api import conftest as c

ZERO = '00000000-0000-0000-0000-000000000000'

# Every list endpoint whose pagination marker is an id.
ID_MARKER_LISTS = (
    '/v2/workbooks', '/v2/workflows', '/v2/executions', '/v2/tasks',
    '/v2/action_executions', '/v2/cron_triggers', '/v2/environments',
    '/v2/event_triggers', '/v2/executions/%s/tasks' % ZERO,
    '/v2/tasks/%s/action_executions' % ZERO,
    '/v2/tasks/%s/workflow_executions' % ZERO,
)

# (path, argument) of boolean query arguments.
BOOLEAN_ARGS = (
    ('/v2/executions', 'include_output'),
    ('/v2/executions', 'all_projects'),
    ('/v2/workflows', 'all_projects'),
    ('/v2/cron_triggers', 'all_projects'),
    ('/v2/event_triggers', 'all_projects'),
    ('/v2/action_executions', 'include_output'),
    ('/v2/executions/%s/executions' % ZERO, 'include_output'),
    ('/v2/executions/%s/executions' % ZERO, 'errors_only'),
    ('/v2/tasks/%s/executions' % ZERO, 'errors_only'),
)

# (path, argument, an unknown value) of filters with a closed value set.
ENUM_FILTERS = (
    ('/v2/executions', 'state', 'BOGUS'),
    ('/v2/executions', 'state', 'in:RUNNING,BOGUS'),
    ('/v2/executions', 'state', 'neq:running'),
    ('/v2/tasks', 'state', 'DONE'),
    ('/v2/action_executions', 'state', 'FINISHED'),
    ('/v2/workflows', 'scope', 'everyone'),
    ('/v2/workbooks', 'scope', 'nin:private,shared'),
    ('/v2/environments', 'scope', 'x'),
    ('/v2/cron_triggers', 'scope', 'x'),
    ('/v2/actions', 'scope', 'x'),
)


def _fault(app: Any, url: str, method: str = 'GET') -> str:
    r = app.request(url, method=method, expect_errors=True)
    assert r.status_int == 400, (url, r.status_int, r.text)
    assert r.json['faultcode'] == 'Client'
    assert 'Traceback' not in r.text
    return r.json['faultstring']


@pytest.mark.parametrize('path', ID_MARKER_LISTS)
def test_marker_must_be_a_uuid(app: Any, path: str) -> None:
    text = _fault(app, path + '?marker=not-an-id')
    assert text.startswith(
        "Invalid input for field/attribute marker. Value: 'not-an-id'.")
    assert 'Expected a uuid but received not-an-id.' in text


def test_unknown_uuid_marker_is_404(app: Any) -> None:
    r = app.get('/v2/executions?marker=' + ZERO, status=404)
    assert r.json['faultstring'] == (
        'WorkflowExecution not found [id=%s]' % ZERO)


def test_actions_marker_is_a_name(app: Any) -> None:
    names = [a['name'] for a in app.get('/v2/actions').json['actions']]
    r = app.get('/v2/actions?limit=2&marker=' + names[0])
    assert [a['name'] for a in r.json['actions']] == names[1:3]


@pytest.mark.parametrize('path,arg', BOOLEAN_ARGS)
def test_boolean_must_be_a_boolean(app: Any, path: str, arg: str) -> None:
    text = _fault(app, '%s?%s=perhaps' % (path, arg))
    assert text.startswith(
        "Invalid input for field/attribute %s. Value: 'perhaps'." % arg)
    assert 'Expected a boolean (true or false)' in text


@pytest.mark.parametrize('value', ['false', 'False', '0', 'no', ''])
def test_false_means_false(app: Any, value: str) -> None:
    # WSME's bool would read "false" as True: all_projects is admin-only,
    # so a true value would be refused with 403.
    app.get('/v2/executions?all_projects=' + value, status=200)
    app.get('/v2/workflows?all_projects=' + value, status=200)
    c.create_wf(app)
    ex = app.post_json('/v2/executions', {
        'workflow_name': 'wf1', 'input': {'name': 'x'}}).json
    r = app.get('/v2/executions?include_output=' + value)
    assert 'output' not in r.json['executions'][0]
    # A running execution is not deleted unless forced.
    r = app.delete('/v2/executions/%s?force=%s' % (ex['id'], value),
                   status=403)
    assert 'Only completed executions can be deleted' in (
        r.json['faultstring'])
    app.get('/v2/executions/' + ex['id'], status=200)


@pytest.mark.parametrize('value', ['true', 'True', '1', 'yes'])
def test_true_means_true(app: Any, value: str) -> None:
    c.create_wf(app)
    ex = app.post_json('/v2/executions', {
        'workflow_name': 'wf1', 'input': {'name': 'x'}}).json
    r = app.get('/v2/executions?include_output=' + value)
    assert r.json['executions'][0]['output'] == '{}'
    app.delete('/v2/executions/%s?force=%s' % (ex['id'], value),
               status=204)
    app.get('/v2/executions/' + ex['id'], status=404)


def test_delete_force_not_boolean_keeps_execution(app: Any) -> None:
    c.create_wf(app)
    ex = app.post_json('/v2/executions', {
        'workflow_name': 'wf1', 'input': {'name': 'x'}}).json
    text = _fault(app, '/v2/executions/%s?force=sure' % ex['id'],
                  method='DELETE')
    assert "field/attribute force. Value: 'sure'" in text
    app.get('/v2/executions/' + ex['id'], status=200)


@pytest.mark.parametrize('path,arg,value', ENUM_FILTERS)
def test_unknown_enum_value(app: Any, path: str, arg: str,
                            value: str) -> None:
    text = _fault(app, '%s?%s=%s' % (path, arg, value))
    bad = value.split(':')[-1].split(',')[-1]
    assert text.startswith(
        "Invalid input for field/attribute %s. Value: '%s'. Value should "
        "be one of: " % (arg, bad)), text


@pytest.mark.parametrize('path,arg', [
    ('/v2/executions', 'workflow_id'),
    ('/v2/executions', 'task_execution_id'),
    ('/v2/executions', 'root_execution_id'),
    ('/v2/tasks', 'workflow_execution_id'),
    ('/v2/tasks', 'workflow_id'),
    ('/v2/action_executions', 'task_execution_id'),
    ('/v2/cron_triggers', 'workflow_id'),
    ('/v2/event_triggers', 'workflow_id'),
])
def test_reference_filters_must_be_uuids(app: Any, path: str,
                                         arg: str) -> None:
    text = _fault(app, '%s?%s=in:%s,wf1' % (path, arg, ZERO))
    assert text == ("Invalid input for field/attribute %s. Value: 'wf1'. "
                    "Expected a uuid but received wf1." % arg)
    app.get('%s?%s=%s' % (path, arg, ZERO), status=200)


def test_known_enum_values_filter(app: Any) -> None:
    c.create_wf(app)
    ex = app.post_json('/v2/executions', {
        'workflow_name': 'wf1', 'input': {'name': 'x'}}).json
    task_id = c.add_task(ex['id'], state='WAITING')

    def ids(url: str, key: str) -> list[str]:
        return [x['id'] for x in app.get(url).json[key]]

    assert ids('/v2/executions?state=RUNNING', 'executions') == [ex['id']]
    assert ids('/v2/executions?state=in:PAUSED,RUNNING',
               'executions') == [ex['id']]
    assert ids('/v2/executions?state=neq:RUNNING', 'executions') == []
    # A partial match is not checked against the set.
    assert ids('/v2/executions?state=has:RUN', 'executions') == [ex['id']]
    assert ids('/v2/tasks?state=WAITING', 'tasks') == [task_id]
    assert ids('/v2/tasks?state=SKIPPED', 'tasks') == []
    nested = '/v2/executions/%s/tasks' % ex['id']
    assert ids(nested + '?state=WAITING', 'tasks') == [task_id]
    assert "Value: 'DONE'" in _fault(app, nested + '?state=DONE')
    assert len(ids('/v2/workflows?scope=private', 'workflows')) == 1
    assert ids('/v2/workflows?scope=public', 'workflows') == []
    assert ids('/v2/executions?workflow_id=neq:%s' % ex['workflow_id'],
               'executions') == []
    assert ids('/v2/tasks?workflow_execution_id=%s' % ex['id'],
               'tasks') == [task_id]


def test_actions_is_system_must_be_boolean(app: Any) -> None:
    text = _fault(app, '/v2/actions?is_system=kind-of')
    assert text == 'Invalid boolean value for is_system: kind-of'
    app.get('/v2/actions?is_system=false', status=200)


@pytest.mark.parametrize('value,expected', [
    ('false', False), ('true', True), (False, False), (1, True)])
def test_action_run_flags_are_booleans(app: Any, engine: Any, value: Any,
                                       expected: bool) -> None:
    app.post_json('/v2/action_executions', {
        'name': 'std.echo', 'input': {'output': 1},
        'params': {'save_result': value, 'run_sync': value}}, status=201)
    params = engine.calls[-1][2]['params']
    assert params['save_result'] is expected
    assert params['run_sync'] is expected


def test_action_run_flag_not_boolean(app: Any, engine: Any) -> None:
    r = app.post_json('/v2/action_executions', {
        'name': 'std.echo', 'input': {'output': 1},
        'params': {'save_result': 'perhaps'}}, status=400)
    assert r.json['faultstring'] == (
        'Invalid boolean value for params.save_result: perhaps')
    assert engine.calls == []


@pytest.mark.parametrize('url,text', [
    ('/v2/tasks?processed=maybe',
     'Invalid boolean value for processed: maybe (expected true or false)'),
    ('/v2/action_executions?accepted=in:true,nah',
     'Invalid boolean value for accepted: nah (expected true or false)'),
    ('/v2/executions?created_at=gt:yesterday',
     'Invalid date/time value for created_at: yesterday (expected '
     'YYYY-MM-DD HH:MM:SS)'),
    ('/v2/cron_triggers?remaining_executions=lte:few',
     'Invalid integer value for remaining_executions: few'),
])
def test_typed_filter_values_name_the_filter(app: Any, url: str,
                                             text: str) -> None:
    assert _fault(app, url) == text


def test_typed_filter_values_that_parse(app: Any) -> None:
    c.create_wf(app)
    ex = app.post_json('/v2/executions', {
        'workflow_name': 'wf1', 'input': {'name': 'x'}}).json
    c.add_task(ex['id'])
    for url, count in (('/v2/executions?created_at=gte:2000-01-01', 1),
                       ('/v2/executions?created_at=lt:2000-01-01 00:00', 0),
                       ('/v2/tasks?processed=true', 1),
                       ('/v2/tasks?processed=false', 0)):
        r = app.get(url)
        key = 'executions' if 'executions' in url else 'tasks'
        assert len(r.json[key]) == count, url
