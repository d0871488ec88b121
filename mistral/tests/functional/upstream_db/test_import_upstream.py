"""Switching a real upstream Mistral 23.0.0 deployment over to us.

For each database upstream can run on (SQLite with its schema from its
models, PostgreSQL and MariaDB with its schema from its migrations), one
shared setup (the ``switch`` fixture) does what an operator does:

1. upstream runs, with a history made through its own API
   (:mod:`.history`), three executions still in flight;
2. ``import-upstream`` refuses (in flight) and copies nothing;
   ``--non-terminal=fail`` copies everything into a second target;
3. a first pass (``--non-terminal=skip``) copies the finished history
   into a database of another engine (SQLite -> PostgreSQL -> MariaDB ->
   SQLite: every engine is a source and a target once);
4. upstream is drained (what was in flight is cancelled), and its
   database is made to look as if it had been stopped for an hour (a cron
   trigger past due, the heartbeat of an action left running an hour
   old);
5. a dry run, then the final pass, which copies only what changed, then
   ``--verify``;
6. our API starts on the copy (its scheduler later, see the cron test).

The tests then compare every list and GET of both APIs, run imported
definitions, rerun an imported failed task, let the past-due trigger fire
and check that no imported action is run again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import re
import subprocess
import time
import uuid
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from mistral.tests.functional import harness
from mistral.tests.functional.upstream_db import compare
from mistral.tests.functional.upstream_db import history as history_mod
from mistral.tests.functional.upstream_db import upstream as upstream_mod

# Source engine -> target engine.
CROSS = {'sqlite': 'postgresql', 'postgresql': 'mysql', 'mysql': 'sqlite'}

# Short leases: the recovery sweep runs every 2 s, so an imported action it
# would take for lost is re-sent within the tests' waits (shorter leases
# fail slow actions on a busy machine: their renewals come late).
_FAST_RECOVERY = {'executor': {'action_lease': 6}}
_SWEEPS = 7.0       # seconds: three sweeps


def _conf(tmp: str) -> dict[str, dict[str, Any]]:
    """Our side's options: upstream's policy (see upstream._POLICY: code
    sources and public definitions allowed without authentication)."""
    policy = os.path.join(tmp, 'policy.yaml')
    with open(policy, 'w') as f:
        f.write(upstream_mod.POLICY)
    return dict(_FAST_RECOVERY, oslo_policy={'policy_file': policy})


@dataclasses.dataclass
class Switch:
    source: str
    up: upstream_mod.UpstreamServer
    history: history_mod.History
    target: harness.Deployment
    failed: harness.Deployment
    runs: dict[str, subprocess.CompletedProcess] = dataclasses.field(
        default_factory=dict)
    rows_after_refusal: dict[str, int] = dataclasses.field(
        default_factory=dict)
    member: str = ''


def manage(dep: harness.Deployment, *args: str
           ) -> subprocess.CompletedProcess:
    return subprocess.run(
        [harness._script('mistral-db-manage'), '--config-file',
         dep.conf_path, *args], capture_output=True, text=True,
        timeout=600, stdin=subprocess.DEVNULL, env=dep._child_env(),
        check=False)


def _count_rows(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            out = {}
            for table in ('workflow_definitions_v2', 'workflow_executions_v2',
                          'task_executions_v2', 'action_executions_v2',
                          'cron_triggers_v2', 'environments_v2'):
                out[table] = conn.execute(sa.text(
                    'SELECT count(*) FROM %s' % table)).scalar()
            return out
    finally:
        engine.dispose()


def _an_hour_ago(db_url: str, h: history_mod.History) -> None:
    """As if upstream had been stopped for an hour (its cron loop and
    heartbeats are off in these tests): the trigger's next time and the
    last heartbeat of the action left running are an hour old in upstream's
    database. Our scheduler then finds the trigger past due, and our
    recovery sweep would take that action for lost, were it not marked
    as imported."""
    past = (datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None, microsecond=0) - datetime.timedelta(hours=1))
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                'UPDATE cron_triggers_v2 SET next_execution_time = :t '
                'WHERE id = :id'), {'t': past, 'id': h.due_cron_trigger})
            conn.execute(sa.text(
                'UPDATE action_executions_v2 SET last_heartbeat = :t, '
                'updated_at = :now WHERE id = :id'),
                {'t': past, 'now': past + datetime.timedelta(hours=1),
                 'id': h.sleeping_action_id})
    finally:
        engine.dispose()


MEMBER_ID = 'imp-other-project'


def _share(db_url: str, workflow_id: str) -> str:
    """A workflow member. Upstream's API refuses members without
    authentication (as ours does), so the row is written in its database,
    with the values its API would have stored."""
    member_id = str(uuid.uuid4())
    now = datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None, microsecond=0)
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                'INSERT INTO resource_members_v2 (id, created_at, '
                'resource_id, resource_type, project_id, member_id, status) '
                "VALUES (:id, :now, :wf, 'workflow', '<default-project>', "
                ":member, 'pending')"),
                {'id': member_id, 'now': now, 'wf': workflow_id,
                 'member': MEMBER_ID})
    finally:
        engine.dispose()
    return member_id


@pytest.fixture(scope='module', params=list(CROSS))
def switch(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Switch]:
    source = request.param
    conf = _conf(str(tmp_path_factory.mktemp('policy')))
    with contextlib.ExitStack() as stack:
        up = stack.enter_context(upstream_mod.UpstreamServer(source))
        hist = history_mod.build(up.url)
        member = _share(up.db_url, hist.workflow_ids['imp_hello'])
        target = harness.Deployment(
            db=CROSS[source], transport='rabbit',
            processes=[['api', 'engine', 'executor', 'notifier'],
                       ['scheduler']],
            conf_overrides=conf)
        stack.callback(target.close)
        target.setup()
        failed = harness.Deployment(db='sqlite', transport='fake',
                                    processes=[['all']],
                                    conf_overrides=conf)
        stack.callback(failed.close)
        failed.setup()
        s = Switch(source=source, up=up, history=hist, target=target,
                   failed=failed, member=member)
        s.runs['refused'] = manage(target, 'import-upstream', '--from',
                                   up.db_url)
        s.rows_after_refusal = _count_rows(target.db_url)
        s.runs['fail'] = manage(failed, 'import-upstream', '--from',
                                up.db_url, '--non-terminal=fail')
        # The first pass while upstream still runs; the final one is to
        # copy only what changed after it (a 1 s overlap: nothing else
        # runs upstream meanwhile).
        time.sleep(1.5)
        s.runs['first'] = manage(target, 'import-upstream', '--from',
                                 up.db_url, '--non-terminal=skip')
        time.sleep(1.5)
        history_mod.drain(up.url, hist)
        _an_hour_ago(up.db_url, hist)
        s.runs['dry'] = manage(target, 'import-upstream', '--from',
                               up.db_url, '--dry-run', '--overlap', '1')
        s.runs['final'] = manage(target, 'import-upstream', '--from',
                                 up.db_url, '--overlap', '1')
        s.runs['verify'] = manage(target, 'import-upstream', '--from',
                                  up.db_url, '--verify')
        # The scheduler (process 1) starts in test_past_due_cron_fires_once.
        target.processes[0].start()
        target.wait_ready([target.processes[0]])
        yield s


def _ok(run: subprocess.CompletedProcess, code: int = 0) -> str:
    assert run.returncode == code, run.stdout + run.stderr
    return run.stdout


def _trees(out: str) -> tuple[int, int, int]:
    m = re.search(r'execution trees: (\d+) upstream, (\d+) (?:copied|to '
                  r'copy), (\d+) unchanged', out)
    assert m, out
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def _table(out: str, table: str) -> list[int]:
    m = re.search(r'^\s+%s\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$' % table, out,
                  re.M)
    assert m, out
    return [int(x) for x in m.groups()]


def test_in_flight_refused_and_nothing_copied(switch: Switch) -> None:
    out = _ok(switch.runs['refused'], 2)
    assert 'Nothing was copied: 3 execution(s)' in out
    for ex_id in switch.history.in_flight.values():
        assert ex_id in out
    assert 'PUT /v2/maintenance' in out and '--non-terminal=fail' in out
    assert set(switch.rows_after_refusal.values()) == {0}, \
        switch.rows_after_refusal


def test_two_passes_copy_history_then_only_changes(switch: Switch) -> None:
    first = _ok(switch.runs['first'])
    assert 'first pass' in first
    assert 'upstream schema built by its %s' % switch.up.built_by in first
    total, copied, _ = _trees(first)
    assert copied == total - 3          # all but the three in flight
    assert '3 execution(s) in flight upstream: left for a later pass' in \
        first
    assert re.search(r'execution trees: \d+/\d+ \(100%\), \d+ rows', first)
    for table in ('delayed_calls_v2', 'scheduled_jobs_v2', 'named_locks'):
        assert 'not copied: %s' % table in first

    dry = _ok(switch.runs['dry'])
    assert dry.startswith('Reading') and 'Would copy' in dry
    assert _trees(dry)[1:] == (3, total - 3)
    final = _ok(switch.runs['final'])
    assert 'later pass (changes only)' in final
    # Only the three drained trees, the trigger made due, nothing else.
    assert _trees(final) == (total, 3, total - 3)
    assert _table(final, 'cron_triggers_v2')[1:] == [0, 1, 0]
    assert _table(final, 'workflow_definitions_v2')[1:] == [0, 0, 0]

    verify = _ok(switch.runs['verify'])
    assert verify.rstrip().splitlines()[-1].strip().startswith('identical')
    assert re.search(r'resource_members_v2\s+1\s+0\s+0\s+0', verify)


def test_members_carried(switch: Switch) -> None:
    engine = sa.create_engine(switch.target.db_url,
                              poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text(
                'SELECT resource_id, resource_type, project_id, member_id, '
                'status FROM resource_members_v2 WHERE id = :id'),
                {'id': switch.member}).one()
    finally:
        engine.dispose()
    assert tuple(row) == (switch.history.workflow_ids['imp_hello'],
                          'workflow', '<default-project>', MEMBER_ID,
                          'pending')


def test_every_list_and_get_matches_upstream(switch: Switch) -> None:
    c = compare.compare(switch.target.api_url, switch.up.url)
    assert c.differences == [], '\n'.join(c.differences[:50])
    # It compared what the history holds (a broken walk finds nothing).
    assert c.compared['/executions/*'] >= 20
    assert c.compared['/tasks/*'] >= 30
    assert c.compared['/action_executions/*'] >= 30
    assert c.compared['/executions/*/report'] >= 20


def _api(switch: Switch) -> history_mod.Api:
    return history_mod.Api(switch.target.api_url)


def test_imported_definitions_run(switch: Switch) -> None:
    api = _api(switch)
    runs = [api.start('imp_hello', {'name': 'here'}),
            api.start('imp_hello', {}, workflow_namespace='imp_ns'),
            api.start('imp_parent', {'n': 1}),
            api.start('imp_items'),
            api.start('imp_join'),
            api.start('imp_adhoc'),
            api.start('imp_reverse', params={'task_name': 'b'}),
            api.start('imp_wb.main', workflow_namespace='imp_ns'),
            api.start('imp_hello', {'name': 'env'},
                      params={'env': 'imp_env'})]
    for ex_id in runs:
        ex = api.wait(ex_id)
        assert ex['state'] == 'SUCCESS', (ex, [
            (t['name'], t['state'], t['state_info'])
            for t in api.tasks(ex_id)], switch.target.logs(tail=60))
    out = json.loads(api.get('/executions/%s' % runs[0])['output'])
    assert out == {'greeting': 'Hello, here!'}


def test_failed_imported_task_reruns(switch: Switch) -> None:
    api = _api(switch)
    task = api.get('/tasks/%s' % switch.history.failed_task_id)
    assert task['state'] == 'ERROR'
    api.put('/tasks/%s' % task['id'], {
        'state': 'RUNNING', 'reset': True,
        'env': json.dumps(switch.history.failed_rerun_env)})
    ex = api.wait(task['workflow_execution_id'])
    assert ex['state'] == 'SUCCESS', ex
    task = api.get('/tasks/%s' % task['id'])
    assert json.loads(task['published']) == {'q': 1}


def _imported_action(api: history_mod.Api, action_id: str,
                     db_url: str) -> dict[str, Any]:
    row = api.get('/action_executions/%s' % action_id)
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            row['executor_id'], row['tries'] = conn.execute(sa.text(
                'SELECT executor_id, (SELECT count(*) FROM '
                'action_executions_v2 b WHERE b.task_execution_id = '
                'a.task_execution_id) FROM action_executions_v2 a '
                'WHERE id = :id'), {'id': action_id}).one()
    finally:
        engine.dispose()
    return row


def test_imported_running_action_never_runs_again(switch: Switch) -> None:
    # Left RUNNING upstream by the cancel (a sync, safe-rerun std.sleep),
    # it is copied as it is; a sweep that took it for lost would send it
    # to our executor within a second or two.
    api = _api(switch)
    action_id = switch.history.sleeping_action_id
    time.sleep(_SWEEPS)
    row = _imported_action(api, action_id, switch.target.db_url)
    assert (row['state'], row['executor_id'], row['tries']) == (
        'RUNNING', 'upstream-import', 1), row
    assert _mentions(switch.target, action_id) == []


def _mentions(dep: harness.Deployment, action_id: str) -> list[str]:
    """Log lines about the action, other than the API's access log (a
    re-send or a run would be logged)."""
    return [line for line in dep.logs().splitlines()
            if action_id in line and 'mistral.api.access' not in line]


def test_past_due_cron_fires_once(switch: Switch) -> None:
    api = _api(switch)
    trigger = switch.history.due_cron_trigger
    switch.target.start(1)

    def fired() -> list[dict[str, Any]]:
        return [ex for ex in api.get('/executions')['executions']
                if trigger in (ex.get('description') or '')]

    harness.wait_for(fired, 60, 'the past-due trigger to fire',
                     logs=switch.target.logs)
    time.sleep(4)           # several scheduler rounds
    runs = fired()
    assert len(runs) == 1, runs
    assert api.wait(runs[0]['id'])['state'] == 'SUCCESS'
    after = api.get('/cron_triggers/imp_cron_due')
    nxt = datetime.datetime.strptime(after['next_execution_time'],
                                     '%Y-%m-%d %H:%M:%S')
    assert nxt > datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None)


def test_fail_mode_copies_in_flight_in_error_and_reruns(switch: Switch
                                                         ) -> None:
    out = _ok(switch.runs['fail'])
    assert '3 execution(s) in flight upstream: copied with their ' \
        'unfinished parts in ERROR' in out
    dep = switch.failed
    dep.start_all()
    api = history_mod.Api(dep.api_url)
    for ex_id in switch.history.in_flight.values():
        ex = api.get('/executions/%s' % ex_id)
        assert ex['state'] == 'ERROR'
        assert 'Imported from upstream OpenStack Mistral while ' in \
            ex['state_info']
    # The sync std.sleep was running in upstream's executor: here it is in
    # ERROR and stays so, never handed to an executor.
    time.sleep(_SWEEPS)
    row = _imported_action(api, switch.history.sleeping_action_id,
                           dep.db_url)
    assert (row['state'], row['executor_id'], row['tries']) == (
        'ERROR', 'upstream-import', 1), row
    assert _mentions(dep, switch.history.sleeping_action_id) == []
    # Rerunnable: the async task runs again and finishes here.
    ex_id = switch.history.in_flight['running']
    task = api.tasks(ex_id)[0]
    api.put('/tasks/%s' % task['id'], {'state': 'RUNNING', 'reset': True})

    def new_action() -> str | None:
        for aex in api.get('/tasks/%s/action_executions' % task['id'])[
                'action_executions']:
            if aex['state'] == 'RUNNING':
                return aex['id']
        return None

    aex_id = harness.wait_for(new_action, 30, 'the rerun action')
    assert aex_id != switch.history.running_action_id
    api.put('/action_executions/%s' % aex_id,
            {'state': 'SUCCESS', 'output': json.dumps({'done': True})})
    assert api.wait(ex_id)['state'] == 'SUCCESS'

