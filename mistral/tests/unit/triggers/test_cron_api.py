"""/v2/cron_triggers through the WSGI app on a real database."""

from __future__ import annotations

import datetime
import json

from mistral.tests.unit.triggers.conftest import create_wf
from mistral.utils import timeutils

# Keys of upstream's responses (upstream_wire_samples.txt).
CREATED_KEYS = {'id', 'name', 'workflow_name', 'workflow_id',
                'workflow_input', 'workflow_params', 'project_id', 'scope',
                'pattern', 'remaining_executions', 'first_execution_time',
                'next_execution_time', 'created_at'}


def _post(app, status=201, **body):
    return app.post_json('/v2/cron_triggers', body, status=status)


def _in(minutes):
    t = timeutils.utcnow() + datetime.timedelta(minutes=minutes)
    return t.strftime('%Y-%m-%d %H:%M')


def test_create_get_list_delete(app, sent):
    wf = create_wf(app)
    resp = _post(app, name='ct1', workflow_name='wf1',
                 workflow_input=json.dumps({'name': 'x'}),
                 pattern='0 0 1 1 *')
    body = resp.json
    assert set(body) == CREATED_KEYS
    assert body['workflow_id'] == wf['id']
    assert body['workflow_input'] == '{"name": "x"}'
    assert body['workflow_params'] == '{}'
    assert body['remaining_executions'] is None
    assert body['first_execution_time'] is None
    assert body['project_id'] == '<default-project>'
    now = timeutils.utcnow()
    assert body['next_execution_time'] == '%d-01-01 00:00:00' % (
        now.year + 1)
    one = app.get('/v2/cron_triggers/ct1').json
    assert set(one) == CREATED_KEYS | {'updated_at'}
    assert one['updated_at'] is None
    assert app.get('/v2/cron_triggers/%s' % body['id']).json['name'] == \
        'ct1'
    listed = app.get('/v2/cron_triggers').json['cron_triggers']
    assert [t['name'] for t in listed] == ['ct1']
    fields = app.get('/v2/cron_triggers?fields=name').json
    assert fields['cron_triggers'] == [{'id': body['id'], 'name': 'ct1'}]
    app.delete('/v2/cron_triggers/ct1', status=204)
    app.get('/v2/cron_triggers/ct1', status=404)
    assert app.get('/v2/cron_triggers').json['cron_triggers'] == []


def test_input_given_as_object_and_params(app, sent):
    create_wf(app)
    body = _post(app, name='ct', workflow_name='wf1',
                 workflow_input={'name': 'x'},
                 workflow_params={'env': {'a': 1}}, pattern='* * * * *',
                 remaining_executions=3).json
    assert json.loads(body['workflow_params']) == {'env': {'a': 1}}
    assert body['remaining_executions'] == 3


def test_first_time_only_means_one_execution(app, sent):
    create_wf(app)
    first = _in(5)
    body = _post(app, name='once', workflow_name='wf1',
                 workflow_input={'name': 'x'},
                 first_execution_time=first).json
    assert body['remaining_executions'] == 1
    assert body['first_execution_time'] == first + ':00'
    assert body['next_execution_time'] == first + ':00'


def test_validation_errors(app, sent):
    create_wf(app)
    base = dict(workflow_name='wf1', workflow_input={'name': 'x'})
    r = _post(app, 400, name='a', pattern='not a cron', **base)
    assert r.json['faultcode'] == 'Client'
    _post(app, 400, name='b', **base)  # neither pattern nor first time
    _post(app, 400, name='c', first_execution_time=_in(0), **base)
    _post(app, 400, name='d', first_execution_time=_in(5),
          remaining_executions=2, **base)
    _post(app, 400, name='e', pattern='* * * * *', remaining_executions=0,
          **base)
    _post(app, 400, name='f', first_execution_time='tomorrow', **base)
    # The input is checked against the workflow's.
    r = _post(app, 400, name='g', workflow_name='wf1', pattern='* * * * *')
    assert 'missing' in r.json['faultstring']
    _post(app, 400, name='h', workflow_name='wf1', pattern='* * * * *',
          workflow_input={'name': 'x', 'bogus': 1})
    _post(app, 404, name='i', workflow_name='nope', pattern='* * * * *')
    assert app.get('/v2/cron_triggers').json['cron_triggers'] == []


def test_duplicates_are_409(app, sent):
    create_wf(app)
    base = dict(workflow_name='wf1', workflow_input={'name': 'x'},
                pattern='0 0 1 1 *')
    _post(app, name='ct', **base)
    r = _post(app, 409, name='ct', workflow_name='wf1',
              workflow_input={'name': 'y'}, pattern='* * * * *')
    assert 'Duplicate entry' in r.json['faultstring']
    # As upstream: the same workflow, input and pattern without a count
    # or first time is no duplicate (test_cron_trigger_parity has the
    # cases that are).
    _post(app, name='other', **base)


def test_schedulers_are_woken_for_a_trigger_due_soon(app, sent):
    create_wf(app)
    _post(app, name='later', workflow_name='wf1',
          workflow_input={'name': 'x'}, pattern='0 0 1 1 *')
    assert sent.of('wake') == []
    body = _post(app, name='soon', workflow_name='wf1',
                 workflow_input={'name': 'x'}, pattern='* * * * * */1').json
    # Six fields: croniter's seconds; due within a second.
    wakes = sent.of('wake')
    assert len(wakes) == 1
    due = datetime.datetime.fromisoformat(wakes[0]['due_at'])
    assert due.strftime('%Y-%m-%d %H:%M:%S') == body['next_execution_time']


def test_a_workflow_with_triggers_cannot_be_deleted(app, sent):
    create_wf(app)
    _post(app, name='ct', workflow_name='wf1',
          workflow_input={'name': 'x'}, pattern='0 0 1 1 *')
    r = app.delete('/v2/workflows/wf1', expect_errors=True)
    assert r.status_int == 400
    app.delete('/v2/cron_triggers/ct', status=204)
    app.delete('/v2/workflows/wf1', status=204)
