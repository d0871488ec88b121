"""Event triggers: API, the engine's trigger table and event matching."""

from __future__ import annotations

import json

from mistral.event_engine import definitions
from mistral.event_engine import engine as event_engine
from mistral.tests.unit.triggers.conftest import create_wf

CREATED_KEYS = {'id', 'created_at', 'updated_at', 'project_id', 'name',
                'workflow_id', 'workflow_input', 'workflow_params',
                'exchange', 'topic', 'event', 'scope'}


def _create(app, wf_id, status=201, **kw):
    body = dict(name='et', workflow_id=wf_id, exchange='nova',
                topic='notifications', event='compute.instance.create.end',
                workflow_input={'x': 1})
    body.update(kw)
    return app.post_json('/v2/event_triggers', body, status=status)


WF = """---
version: '2.0'
ewf:
  input:
    - x
  tasks:
    t:
      action: std.noop
"""


def test_api_create_list_update_delete_tell_engines(app, sent):
    wf = create_wf(app, WF)
    body = _create(app, wf['id']).json
    assert set(body) == CREATED_KEYS
    assert body['workflow_input'] == '{"x": 1}'
    assert body['workflow_params'] == '{}'
    assert body['updated_at'] is None
    [create] = sent.of('create_event_trigger')
    assert create['trigger']['id'] == body['id']
    assert create['events'] == ['compute.instance.create.end']
    listed = app.get('/v2/event_triggers').json['event_triggers']
    assert [t['id'] for t in listed] == [body['id']]
    got = app.get('/v2/event_triggers/%s' % body['id']).json
    assert got == {**body}
    upd = app.put_json('/v2/event_triggers/%s' % body['id'],
                       {'name': 'renamed', 'workflow_input': {'x': 2}}).json
    assert upd['name'] == 'renamed' and upd['workflow_input'] == '{"x": 2}'
    assert upd['updated_at'] is not None
    [update] = sent.of('update_event_trigger')
    assert update['trigger']['workflow_input'] == {'x': 2}
    r = app.put_json('/v2/event_triggers/%s' % body['id'],
                     {'topic': 'other'}, status=400)
    assert 'topic' in r.json['faultstring']
    app.delete('/v2/event_triggers/%s' % body['id'], status=204)
    [delete] = sent.of('delete_event_trigger')
    assert delete['trigger']['id'] == body['id'] and delete['events'] == []
    app.get('/v2/event_triggers/%s' % body['id'], status=404)


def test_api_validation(app, sent):
    wf = create_wf(app, WF)
    _create(app, wf['id'])
    _create(app, wf['id'], status=409)
    _create(app, wf['id'], status=400, event='other', workflow_input={})
    _create(app, wf['id'], status=400, event='other', exchange='')
    _create(app, '5f1a2b3c-0000-4000-8000-000000000000', status=404,
            event='other')
    assert len(sent.of('create_event_trigger')) == 1


def test_engine_loads_triggers_and_starts_matching(app, sent, conf):
    wf = create_wf(app, WF)
    et = _create(app, wf['id'], workflow_params={'env': {'e': 1}}).json
    _create(app, wf['id'], event='image.*', topic='other')
    ev = event_engine.EventEngine()
    ev.reconcile()  # what start() does, without a transport
    assert len(ev.triggers()) == 2
    ctxt = {'project_id': 'p-event', 'user_id': 'u1'}
    meta = {'message_id': 'm-1', 'timestamp': '2026-01-01 00:00:00'}
    ids = ev.on_event(('nova', 'notifications'), ctxt, 'compute.host1',
                      'compute.instance.create.end', {'a': 1}, meta)
    assert len(ids) == 1
    # The start request went through the outbox to the engine.
    [start] = sent.of('start_workflow')
    assert start['wf_identifier'] == wf['id']
    assert start['wf_input'] == {'x': 1}
    assert start['wf_ex_id'] == ids[0]
    assert start['_ctx']['project_id'] == '<default-project>'
    assert start['params']['env'] == {'e': 1}
    assert start['params']['event_params'] == {
        'service': 'compute.host1', 'project_id': 'p-event',
        'user_id': 'u1', 'timestamp': '2026-01-01 00:00:00'}
    assert json.loads(start['description'])['triggered_by'] == {
        'type': 'event_trigger', 'id': et['id'], 'name': 'et'}
    # The same message again starts the same execution id (idempotent).
    assert ev.on_event(('nova', 'notifications'), ctxt, 'compute.host1',
                       'compute.instance.create.end', {}, meta) == ids
    # Other event types and topics do not match; globs do.
    assert ev.on_event(('nova', 'notifications'), ctxt, 'p',
                       'compute.instance.delete.end', {}, meta) == []
    assert len(ev.on_event(('nova', 'other'), ctxt, 'p', 'image.update',
                           {}, {'message_id': 'm-2'})) == 1
    # With authentication, only the trigger's project (or public) counts.
    conf('auth_enable', True, group='pecan')
    assert ev.on_event(('nova', 'notifications'), ctxt, 'p',
                       'compute.instance.create.end', {}, meta) == []
    ev.remove(et['id'])
    conf('auth_enable', False, group='pecan')
    assert ev.on_event(('nova', 'notifications'), ctxt, 'p',
                       'compute.instance.create.end', {}, meta) == []


def test_event_definitions(tmp_path):
    path = tmp_path / 'event_definitions.yaml'
    path.write_text("""
- event_types: [compute.instance.*]
  properties:
    instance: <% $.payload.instance_id %>
    kind: compute
- event_types: [compute.instance.create.*]
  properties:
    created: <% $.payload.instance_id %>
""")
    defs = definitions.load(str(path))
    event = {'event_type': 'compute.instance.create.end',
             'payload': {'instance_id': 'i-1'}, 'publisher': 'c',
             'timestamp': 't', 'context': {}}
    # The last matching definition wins.
    assert definitions.event_params(defs, event) == {'created': 'i-1'}
    event['event_type'] = 'compute.instance.delete.end'
    assert definitions.event_params(defs, event) == {
        'instance': 'i-1', 'kind': 'compute'}
    event['event_type'] = 'image.update'
    assert definitions.event_params(defs, event)['service'] == 'c'
    assert definitions.load(str(tmp_path / 'missing.yaml')) == []


def test_no_workflow_starts_during_maintenance(app, sent):
    from mistral.services import maintenance

    wf = create_wf(app, WF)
    _create(app, wf['id'])
    ev = event_engine.EventEngine()
    ev.reconcile()
    args = (('nova', 'notifications'), {}, 'p',
            'compute.instance.create.end', {}, {'message_id': 'm'})
    assert maintenance._set(maintenance.PAUSED)
    assert ev.on_event(*args) == []
    assert maintenance._set(maintenance.RUNNING)
    assert len(ev.on_event(*args)) == 1
