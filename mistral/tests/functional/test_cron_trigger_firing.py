"""A one-time cron trigger of a workflow in a namespace, fired by the
scheduler, as upstream Mistral 23.0.0 fires it (observed on a live
upstream): the execution runs in the workflow's namespace (its
``params.namespace``), so its sub-workflow comes from that namespace; the
trigger's params (env) are the execution's; the trigger is gone after
its one firing. On every backend of the matrix."""

from __future__ import annotations

import datetime
import json

import sqlalchemy as sa

from mistral.tests.functional.harness import wait_for

SUB = """---
version: '2.0'
cron_sub:
  tasks:
    t:
      action: std.echo output="%s"
  output:
    where: <%% task(t).result %%>
"""

TOP = """---
version: '2.0'
cron_top:
  tasks:
    c:
      workflow: cron_sub
      publish:
        where: <% task(c).result.where %>
  output:
    where: <% $.where %>
    env: <% env() %>
"""


def _make_due(deployment, trigger_id: str) -> None:
    engine = sa.create_engine(deployment.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                'UPDATE cron_triggers_v2 SET next_execution_time = :t '
                'WHERE id = :id'), {
                    't': datetime.datetime.utcnow()
                    - datetime.timedelta(seconds=5), 'id': trigger_id})
    finally:
        engine.dispose()


def test_one_time_trigger_fires_in_the_workflows_namespace(deployment,
                                                           client):
    client.workflows.create(SUB % 'from ns1', namespace='ns1')
    client.workflows.create(SUB % 'from default')
    [top] = client.workflows.create(TOP, namespace='ns1')
    first = (datetime.datetime.utcnow() + datetime.timedelta(minutes=10)
             ).strftime('%Y-%m-%d %H:%M')
    trig = client.cron_triggers.create(
        'once_ns', top.id, workflow_params={'env': {'k': 'v'}},
        first_time=first)
    assert trig.pattern == '0 0 30 2 0'
    assert trig.remaining_executions == 1
    _make_due(deployment, trig.id)

    def fired():
        return [e for e in client.executions.list(limit=1000)
                if trig.id in (e.description or '')]

    [ex] = wait_for(fired, 60, 'the trigger to fire',
                    logs=lambda: deployment.logs(tail=60))
    done = deployment.wait_execution(ex.id)
    assert done.state == 'SUCCESS', done.state_info
    assert done.workflow_namespace == 'ns1'
    params = json.loads(done.params)
    assert params['namespace'] == 'ns1'
    assert params['env'] == {'k': 'v'}
    assert json.loads(done.output) == {'where': 'from ns1',
                                       'env': {'k': 'v'}}
    wait_for(lambda: not [t for t in client.cron_triggers.list()
                          if t.name == 'once_ns'], 30,
             'the one-time trigger to be deleted after firing')
    for name, ns in (('cron_top', 'ns1'), ('cron_sub', 'ns1'),
                     ('cron_sub', '')):
        for e in client.executions.list(limit=1000):
            if e.workflow_name == name and not e.task_execution_id:
                client.executions.delete(e.id, force=True)
        client.workflows.delete(name, namespace=ns)
