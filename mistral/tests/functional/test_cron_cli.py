"""python-mistralclient's cron_triggers manager and the ``mistral
cron-trigger-*`` commands against a real server (embedded SQLite)."""

from __future__ import annotations

import datetime
import json

import pytest
from mistralclient.api import base as client_base

pytestmark = pytest.mark.deployment(db='sqlite', transport='fake',
                                    processes=[['all']])

WF = """---
version: '2.0'
cli_wf:
  input:
    - name
  tasks:
    t:
      action: std.echo output=<% $.name %>
"""


@pytest.fixture(scope='module')
def wf(client):
    return client.workflows.create(WF)[0]


def test_client_manager(client, wf):
    ct = client.cron_triggers.create('m1', 'cli_wf', {'name': 'x'},
                                     {'env': {'k': 'v'}}, '0 0 1 1 *',
                                     None, 5)
    assert ct.workflow_name == 'cli_wf' and ct.workflow_id == wf.id
    assert json.loads(ct.workflow_input) == {'name': 'x'}
    assert json.loads(ct.workflow_params) == {'env': {'k': 'v'}}
    assert ct.remaining_executions == 5
    by_id = client.cron_triggers.create('m2', wf.id, {'name': 'y'},
                                        pattern='0 0 1 1 *')
    assert by_id.workflow_name == 'cli_wf'
    assert sorted(t.name for t in client.cron_triggers.list()) == [
        'm1', 'm2']
    assert client.cron_triggers.get('m1').id == ct.id
    with pytest.raises(client_base.APIException) as e:
        client.cron_triggers.create('m1', 'cli_wf', {'name': 'z'},
                                    pattern='* * * * *')
    assert e.value.error_code == 409
    with pytest.raises(client_base.APIException) as e:
        client.cron_triggers.create('m3', 'cli_wf', {}, pattern='* * * *')
    assert e.value.error_code == 400
    client.cron_triggers.delete('m1')
    client.cron_triggers.delete(by_id.id)
    assert client.cron_triggers.list() == []


def test_cli(deployment, wf):
    first = (datetime.datetime.utcnow() + datetime.timedelta(hours=2)
             ).strftime('%Y-%m-%d %H:%M')
    out = deployment.cli('cron-trigger-create', 'c1', 'cli_wf',
                         '{"name": "cli"}', '--pattern', '*/10 * * * *',
                         '--first-time', first, '--count', '3', '--utc',
                         '-f', 'json').stdout
    created = json.loads(out)
    assert created['Name'] == 'c1'
    assert created['Workflow'] == 'cli_wf'
    assert created['Pattern'] == '*/10 * * * *'
    assert created['Next execution time'] == first + ':00'
    assert created['Remaining executions'] == 3
    listed = json.loads(deployment.cli('cron-trigger-list', '-f',
                                       'json').stdout)
    assert [t['Name'] for t in listed] == ['c1']
    got = json.loads(deployment.cli('cron-trigger-get', 'c1', '-f',
                                    'json').stdout)
    assert got['Name'] == 'c1'
    assert got['Next execution time'] == created['Next execution time']
    assert json.loads(got['Params']) == {}
    bad = deployment.cli('cron-trigger-create', 'c2', 'cli_wf',
                         '{"name": "cli"}', '--first-time',
                         '2000-01-01 00:00', '--utc', check=False)
    assert bad.returncode != 0
    assert 'at least 1 minute' in bad.stderr + bad.stdout
    deployment.cli('cron-trigger-delete', 'c1')
    # The CLI shows one blank row for an empty list.
    left = json.loads(deployment.cli('cron-trigger-list', '-f',
                                     'json').stdout)
    assert [t['Name'] for t in left if t['Name']] == []


def test_due_trigger_runs_in_the_embedded_server(deployment, client, wf):
    import sqlalchemy as sa

    from mistral.tests.functional.harness import wait_for

    ct = client.cron_triggers.create('due', 'cli_wf', {'name': 'cron'},
                                     pattern='0 0 1 1 *')
    engine = sa.create_engine(deployment.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE cron_triggers_v2 SET next_execution_time = "
                ":t WHERE name = 'due'"), {
                    't': datetime.datetime.utcnow()
                    - datetime.timedelta(minutes=5)})
    finally:
        engine.dispose()

    def started():
        return [e for e in client.executions.list()
                if ct.id in (e.description or '')]

    [ex] = wait_for(started, 30, 'the trigger to fire')
    done = deployment.wait_execution(ex.id)
    assert done.state == 'SUCCESS'
    assert json.loads(done.input) == {'name': 'cron'}
    client.cron_triggers.delete('due')


def test_event_trigger_cli(deployment, wf):
    created = json.loads(deployment.cli(
        'event-trigger-create', 'e1', wf.id, 'nova', 'notifications',
        'compute.instance.create.end', '{"name": "ev"}', '--params',
        '{"env": {"a": 1}}', '-f', 'json').stdout)
    assert created['Name'] == 'e1'
    assert created['Exchange'] == 'nova'
    listed = json.loads(deployment.cli('event-trigger-list', '-f',
                                       'json').stdout)
    assert [t['Name'] for t in listed] == ['e1']
    got = json.loads(deployment.cli('event-trigger-get', created['ID'],
                                    '-f', 'json').stdout)
    assert got['Event'] == 'compute.instance.create.end'
    deployment.cli('event-trigger-delete', created['ID'])
    left = json.loads(deployment.cli('event-trigger-list', '-f',
                                     'json').stdout)
    assert [t['Name'] for t in left if t['Name']] == []
