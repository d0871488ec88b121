"""import-upstream on a small upstream-like database (see fake_upstream):
refusal of work in flight, the three modes, later passes, what our
schema derives, the safety checks, verify. The whole switch from a real
upstream is tested in mistral/tests/functional/upstream_db."""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db import models
from mistral.db.migration import cli as db_cli
from mistral.db.upstream_import import command
from mistral.db.upstream_import import convert
from mistral.db.upstream_import import progress
from mistral.tests.unit.upstream_import import fake_upstream

CONF = cfg.CONF


@pytest.fixture
def target(tmp_path) -> Iterator[str]:
    """Our database, built by upgrade head, configured as the target."""
    url = 'sqlite:///' + str(tmp_path / 'target.sqlite')
    CONF.set_override('connection', url, group='database')
    db_api.dispose()
    db_cli.upgrade('head')
    try:
        yield url
    finally:
        db_api.dispose()


@pytest.fixture
def up(tmp_path) -> fake_upstream.Upstream:
    return fake_upstream.Upstream(str(tmp_path / 'upstream.sqlite'))


def run(source: str, *args: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    ns = parser.parse_args(['--from', source, *args])
    out = io.StringIO()
    code = command.run(ns, out=out)
    return code, out.getvalue()


def rows(table: str, **where: Any) -> list[dict[str, Any]]:
    t = convert.raw_table(table)
    stmt = sa.select(t)
    for k, v in where.items():
        stmt = stmt.where(t.c[k] == v)
    with db_api.get_engine().connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def test_in_flight_refused_nothing_written(target, up) -> None:
    wf = up.workflow()
    up.execution(wf, 'SUCCESS', [('t1', 'SUCCESS', ['SUCCESS'])])
    busy = up.execution(wf, 'RUNNING', [('t1', 'RUNNING', ['RUNNING'])])
    code, out = run(up.url)
    assert code == command.EXIT_IN_FLIGHT, out
    assert busy['id'] in out and 'RUNNING' in out
    assert 'Nothing was copied: 1 execution(s)' in out
    for table in ('workflow_definitions_v2', 'workflow_executions_v2',
                  'task_executions_v2', 'action_executions_v2'):
        assert rows(table) == [], table


def test_fail_mode_copies_unfinished_rows_in_error(target, up) -> None:
    wf = up.workflow()
    busy = up.execution(wf, 'PAUSED', [('t1', 'SUCCESS', ['SUCCESS']),
                                       ('t2', 'RUNNING', ['RUNNING'])])
    code, out = run(up.url, '--non-terminal=fail')
    assert code == 0, out
    ex = rows('workflow_executions_v2')[0]
    assert ex['state'] == 'ERROR' and ex['active_tasks'] == 0
    assert ex['state_info'].startswith(
        'Imported from upstream OpenStack Mistral while PAUSED')
    tasks = {t['name']: t for t in rows('task_executions_v2')}
    assert tasks['t1']['state'] == 'SUCCESS'
    assert tasks['t1']['state_info'] is None
    assert tasks['t2']['state'] == 'ERROR'
    assert 'while RUNNING' in tasks['t2']['state_info']
    assert tasks['t2']['active_children'] == 0
    by_id = {a['id']: a for a in rows('action_executions_v2')}
    running = by_id[busy['actions'][1]['id']]
    assert running['state'] == 'ERROR'
    assert running['executor_id'] == convert.EXECUTOR_ID
    assert running['lease_until'] is None
    assert running['workflow_execution_id'] == busy['id']


def test_skip_then_later_passes_copy_changes_only(target, up) -> None:
    wf = up.workflow()
    done = up.execution(wf, 'SUCCESS', [('t1', 'SUCCESS', ['SUCCESS'])])
    busy = up.execution(wf, 'RUNNING', [('t1', 'RUNNING', ['RUNNING'])])
    code, out = run(up.url, '--non-terminal=skip')
    assert code == 0, out
    assert 'execution trees: 2 upstream, 1 copied' in out
    assert [r['id'] for r in rows('workflow_executions_v2')] == [done['id']]

    # Upstream finishes its work; a later pass copies that tree only.
    later = datetime.datetime.now() + datetime.timedelta(minutes=5)
    up.update('workflow_executions_v2', busy['id'], state='SUCCESS',
              updated_at=later)
    up.update('task_executions_v2', busy['tasks'][0]['id'],
              state='SUCCESS', updated_at=later)
    up.update('action_executions_v2', busy['actions'][0]['id'],
              state='SUCCESS', accepted=True, updated_at=later)
    code, out = run(up.url, '--dry-run')
    assert code == 0 and 'execution trees: 2 upstream, 1 to copy, 1 ' \
        'unchanged' in out, out
    assert len(rows('workflow_executions_v2')) == 1      # dry: no write
    code, out = run(up.url)
    assert code == 0 and 'execution trees: 2 upstream, 1 copied, 1 ' \
        'unchanged' in out, out
    assert rows('workflow_executions_v2', id=busy['id'])[0]['state'] == \
        'SUCCESS'

    # A tree and a definition deleted upstream go here too.
    up.delete('action_executions_v2', done['actions'][0]['id'])
    up.delete('task_executions_v2', done['tasks'][0]['id'])
    up.delete('workflow_executions_v2', done['id'])
    extra = up.workflow('other')
    code, out = run(up.url)
    assert code == 0 and '1 deleted' in out, out
    assert rows('workflow_executions_v2', id=done['id']) == []
    assert rows('task_executions_v2', id=done['tasks'][0]['id']) == []
    assert rows('workflow_definitions_v2', id=extra['id'])

    code, out = run(up.url, '--verify')
    assert code == 0 and out.rstrip().endswith('s)') and 'identical' in out


def test_a_changed_child_row_copies_its_tree_again(target, up) -> None:
    wf = up.workflow()
    ex = up.execution(wf, 'CANCELLED', [('t1', 'RUNNING', ['RUNNING'])])
    assert run(up.url)[0] == 0
    # Only the stray action changes (it finished in upstream's executor).
    up.update('action_executions_v2', ex['actions'][0]['id'],
              state='SUCCESS', updated_at=datetime.datetime.now())
    code, out = run(up.url)
    assert code == 0 and '1 copied, 0 unchanged' in out, out
    assert rows('action_executions_v2')[0]['state'] == 'SUCCESS'


def test_derived_columns(target, up) -> None:
    wf = up.workflow(spec={'name': 'wf', 'version': '2.0',
                           'vars': {'v': 1}, 'tasks': {}})
    ex = up.execution(
        wf, 'CANCELLED', [('t1', 'RUNNING', ['RUNNING']),
                          ('t2', 'SUCCESS', ['SUCCESS'])],
        context={'__execution': {'id': 'x'}, 'openstack': {}, 'v': 2,
                 'g': 'published'})
    up.update('task_executions_v2', ex['tasks'][1]['id'], type=None,
              spec=json.dumps({'workflow': 'sub', 'name': 't2'}))
    up.update('workflow_definitions_v2', wf['id'], namespace=None)
    up.insert('cron_triggers_v2', id='c1', name='c', pattern='0 0 1 1 *',
              next_execution_time=fake_upstream.T0, workflow_name='wf',
              workflow_id=wf['id'], workflow_input='{"a": 1}',
              workflow_input_hash='x', workflow_params='{}',
              workflow_params_hash='y', scope='private',
              project_id='<default-project>', created_at=fake_upstream.T0)
    up.update('mistral_metrics', 1, value='PAUSING')
    up.insert('resource_members_v2', id='m1', resource_id=wf['id'],
              resource_type=None, project_id='<default-project>',
              member_id='other', status='accepted',
              created_at=fake_upstream.T0)
    up.insert('resource_members_v2', id='m2', resource_id=wf['id'],
              resource_type='workflow', project_id=None, member_id='x',
              status='pending', created_at=fake_upstream.T0)
    code, out = run(up.url)
    assert code == 0, out
    assert 'resource_members_v2 m2: it has no owner project' in out
    row = rows('workflow_executions_v2')[0]
    assert json.loads(row['runtime_context']) == {
        'index': 0, 'published_global': {'g': 'published'}}
    # The stray RUNNING task still counts (as ours would count it).
    assert row['active_tasks'] == 1
    tasks = {t['name']: t for t in rows('task_executions_v2')}
    assert tasks['t1']['active_children'] == 1
    assert tasks['t2']['type'] == 'WORKFLOW'
    assert tasks['t1']['context_refs'] is None
    stray = rows('action_executions_v2', id=ex['actions'][0]['id'])[0]
    assert (stray['state'], stray['executor_id'], stray['lease_until']) == (
        'RUNNING', convert.EXECUTOR_ID, None)
    assert stray['workflow_execution_id'] == ex['id']
    assert rows('workflow_definitions_v2')[0]['namespace'] == ''
    cron = rows('cron_triggers_v2')[0]
    assert cron['workflow_input_hash'] == models.cron_trigger_hash({'a': 1})
    assert cron['workflow_params_hash'] == models.cron_trigger_hash({})
    status = {r['name']: r['value'] for r in rows('mistral_metrics')}
    assert status['maintenance_status'] == 'PAUSED'
    member = rows('resource_members_v2')
    assert [(m['id'], m['resource_type'], m['member_id'], m['status'])
            for m in member] == [('m1', 'workflow', 'other', 'accepted')]


def test_workbook_spec_is_ours(target, up) -> None:
    text = ('---\nversion: "2.0"\nname: wb\nworkflows:\n  main:\n    tasks:'
            '\n      t:\n        action: std.noop\n')
    up.insert('workbooks_v2', id='wb1', name='wb', namespace='',
              definition=text, spec='{"upstream": "form"}', tags='[]',
              is_system=False, scope='private', project_id='p',
              created_at=fake_upstream.T0)
    assert run(up.url)[0] == 0
    from mistral.lang import parser

    spec = json.loads(rows('workbooks_v2')[0]['spec'])
    assert spec == parser.parse_workbook(text, validate=False).to_dict()


def test_first_pass_needs_an_empty_target(target, up) -> None:
    up.workflow()
    t = convert.raw_table('environments_v2')
    with db_api.get_engine().begin() as conn:
        conn.execute(t.insert().values(id='e', name='mine', scope='private',
                                       created_at=fake_upstream.T0))
    code, out = run(up.url)
    assert code == command.EXIT_REFUSED
    assert 'already holds data (environments_v2: 1 rows)' in out
    assert rows('workflow_definitions_v2') == []


def test_later_pass_refused_once_the_service_ran(target, up) -> None:
    wf = up.workflow()
    up.execution(wf)
    assert run(up.url)[0] == 0
    t = convert.raw_table('workflow_executions_v2')
    with db_api.get_engine().begin() as conn:
        conn.execute(t.insert().values(
            id='ours', state='SUCCESS', scope='private', accepted=False,
            active_tasks=0, created_at=datetime.datetime.now() +
            datetime.timedelta(minutes=10)))
    code, out = run(up.url)
    assert code == command.EXIT_REFUSED
    assert 'changed after the previous import pass' in out


def test_source_is_only_read(target, up, tmp_path) -> None:
    wf = up.workflow()
    up.execution(wf, tasks=[('t', 'SUCCESS', ['SUCCESS'])])
    path = str(tmp_path / 'upstream.sqlite')
    before = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    for args in ((), ('--verify',), ('--dry-run',)):
        assert run(up.url, *args)[0] == 0
    after = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    assert before == after
    assert not os.path.exists(path + '-wal')
    from mistral.db.migration import readonly

    eng = readonly.engine(up.url)
    try:
        with pytest.raises(sa.exc.OperationalError, match='readonly'):
            with eng.begin() as conn:
                conn.execute(sa.text('DELETE FROM named_locks'))
    finally:
        eng.dispose()


def test_verify_finds_a_changed_row(target, up) -> None:
    wf = up.workflow()
    ex = up.execution(wf, tasks=[('t', 'SUCCESS', ['SUCCESS'])])
    assert run(up.url)[0] == 0
    assert run(up.url, '--verify')[0] == 0
    t = convert.raw_table('task_executions_v2')
    with db_api.get_engine().begin() as conn:
        conn.execute(t.update().where(t.c.id == ex['tasks'][0]['id'])
                     .values(published='{"x": 1}'))
    code, out = run(up.url, '--verify')
    assert code == command.EXIT_DIFFERENT
    assert 'id %s differs in published' % ex['tasks'][0]['id'] in out
    assert 'DIFFERENT' in out


def test_older_upstream_schema_refused(target, tmp_path) -> None:
    old = fake_upstream.Upstream(str(tmp_path / 'old.sqlite'),
                                 built_by='migrations', revision='040')
    code, out = run(old.url)
    assert code == command.EXIT_REFUSED
    assert 'revision 040' in out and 'upgrade head' in out


def test_migrations_built_source(target, tmp_path) -> None:
    src = fake_upstream.Upstream(str(tmp_path / 'mig.sqlite'),
                                 built_by='migrations')
    src.insert('executions_v2', id='old', type='a')
    wf = src.workflow()
    src.execution(wf)
    code, out = run(src.url)
    assert code == 0, out
    assert 'upstream schema built by its migrations' in out
    assert 'not copied: executions_v2 (1 rows)' in out


def test_ours_is_not_a_source(target, tmp_path) -> None:
    code, out = run(CONF.database.connection)
    assert code == command.EXIT_REFUSED
    assert 'is a database of this service' in out


def test_progress_line() -> None:
    now = [0.0]
    out = io.StringIO()
    p = progress.Progress('trees', 10, out=out, every=1.0,
                          clock=lambda: now[0])
    now[0] = 2.0
    p.add(4, 400)
    now[0] = 4.0
    p.add(6, 600)
    lines = out.getvalue().splitlines()
    assert lines[0] == ('  trees: 4/10 (40%), 400 rows, 200 rows/s, '
                        'about 3 s left')
    assert lines[1] == '  trees: 10/10 (100%), 1000 rows, 250 rows/s'


def test_recovery_never_resends_an_imported_running_action(target, up
                                                           ) -> None:
    """Left RUNNING under a finished workflow, with an old heartbeat: our
    recovery sweep would take a row like it for a lost message and send it
    to an executor again."""
    from mistral.db import models
    from mistral.engine import recovery

    wf = up.workflow()
    ex = up.execution(wf, 'CANCELLED', [('t1', 'RUNNING', ['RUNNING'])])
    old = datetime.datetime.now() - datetime.timedelta(hours=1)
    up.update('action_executions_v2', ex['actions'][0]['id'],
              last_heartbeat=old)
    assert run(up.url)[0] == 0
    sent, to_fail = recovery.sweep_actions()
    assert (sent, to_fail) == (0, [])
    with db_api.read_session() as s:
        assert s.query(models.OutboxMessage).count() == 0
    row = rows('action_executions_v2')[0]
    assert (row['state'], row['executor_id']) == ('RUNNING',
                                                  convert.EXECUTOR_ID)
