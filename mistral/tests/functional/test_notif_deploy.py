"""The notifier as its own process (RPC ``notify`` over RabbitMQ) calling
a webhook served by this test (PostgreSQL, RabbitMQ)."""

from __future__ import annotations

import pytest

from mistral.tests.unit.notifiers.hook_server import HookServer

pytestmark = pytest.mark.deployment(
    db='postgresql', transport='rabbit',
    processes=[['api'], ['engine'], ['executor'], ['notifier']],
    # The hook server is on loopback: take it out of the denied networks.
    conf_overrides={'action_std_http': {
        'denied_cidrs': ['169.254.0.0/16', 'fe80::/10']}})

WF = """---
version: '2.0'
notified:
  tasks:
    t:
      action: std.noop
"""


def test_execution_events_reach_webhook(deployment, client):
    client.workflows.create(WF)
    with HookServer() as hooks:
        # The client sends its keyword arguments as the params.
        ex = client.executions.create('notified', notify=[
            {'type': 'webhook', 'url': hooks.url + '/n',
             'event_types': ['WORKFLOW_LAUNCHED', 'TASK_SUCCEEDED',
                             'WORKFLOW_SUCCEEDED']}])
        assert deployment.wait_execution(ex.id).state == 'SUCCESS'
        got = hooks.wait_for(lambda b: len(b) >= 3, 60)
        assert sorted(b['event'] for b in got) == [
            'TASK_SUCCEEDED', 'WORKFLOW_LAUNCHED', 'WORKFLOW_SUCCEEDED']
        done = [b for b in got if b['event'] == 'WORKFLOW_SUCCEEDED'][0]
        assert done['id'] == ex.id and done['state'] == 'SUCCESS'
