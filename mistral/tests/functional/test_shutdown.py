"""SIGTERM: stop taking work, let running actions finish for
``[DEFAULT] graceful_shutdown_timeout`` seconds, hand back what is still
running, exit.

* the embedded default (SQLite, in-memory transport, one process), with
  executors and with ``[executor] type = local``: the server exits
  within the grace period (and a little) although actions sleep for
  minutes; an action that ends within the grace period reports
  its result; a handed-back safe-rerun action runs again when the server
  is back, a non-safe one has failed as when its executor dies;
* PostgreSQL and RabbitMQ, an executor of its own: SIGTERM to the
  executor in the middle of actions; the other executor takes the
  safe-rerun action at once (long before its lease would have run out),
  the non-safe one fails with the lost-executor error and the workflow
  goes on through on-error, the stopping executor claims nothing new, and
  its process exits with code 0.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from mistral.tests.functional.harness import Deployment
from mistral.tests.functional.harness import wait_for

pytestmark = pytest.mark.functional

GRACE = 4
# Long enough that recovery by lease expiry could not explain the
# hand-over times measured below.
ACTION_LEASE = 60

WF = """
version: '2.0'

sleepers:
  input:
    - long: 600
    - safe: 600
    - short: 2
  tasks:
    short:
      action: std.sleep seconds=<% $.short %>
      on-success: [after_short]
    after_short:
      # Runs on an executor (std.echo would run inside the engine).
      action: std.sleep seconds=0
    long_safe:
      action: std.sleep seconds=<% $.safe %>
      safe-rerun: true
    long_unsafe:
      action: std.sleep seconds=<% $.long %>
      on-error: [handled]
    handled:
      action: std.echo output=handled
"""


def _actions(dep: Deployment) -> dict[str, Any]:
    engine = sa.create_engine(dep.db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                'SELECT t.name, a.state, a.executor_id, a.state_info '
                'FROM action_executions_v2 a JOIN task_executions_v2 t '
                'ON t.id = a.task_execution_id')).all()
    finally:
        engine.dispose()
    return {r.name: r for r in rows}


def _wait_exit(proc: Any, timeout: float) -> tuple[int | None, float]:
    started = time.monotonic()
    try:
        code = proc.wait(timeout)
    except Exception:
        code = None
    return code, time.monotonic() - started


def _tasks(client: Any, ex_id: str) -> dict[str, Any]:
    return {t.name: t for t in client.tasks.list(ex_id)}


@pytest.mark.parametrize('executor_type', ['remote', 'local'])
def test_embedded_default_stops_within_the_grace_period(deploy,
                                                        executor_type):
    # local: the engine runs the actions ([executor] type = local).
    dep = deploy(db='sqlite', transport='fake', processes=[['all']],
                 conf_overrides={
                     'DEFAULT': {'graceful_shutdown_timeout': GRACE},
                     'executor': {'action_lease': ACTION_LEASE,
                                  'type': executor_type}})
    client = dep.client()
    client.workflows.create(WF)
    # The safe-rerun action sleeps 8 s: handed back at the grace deadline,
    # it runs again (and finishes) after the restart.
    ex = client.executions.create('sleepers', workflow_input={'safe': 8})

    def running() -> bool:
        # Claimed by an executor, not only created by the engine.
        acts = _actions(dep)
        return all(n in acts and acts[n].state == 'RUNNING'
                   and acts[n].executor_id
                   for n in ('short', 'long_safe', 'long_unsafe'))

    wait_for(running, 60, 'three actions running', logs=dep.logs)
    proc = dep.processes[0]
    proc.terminate()
    code, took = _wait_exit(proc.popen, GRACE + 20)
    assert code == 0, (code, dep.logs(tail=60))
    # Far below std.sleep's 600 s; the grace period and a little.
    assert took < GRACE + 10, took
    log = proc.log()
    assert 'handing back 2 action(s)' in log, log[-3000:]
    acts = _actions(dep)
    # Finished within the grace period: its result arrived.
    assert acts['short'].state == 'SUCCESS'
    assert acts['long_unsafe'].state == 'ERROR'
    assert "Heartbeat wasn't received" in acts['long_unsafe'].state_info

    dep.start(0)
    done = dep.wait_execution(ex.id, 90)
    tasks = _tasks(client, ex.id)
    assert tasks['long_safe'].state == 'SUCCESS', tasks['long_safe']
    assert tasks['long_unsafe'].state == 'ERROR'
    assert tasks['handled'].state == 'SUCCESS'
    # Sent to the stopping executor, declined, run after the restart.
    assert tasks['after_short'].state == 'SUCCESS'
    # The failure of long_unsafe was handled by its on-error.
    assert done.state == 'SUCCESS', (done.state, done.state_info)


def _wait_tasks(dep: Deployment, client: Any, ex_id: str,
                want: dict[str, str], timeout: float) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def reached() -> bool:
        found.clear()
        found.update(_tasks(client, ex_id))
        return all(n in found and found[n].state == s
                   for n, s in want.items())

    wait_for(reached, timeout, 'tasks %s' % want, logs=dep.logs)
    return found


def test_sigterm_hands_actions_to_another_executor(deploy):
    grace = 15
    dep = deploy(db='postgresql', transport='rabbit',
                 processes=[['api', 'engine', 'scheduler', 'notifier',
                             'event-engine'], ['executor'], ['executor']],
                 conf_overrides={
                     'DEFAULT': {'graceful_shutdown_timeout': grace},
                     'executor': {'action_lease': ACTION_LEASE}})
    # Only executor 1 runs while the actions are claimed.
    dep.stop(2)
    client = dep.client()
    client.workflows.create(WF)
    # short ends within the grace period, even counting the time
    # executor 2 takes to start.
    ex = client.executions.create('sleepers', workflow_input={'short': 10})

    def claimed() -> bool:
        acts = _actions(dep)
        return all(n in acts and acts[n].executor_id
                   for n in ('short', 'long_safe', 'long_unsafe'))

    wait_for(claimed, 60, 'executor 1 to claim three actions',
             logs=dep.logs)
    assert _actions(dep)['long_safe'].executor_id.endswith('@p1')
    dep.start(2)
    stopping = dep.processes[1]
    signalled = time.monotonic()
    stopping.terminate()

    # The safe-rerun action is claimed by executor 2 once the grace period
    # is over: long before its lease would have run out.
    def rerun_elsewhere() -> bool:
        row = _actions(dep)['long_safe']
        return bool(row.executor_id and row.executor_id.endswith('@p2'))

    wait_for(rerun_elsewhere, grace + 30,
             'the safe-rerun action to move to executor 2', logs=dep.logs)
    moved_after = time.monotonic() - signalled
    assert grace - 1 < moved_after < grace + 10 < ACTION_LEASE, moved_after

    code, _ = _wait_exit(stopping.popen, 30)
    assert code == 0, (code, stopping.log()[-3000:])
    assert 'handing back 2 action(s)' in stopping.log()

    tasks = _wait_tasks(dep, client, ex.id, {
        'short': 'SUCCESS', 'after_short': 'SUCCESS',
        'long_unsafe': 'ERROR', 'handled': 'SUCCESS',
        'long_safe': 'RUNNING'}, 60)
    assert "Heartbeat wasn't received" in tasks['long_unsafe'].state_info
    acts = _actions(dep)
    # Finished within the grace period, on executor 1.
    assert acts['short'].executor_id.endswith('@p1')
    # Work that came after SIGTERM went to executor 2 only.
    assert acts['after_short'].executor_id.endswith('@p2')
    client.executions.update(ex.id, 'CANCELLED')
