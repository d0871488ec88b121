"""Webhook deliveries survive a receiver that is down and a notifier that
is killed (PostgreSQL, RabbitMQ, one process per component).

A workflow with a sub-workflow, a task retried and a failure runs to its
end while the receiver refuses connections, then answers 503, then comes
up: it gets every event, in order per execution. In the second test the
notifier is killed with SIGKILL while the events wait, and restarted.
"""

from __future__ import annotations

import signal
import time

import pytest
import sqlalchemy as sa

from mistral.tests.functional.harness import free_port
from mistral.tests.functional.harness import wait_for
from mistral.tests.unit.notifiers.hook_server import HookServer

NOTIFIER = 3

pytestmark = pytest.mark.deployment(
    db='postgresql', transport='rabbit',
    processes=[['api'], ['engine'], ['executor'], ['notifier'],
               ['scheduler']],
    conf_overrides={
        # The hook server is on loopback.
        'action_std_http': {'denied_cidrs': ['169.254.0.0/16', 'fe80::/10']},
        'notifier': {'retry_backoff': 0.5, 'retry_max_backoff': 2,
                     'retry_timeout': 600, 'delivery_lease': 20}})

WFS = """---
version: '2.0'
{name}:
  tasks:
    call:
      workflow: {name}_child
      on-success: flaky
    flaky:
      action: std.fail
      retry:
        count: 2
        delay: 1
{name}_child:
  tasks:
    inner:
      action: std.echo output=1
"""

# What each execution reports, in this order.
PARENT = [('{name}', 'WORKFLOW_LAUNCHED'),
          ('call', 'TASK_LAUNCHED'), ('call', 'TASK_SUCCEEDED'),
          ('flaky', 'TASK_LAUNCHED'), ('flaky', 'TASK_FAILED'),
          ('{name}', 'WORKFLOW_FAILED')]
CHILD = [('{name}_child', 'WORKFLOW_LAUNCHED'),
         ('inner', 'TASK_LAUNCHED'), ('inner', 'TASK_SUCCEEDED'),
         ('{name}_child', 'WORKFLOW_SUCCEEDED')]


def _lane(bodies, ex_id):
    """The events of one execution, as received, a repeated delivery (at
    least once) counted once."""
    seen, out = set(), []
    for b in bodies:
        if ex_id not in (b['id'], b.get('workflow_execution_id')):
            continue
        key = (b['id'], b['event'], b['updated_at'])
        if key not in seen:
            seen.add(key)
            out.append((b['name'], b['event']))
    return out


def _queued(deployment) -> list[tuple[str, int]]:
    engine = sa.create_engine(deployment.db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                'SELECT event, attempts FROM notification_deliveries '
                'ORDER BY id'))]
    finally:
        engine.dispose()


def _run_while_down(deployment, client, name, url):
    client.workflows.create(WFS.format(name=name))
    ex = client.executions.create(name, notify=[
        {'type': 'webhook', 'url': url}])
    assert deployment.wait_execution(ex.id, timeout=180).state == 'ERROR'
    return ex


def _check(hooks, client, ex, name):
    child = [e for e in client.executions.list(limit=1000)
             if e.root_execution_id == ex.id and e.id != ex.id]
    assert len(child) == 1
    want_parent = [(n.format(name=name), e) for n, e in PARENT]
    want_child = [(n.format(name=name), e) for n, e in CHILD]
    got = hooks.wait_for(
        lambda _b: _lane(hooks.accepted(), ex.id) == want_parent
        and _lane(hooks.accepted(), child[0].id) == want_child, 180)
    assert got
    accepted = hooks.accepted()
    assert _lane(accepted, ex.id) == want_parent
    assert _lane(accepted, child[0].id) == want_child
    done = [b for b in accepted if b['event'] == 'WORKFLOW_FAILED'][0]
    assert done['id'] == ex.id and done['state'] == 'ERROR'


def test_receiver_down_then_503_then_up(deployment, client):
    port = free_port()
    url = 'http://127.0.0.1:%d/hook' % port
    ex = _run_while_down(deployment, client, 'down_first', url)
    # Nothing listens: the events wait, retried.
    wait_for(lambda: any(a >= 2 for _e, a in _queued(deployment)), 60,
             'deliveries to be retried')
    assert len(_queued(deployment)) >= 10
    with HookServer(status=503, port=port) as hooks:
        hooks.wait_for(lambda got: len(got) >= 2, 60)
        assert hooks.accepted() == []
        hooks.status = 200
        _check(hooks, client, ex, 'down_first')
        wait_for(lambda: _queued(deployment) == [], 30,
                 'the queue to empty')


def test_notifier_killed_while_events_wait(deployment, client):
    port = free_port()
    url = 'http://127.0.0.1:%d/hook' % port
    ex = _run_while_down(deployment, client, 'killed', url)
    wait_for(lambda: any(a >= 1 for _e, a in _queued(deployment)), 60,
             'a delivery to fail')
    deployment.kill(NOTIFIER, signal.SIGKILL)
    queued = _queued(deployment)
    assert len(queued) >= 10
    with HookServer(port=port) as hooks:
        time.sleep(2)
        # Nobody publishes while the notifier is dead.
        assert hooks.requests == []
        deployment.start(NOTIFIER)
        _check(hooks, client, ex, 'killed')
    wait_for(lambda: _queued(deployment) == [], 30, 'the queue to empty')
