"""Schedulers as separate processes (PostgreSQL, RabbitMQ): policy delays
and cron triggers with two schedulers, one of which is killed."""

from __future__ import annotations

import datetime
import json
import signal
import time

import pytest
import sqlalchemy as sa

from mistral.tests.functional.harness import wait_for

pytestmark = pytest.mark.deployment(
    db='postgresql', transport='rabbit',
    processes=[['api'], ['engine'], ['executor'], ['scheduler'],
               ['scheduler']],
    # Engines sweep rarely: delays must be the schedulers' doing.
    conf_overrides={'engine': {'outbox_poll_interval': 60}})

WF = """---
version: '2.0'
delayed:
  input:
    - n: 0
  tasks:
    t:
      action: std.echo output=<% $.n %>
      wait-before: 1
      wait-after: 1
"""


def _db(deployment):
    return sa.create_engine(deployment.db_url)


def test_policy_delays_are_sent_by_schedulers(deployment, client):
    client.workflows.create(WF)
    started = time.monotonic()
    ex = client.executions.create('delayed', workflow_input={'n': 1})
    done = deployment.wait_execution(ex.id, timeout=60)
    took = time.monotonic() - started
    assert done.state == 'SUCCESS'
    # Two 1 s delays; engines would only have swept after 60 s.
    assert 2 <= took < 30


def _executions_of(client, trigger_id):
    return [e for e in client.executions.list(limit=1000)
            if 'cron_trigger' in (e.description or '')
            and trigger_id in e.description]


def test_cron_trigger_fires_once_per_slot(deployment, client):
    client.workflows.create(WF.replace('delayed:', 'cronwf:'))
    trig = client.cron_triggers.create('every-year', 'cronwf',
                                       workflow_input={'n': 2},
                                       pattern='0 0 1 1 *', count=2)
    assert trig.remaining_executions == 2
    # Make it due now, as if the slot had come (or been missed).
    engine = _db(deployment)
    past = datetime.datetime.utcnow() - datetime.timedelta(hours=3)
    with engine.begin() as conn:
        conn.execute(sa.text(
            'UPDATE cron_triggers_v2 SET next_execution_time = :t'), {
                't': past})
    execs = wait_for(lambda: _executions_of(client, trig.id), 30,
                     'the cron trigger to start an execution')
    time.sleep(3)  # a second start would have shown up by now
    execs = _executions_of(client, trig.id)
    assert len(execs) == 1
    desc = json.loads(execs[0].description)
    assert desc['triggered_by'] == {'type': 'cron_trigger',
                                    'id': trig.id}
    assert json.loads(execs[0].input) == {'n': 2}
    after = client.cron_triggers.get('every-year')
    assert after.remaining_executions == 1
    assert after.next_execution_time.startswith(
        '%d-01-01' % (datetime.datetime.utcnow().year + 1))
    assert deployment.wait_execution(execs[0].id).state == 'SUCCESS'

    # One scheduler dies; the other fires the last slot, which deletes
    # the trigger.
    deployment.kill(3, signal.SIGKILL)
    with engine.begin() as conn:
        # Another slot (the execution id derives from the slot's time).
        conn.execute(sa.text(
            'UPDATE cron_triggers_v2 SET next_execution_time = :t'), {
                't': past + datetime.timedelta(minutes=1)})
    wait_for(lambda: len(_executions_of(client, trig.id)) == 2, 30,
             'the second firing')
    wait_for(lambda: not client.cron_triggers.list(), 10,
             'the trigger to be deleted after its last execution')
    time.sleep(2)
    assert len(_executions_of(client, trig.id)) == 2
    deployment.start(3)
    engine.dispose()
