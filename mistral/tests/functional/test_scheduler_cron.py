"""A cron trigger fired by two scheduler processes (MariaDB, RabbitMQ):
each slot starts one execution, the remaining count reaches 0 and the
trigger disappears.

croniter reads a sixth field as seconds, so ``* * * * * */2`` is a
"every minute"-style pattern with a slot every 2 seconds: no fake clock.
"""

from __future__ import annotations

import json
import time

import pytest

from mistral.tests.functional.harness import wait_for

pytestmark = pytest.mark.deployment(
    db='mysql', transport='rabbit',
    processes=[['api'], ['engine'], ['executor'], ['scheduler'],
               ['scheduler']])

WF = """---
version: '2.0'
ticked:
  input:
    - n
  tasks:
    t:
      action: std.echo output=<% $.n %>
"""

COUNT = 3


def _executions_of(client, trigger_id):
    return [e for e in client.executions.list(limit=1000)
            if trigger_id in (e.description or '')]


def test_trigger_fires_count_times_then_disappears(deployment, client):
    client.workflows.create(WF)
    trig = client.cron_triggers.create('ticker', 'ticked',
                                       workflow_input={'n': 5},
                                       pattern='* * * * * */2', count=COUNT)
    assert trig.remaining_executions == COUNT
    wait_for(lambda: not client.cron_triggers.list(), 90,
             'the trigger to be deleted after its last firing',
             logs=lambda: deployment.logs(tail=60))
    time.sleep(3)  # a late or duplicate firing would have shown up
    execs = _executions_of(client, trig.id)
    assert len(execs) == COUNT, [e.id for e in execs]
    for ex in execs:
        desc = json.loads(ex.description)
        assert desc['triggered_by'] == {'type': 'cron_trigger',
                                        'id': trig.id}
        assert json.loads(ex.input) == {'n': 5}
        assert deployment.wait_execution(ex.id).state == 'SUCCESS'
