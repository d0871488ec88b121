"""Executors as separate ``mistral-server --server executor`` processes.

PostgreSQL and RabbitMQ; one process runs the API, the engine and the
scheduler, and executors run in their own processes, each with its own
``[executor] host`` (``p1``, ``p2``, ``p3``: the harness names hosts after
the process index). Short leases keep the tests quick.

* ``target:`` routes every action to the executor with that host; the
  executor that claimed an action is recorded in its ``executor_id``
  (``<process id>@<host>``);
* an action whose target no executor has waits, says so in the
  ``state_info`` of the action execution and of the task, and runs when an
  executor with that target starts;
* an executor killed with SIGKILL in the middle of a long action: the
  action fails ("Heartbeat wasn't received." as upstream, and why) once its
  lease runs out, and the workflow goes on
  through ``on-error``; with ``safe-rerun: true`` it runs again on another
  executor and the workflow succeeds.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from mistral.tests.functional.harness import Deployment
from mistral.tests.functional.harness import wait_for

pytestmark = pytest.mark.functional

ACTION_LEASE = 4

WORKFLOWS = """
version: '2.0'

route:
  input: [hosts]
  output:
    r: <% $.r %>
  tasks:
    fan:
      with-items: h in <% $.hosts %>
      action: std.echo output=<% $.h %>
      target: <% $.h %>
      publish:
        r: <% task().result %>
      on-success: [anywhere]
    anywhere:
      action: std.sleep seconds=0

one_target:
  input: [target]
  output:
    r: <% $.r %>
  tasks:
    far:
      action: std.echo output=arrived
      target: <% $.target %>
      publish:
        r: <% task().result %>

long_unsafe:
  output:
    handled: <% $.handled %>
  tasks:
    slow:
      # Far longer than the test waits: only recovery can end it.
      action: std.sleep seconds=600
      on-error: [handled]
    handled:
      action: std.echo output=handled
      publish:
        handled: <% task().result %>

long_safe:
  output:
    done: <% $.done %>
  tasks:
    slow:
      action: std.sleep seconds=15
      safe-rerun: true
      publish:
        done: yes
