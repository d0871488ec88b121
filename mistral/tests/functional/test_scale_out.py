"""Two engines and two executors (separate processes) share the work of
many concurrent workflows: every workflow succeeds and every task runs
exactly once."""

from __future__ import annotations

import concurrent.futures

import pytest
import sqlalchemy as sa

from mistral.tests.functional import harness

N_WORKFLOWS = 50
N_TASKS = 10


def _chain(n: int) -> str:
    lines = ["version: '2.0'", 'chain:', '  tasks:']
    for i in range(n):
        lines.append('    t%d:' % i)
        lines.append('      action: std.echo output=%d' % i)
        if i + 1 < n:
            lines.append('      on-success: t%d' % (i + 1))
    return '\n'.join(lines) + '\n'


@pytest.mark.parametrize('db', ['postgresql', 'mysql'])
def test_two_engines_two_executors(db):
    processes = [['api'], ['engine'], ['engine'], ['executor'],
                 ['executor']]
    # Through executors: trivial actions would otherwise run inline.
    with harness.Deployment(
            db=db, transport='rabbit', processes=processes,
            conf_overrides={'engine': {'inline_builtin_actions': False}}
    ) as dep:
        client = dep.client()
        client.workflows.create(_chain(N_TASKS))
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(
                lambda _: client.executions.create('chain').id,
                range(N_WORKFLOWS)))
        for ex_id in ids:
            ex = dep.wait_execution(ex_id, timeout=180)
            assert ex.state == 'SUCCESS', ex.state_info

        engine = sa.create_engine(dep.db_url)
        try:
            with engine.connect() as conn:
                tasks = conn.execute(sa.text(
                    'SELECT workflow_execution_id, name, COUNT(*) '
                    'FROM task_executions_v2 GROUP BY '
                    'workflow_execution_id, name')).all()
                actions = conn.execute(sa.text(
                    'SELECT task_execution_id, COUNT(*), '
                    'COUNT(DISTINCT executor_id) FROM action_executions_v2 '
                    'GROUP BY task_execution_id')).all()
                executors = conn.execute(sa.text(
                    'SELECT DISTINCT executor_id FROM '
                    'action_executions_v2')).scalars().all()
                left = conn.execute(sa.text(
                    'SELECT COUNT(*) FROM outbox')).scalar()
        finally:
            engine.dispose()
        # Every task once per workflow, every task ran one action once.
        assert len(tasks) == N_WORKFLOWS * N_TASKS
        assert {t[2] for t in tasks} == {1}
        assert len(actions) == N_WORKFLOWS * N_TASKS
        assert {(a[1], a[2]) for a in actions} == {(1, 1)}
        # Both executors took a share of the work.
        assert len(executors) == 2
        assert left == 0
