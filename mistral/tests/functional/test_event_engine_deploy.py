"""The event engine as a process: a real notification on RabbitMQ
starts the trigger's workflow (MariaDB, RabbitMQ)."""

from __future__ import annotations

import json
import time

import oslo_messaging
import pytest
import requests
from oslo_config import cfg
from oslo_context import context

from mistral.tests.functional.harness import wait_for

pytestmark = pytest.mark.deployment(
    db='mysql', transport='rabbit',
    processes=[['api'], ['engine'], ['executor'], ['event-engine']])

WF = """---
version: '2.0'
on_event:
  input:
    - x
  output:
    got: <% $.x %>
  tasks:
    t:
      action: std.noop
"""


def _notifier(deployment, exchange: str) -> oslo_messaging.Notifier:
    conf = cfg.ConfigOpts()
    conf([], project='event-test')
    conf.register_opts(oslo_messaging.transport._transport_opts)
    conf.set_override('control_exchange', exchange)
    transport = oslo_messaging.get_notification_transport(
        conf, url=deployment.transport_url)
    return oslo_messaging.Notifier(transport, publisher_id='compute.host1',
                                   driver='messagingv2',
                                   topics=['notifications'])


def _triggered(client, trigger_id):
    return [e for e in client.executions.list(limit=1000)
            if 'event_trigger' in (e.description or '')
            and trigger_id in e.description]


def test_notification_starts_workflow(deployment, client):
    wf = client.workflows.create(WF)[0]
    trig = client.event_triggers.create(
        'et', wf.id, 'nova', 'notifications', 'compute.instance.create.end',
        workflow_input={'x': 7})
    assert trig.exchange == 'nova'
    wait_for(lambda: 'Listening for events on exchange nova' in
             deployment.logs(), 30, 'the event engine to listen')
    notifier = _notifier(deployment, 'nova')
    # As an OpenStack service sends it: with its request context.
    ctx = context.RequestContext(project_id='p-42', user_id='u-1')
    notifier.info(ctx, 'compute.instance.create.end',
                  {'instance_id': 'i-1'})
    notifier.info({}, 'compute.instance.delete.end', {})
    execs = wait_for(lambda: _triggered(client, trig.id), 60,
                     'the event to start the workflow',
                     logs=lambda: deployment.logs(tail=60))
    done = deployment.wait_execution(execs[0].id)
    assert done.state == 'SUCCESS'
    assert json.loads(done.output) == {'got': 7}
    params = json.loads(done.params)
    assert params['event_params']['service'] == 'compute.host1'
    assert params['event_params']['project_id'] == 'p-42'
    assert params['event_params']['user_id'] == 'u-1'
    desc = json.loads(done.description)
    assert desc['triggered_by'] == {'type': 'event_trigger', 'id': trig.id,
                                    'name': 'et'}
    # An update applies to the next event, without a restart.
    resp = requests.put('%s/event_triggers/%s' % (deployment.api_url,
                                                  trig.id),
                        json={'workflow_input': {'x': 9}}, timeout=30)
    assert resp.status_code == 200, resp.text
    wait_for(lambda: 'Event trigger %s updated' % trig.id
             in deployment.logs(), 30, 'the event engine to apply the update')
    notifier.info({}, 'compute.instance.create.end', {})
    execs = wait_for(lambda: [e for e in _triggered(client, trig.id)
                              if e.id != done.id], 60,
                     'the event to start the updated trigger',
                     logs=lambda: deployment.logs(tail=60))
    assert len(execs) == 1
    again = deployment.wait_execution(execs[0].id)
    assert json.loads(again.output) == {'got': 9}
    started = len(_triggered(client, trig.id))
    # After deletion, events start nothing.
    client.event_triggers.delete(trig.id)
    wait_for(lambda: 'Event trigger %s deleted' % trig.id
             in deployment.logs(), 30, 'the event engine to apply the delete')
    notifier.info({}, 'compute.instance.create.end', {})
    time.sleep(3)
    assert len(_triggered(client, trig.id)) == started


def test_event_while_no_engine_runs_starts_workflow_later(deployment,
                                                          client):
    wf = client.workflows.create(WF.replace('on_event:', 'later:'))[0]
    trig = client.event_triggers.create(
        'later', wf.id, 'glance', 'notifications', 'image.update',
        workflow_input={'x': 1})
    wait_for(lambda: 'exchange glance' in deployment.logs(), 30,
             'the event engine to listen')
    deployment.stop(1)  # the only engine
    _notifier(deployment, 'glance').info(
        context.RequestContext(project_id='p'), 'image.update', {})
    time.sleep(2)  # the event is taken and its start request stored
    deployment.start(1)
    execs = wait_for(lambda: _triggered(client, trig.id), 90,
                     'the stored start request to reach the engine',
                     logs=lambda: deployment.logs(tail=60))
    assert deployment.wait_execution(execs[0].id).state == 'SUCCESS'