"""

LOST = ("Heartbeat wasn't received. The executor running this action "
        'stopped before it reported a result, and the action is not marked '
        'safe-rerun, so it was not run again [action_ex_id=%s]')

# Process groups: 0 runs the services, 1-3 are executors p1-p3; p3 is only
# started by the test that waits for it.
PROCESSES = [['api', 'engine', 'scheduler'], ['executor'], ['executor'],
             ['executor']]
LATE = 3


@pytest.fixture(scope='module')
def dep() -> Iterator[Deployment]:
    d = Deployment(db='postgresql', transport='rabbit', processes=PROCESSES,
                   conf_overrides={
                       'executor': {'action_lease': ACTION_LEASE},
                       'engine': {'outbox_lease': 2,
                                  'outbox_poll_interval': 0.5}})
    try:
        d.setup()
        early = [p for p in d.processes if p.index != LATE]
        for p in early:
            p.start()
        d.wait_ready(early)
        d.client().workflows.create(WORKFLOWS)
        db = sa.create_engine(d.db_url, poolclass=sa.pool.NullPool)
        d.sql = db  # type: ignore[attr-defined]
        yield d
    finally:
        d.close()


def _actions(dep: Deployment, wf_ex_id: str, task: str) -> list[Any]:
    with dep.sql.connect() as c:  # type: ignore[attr-defined]
        return c.execute(sa.text(
            'SELECT a.id, a.state, a.state_info, a.executor_id, a.output '
            'FROM action_executions_v2 a JOIN task_executions_v2 t '
            'ON t.id = a.task_execution_id '
            'WHERE t.workflow_execution_id = :wf AND t.name = :task'),
            {'wf': wf_ex_id, 'task': task}).all()


def _host(executor_id: str | None) -> str | None:
    return executor_id.rpartition('@')[2] if executor_id else None


def _task(client: Any, wf_ex_id: str, name: str) -> Any:
    [task] = [t for t in client.tasks.list(wf_ex_id) if t.name == name]
    return client.tasks.get(task.id)


def test_each_action_runs_on_its_target(dep):
    client = dep.client()
    hosts = ['p1', 'p2'] * 4
    ex = client.executions.create('route', workflow_input={'hosts': hosts})
    wf = dep.wait_execution(ex.id, timeout=180)
    assert wf.state == 'SUCCESS', wf.state_info
    actions = _actions(dep, ex.id, 'fan')
    assert len(actions) == len(hosts)
    assert {a.state for a in actions} == {'SUCCESS'}
    # The echo says which target the item asked for; the claim says which
    # executor took it.
    ran_on = sorted((_host(a.executor_id), _result(a)) for a in actions)
    assert ran_on == sorted((h, h) for h in hosts)
    [anywhere] = _actions(dep, ex.id, 'anywhere')
    assert _host(anywhere.executor_id) in ('p1', 'p2')


def _cpus(pid: int) -> set[int]:
    return {cpu for tid in os.listdir('/proc/%d/task' % pid)
            for cpu in os.sched_getaffinity(int(tid))}


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2,
                    reason='needs two CPUs this process may use')
def test_component_processes_stay_on_one_cpu(dep):
    # [DEFAULT] cpu_affinity = auto (the default): a second after start
    # each process that runs one component keeps all its threads on one
    # CPU; the launcher of the process group that runs the API, the
    # engine and the scheduler (one child each) is left to the kernel.
    executors = [p for p in dep.processes
                 if p.names == ['executor'] and p.alive()]
    assert len(executors) >= 2
    [services] = [p for p in dep.processes if 'engine' in p.names]
    with open('/proc/%d/task/%d/children' % (services.pid,
                                              services.pid)) as f:
        children = [int(pid) for pid in f.read().split()]
    assert len(children) == 3
    pids = [p.pid for p in executors] + children
    allowed = os.sched_getaffinity(0)
    wait_for(lambda: all(len(_cpus(pid)) == 1 for pid in pids),
             timeout=30, what='components confined to one CPU')
    for pid in pids:
        assert _cpus(pid) <= allowed
    assert _cpus(services.pid) == allowed
    # The launcher numbered its three, so that they start on different
    # CPUs (where they go later depends on the load).
    assert sorted(_slot(pid) for pid in children) == ['0', '1', '2']


def _slot(pid: int) -> str | None:
    with open('/proc/%d/environ' % pid, 'rb') as f:
        for item in f.read().split(b'\0'):
            name, _, value = item.decode().partition('=')
            if name == 'MISTRAL_CPU_SLOT':
                return value
    return None


def _result(row: Any) -> Any:
    out = row.output
    if isinstance(out, str):
        out = json.loads(out)
    return (out or {}).get('result')


def test_action_waits_for_an_executor_with_its_target(dep):
    client = dep.client()
    ex = client.executions.create('one_target',
                                  workflow_input={'target': 'p3'})
    notice = ('Waiting for an executor with target "p3": no running '
              'executor has that target ([executor] host); the action '
              'runs as soon as one starts')

    def noted() -> Any:
        task = _task(client, ex.id, 'far')
        return task if task.state_info == notice else None

    task = wait_for(noted, timeout=120,
                    what='the task to say it waits for target p3',
                    logs=lambda: dep.logs(tail=60))
    assert task.state == 'RUNNING'
    [action] = client.action_executions.list(task.id)
    assert action.state == 'RUNNING'
    assert action.state_info == notice
    [row] = _actions(dep, ex.id, 'far')
    assert row.executor_id is None
    assert client.executions.get(ex.id).state == 'RUNNING'

    dep.start(LATE)
    wf = dep.wait_execution(ex.id, timeout=120)
    assert wf.state == 'SUCCESS', wf.state_info
    [row] = _actions(dep, ex.id, 'far')
    assert _host(row.executor_id) == 'p3'
    assert _result(row) == 'arrived'
    assert row.state_info is None
    assert _task(client, ex.id, 'far').state_info is None


def _claimed(dep: Deployment, wf_ex_id: str) -> Any:
    def claimed() -> Any:
        rows = _actions(dep, wf_ex_id, 'slow')
        return rows[0] if rows and rows[0].executor_id else None

    return wait_for(claimed, timeout=120, what='an executor to claim slow',
                    logs=lambda: dep.logs(tail=60))


def _kill_executor(dep: Deployment, host: str) -> int:
    index = int(host[1:])
    assert dep.processes[index].names == ['executor']
    dep.kill(index, signal.SIGKILL)
    dep.processes[index].wait(30)
    return index


def test_killed_executor_fails_its_action_and_on_error_runs(dep):
    client = dep.client()
    ex = client.executions.create('long_unsafe')
    row = _claimed(dep, ex.id)
    killed = _kill_executor(dep, _host(row.executor_id))
    try:
        wf = dep.wait_execution(ex.id, timeout=120)
        assert wf.state == 'SUCCESS', wf.state_info
        assert json.loads(wf.output) == {'handled': 'handled'}
        [row] = _actions(dep, ex.id, 'slow')
        assert row.state == 'ERROR'
        assert row.state_info == LOST % row.id
        slow = _task(client, ex.id, 'slow')
        assert slow.state == 'ERROR'
        assert LOST % row.id in slow.state_info
        handled = _task(client, ex.id, 'handled')
        assert handled.state == 'SUCCESS'
    finally:
        dep.start(killed)


def test_killed_executor_safe_rerun_runs_again_elsewhere(dep):
    client = dep.client()
    ex = client.executions.create('long_safe')
    row = _claimed(dep, ex.id)
    first = _host(row.executor_id)
    killed = _kill_executor(dep, first)
    try:
        wf = dep.wait_execution(ex.id, timeout=180)
        assert wf.state == 'SUCCESS', wf.state_info
        [row] = _actions(dep, ex.id, 'slow')
        assert row.state == 'SUCCESS'
        assert row.state_info is None
        again = _host(row.executor_id)
        assert again != first and again in ('p1', 'p2', 'p3')
        slow = _task(client, ex.id, 'slow')
        assert slow.state == 'SUCCESS'
    finally:
        dep.start(killed)
