"""Notifications from a real engine (in process, every database backend):
params.notify publishers, event filters, [notifier] notify, inheritance
by sub-workflows, all delivered to a real HTTP server by the webhook
publisher."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from mistral.notifiers import service
from mistral.tests.functional.engine.conftest import engine_env  # noqa
from mistral.tests.unit.notifiers.hook_server import HookServer

WFS = """---
version: '2.0'
parent:
  tasks:
    call:
      workflow: child
      on-success: last
    last:
      action: std.noop
child:
  tasks:
    inner:
      action: std.echo output=1
"""


@pytest.fixture
def hooks(conf) -> Any:
    # The hook server is on loopback: take it out of the denied networks.
    conf('denied_cidrs', ['169.254.0.0/16', 'fe80::/10'],
         group='action_std_http')
    conf('type', 'local', group='notifier')
    try:
        with HookServer() as srv:
            yield srv
    finally:
        # The local delivery loop of this process goes with the database.
        service.reset_local()


def _events(bodies, ex_id=None, name=None):
    return [(b['name'], b['event']) for b in bodies
            if (ex_id is None or b['id'] == ex_id
                or b.get('workflow_execution_id') == ex_id)
            and (name is None or b['name'] == name)]


def test_workflow_and_task_events_reach_the_webhook(engine_env, hooks):  # noqa: F811
    engine_env.create_workflows(WFS)
    notify = [{'type': 'webhook', 'url': hooks.url + '/all',
               'headers': {'X-Test': '1'}}]
    wf = engine_env.start('parent', notify=notify)
    assert engine_env.wait(wf['id']).state == 'SUCCESS'
    bodies = hooks.wait_for(lambda got: any(
        b['id'] == wf['id'] and b['event'] == 'WORKFLOW_SUCCEEDED'
        for b in got))
    root = _events(bodies, wf['id'])
    assert ('parent', 'WORKFLOW_LAUNCHED') in root
    assert ('parent', 'WORKFLOW_SUCCEEDED') in root
    for task in ('call', 'last'):
        assert (task, 'TASK_LAUNCHED') in root
        assert (task, 'TASK_SUCCEEDED') in root
    # The sub-workflow inherited the publishers.
    child = [b for b in bodies if b.get('task_execution_id')]
    assert child and child[0]['root_execution_id'] == wf['id']
    child_id = child[0]['id']
    assert ('child', 'WORKFLOW_LAUNCHED') in _events(bodies, child_id)
    hooks.wait_for(lambda got: ('inner', 'TASK_SUCCEEDED') in _events(
        got, child_id))
    # Payloads carry the fields of upstream's events.
    done = [b for b in bodies if b['event'] == 'WORKFLOW_SUCCEEDED'
            and b['id'] == wf['id']][0]
    assert set(done) == {
        'id', 'name', 'workflow_name', 'workflow_namespace', 'workflow_id',
        'state', 'state_info', 'project_id', 'task_execution_id',
        'root_execution_id', 'created_at', 'updated_at', 'event'}
    assert done['state'] == 'SUCCESS'
    task = [b for b in bodies if b['event'] == 'TASK_SUCCEEDED'][0]
    assert set(task) == {
        'id', 'name', 'workflow_execution_id', 'workflow_name',
        'workflow_namespace', 'workflow_id', 'state', 'state_info', 'type',
        'project_id', 'created_at', 'updated_at', 'started_at',
        'finished_at', 'event'}
    assert all(r['headers'].get('X-Test') == '1' for r in hooks.requests)
    # The sub-workflow shows the inherited publishers in its params.
    assert engine_env.execution(child_id).params['notify'] == notify


def test_event_types_filter_and_global_publishers(engine_env, hooks, conf):  # noqa: F811
    engine_env.create_workflows("""---
version: '2.0'
fails:
  tasks:
    boom:
      action: std.fail
""")
    # As an operator writes it in mistral.conf: JSON objects.
    conf('notify', [json.dumps({'type': 'webhook',
                                'url': hooks.url + '/global',
                                'event_types': ['WORKFLOW_FAILED']})],
         group='notifier')
    wf = engine_env.start('fails', notify=[
        {'type': 'webhook', 'url': hooks.url + '/own',
         'event_types': ['TASK_FAILED']}])
    assert engine_env.wait(wf['id']).state == 'ERROR'
    hooks.wait_for(lambda got: len(got) >= 2)
    time.sleep(0.5)  # anything else that was coming has come
    got = sorted((r['path'], r['body']['event']) for r in hooks.requests
                 if r['body'].get('id') == wf['id']
                 or r['body'].get('workflow_execution_id') == wf['id'])
    assert got == [('/global', 'WORKFLOW_FAILED'), ('/own', 'TASK_FAILED')]
    assert len(engine_env.execution(wf['id']).params['notify']) == 2


def test_no_publishers_no_outbox_rows(engine_env, hooks):  # noqa: F811
    engine_env.create_workflows("""---
version: '2.0'
quiet:
  tasks:
    t:
      action: std.noop
""")
    wf = engine_env.start('quiet')
    assert engine_env.wait(wf['id']).state == 'SUCCESS'
    assert 'notify' not in (engine_env.execution(wf['id']).params or {})
    assert hooks.requests == []
