"""Regression tests for the bugs the chaos runs found (see
doc/source/admin/reliability.rst, "Bugs found"): each reproduced the bug
before its fix."""

from __future__ import annotations

import pytest

from mistral.tests.functional import harness

pytestmark = pytest.mark.functional

TIMEOUT_WF = """---
version: '2.0'
hang_wf:
  tasks:
    hang:
      action: std.async_noop
      timeout: 1
"""


def test_timeout_completes_the_running_action():
    with harness.Deployment(db='sqlite', transport='fake',
                            processes=[['all']]) as dep:
        client = dep.client()
        client.workflows.create(TIMEOUT_WF)
        ex = client.executions.create('hang_wf')
        done = dep.wait_execution(ex.id, timeout=60)
        assert done.state == 'ERROR'
        actions = client.action_executions.list(task_execution_id=None)
        mine = [a for a in actions if a.workflow_name == 'hang_wf']
        assert len(mine) == 1
        # The task is over; its action must not stay RUNNING forever (it
        # would be an orphan, and a late PUT of its result would be
        # applied to a finished task).
        assert mine[0].state != 'RUNNING', mine[0].state


LATE_WF = """---
version: '2.0'
late_wf:
  tasks:
    hang:
      action: std.async_noop
      timeout: 1
      on-success: ok
      on-error: handled
    ok:
      action: std.noop
    handled:
      action: std.noop
"""


def test_late_result_of_timed_out_action_changes_nothing():
    """Consequence of timeout-leaves-action-running: the action can still
    be completed through the API after its task timed out."""
    with harness.Deployment(db='sqlite', transport='fake',
                            processes=[['all']]) as dep:
        client = dep.client()
        client.workflows.create(LATE_WF)
        ex = client.executions.create('late_wf')
        done = dep.wait_execution(ex.id, timeout=60)
        assert done.state == 'SUCCESS'  # on-error handled the timeout
        before = sorted((t.name, t.state) for t in
                        client.tasks.list(workflow_execution_id=ex.id))
        assert before == [('handled', 'SUCCESS'), ('hang', 'ERROR')]
        ax = [a for a in client.action_executions.list()
              if a.workflow_name == 'late_wf'][0]
        try:
            client.action_executions.update(ax.id, state='SUCCESS',
                                            output='{"late": true}')
        except Exception:  # a refusal is a fine answer
            pass
        import time

        time.sleep(3)
        after = sorted((t.name, t.state) for t in
                       client.tasks.list(workflow_execution_id=ex.id))
        assert after == before
        assert client.executions.get(ex.id).state == 'SUCCESS'


SLOW_ITEMS_WF = """---
version: '2.0'
slow_items:
  tasks:
    slow:
      with-items: i in <% [1, 2, 3] %>
      action: std.echo output=<% $.i %> delay=12
"""


def test_one_locked_row_does_not_expire_a_live_executors_leases():
    """An engine that stalls (GC pause, partition, SIGSTOP) while it holds
    the row lock of one action it is completing must not make a live
    executor lose its other actions. The lock is taken here directly, as
    the stalled engine transaction would hold it."""
    import time

    import sqlalchemy as sa

    lease = 3
    with harness.Deployment(
            db='postgresql', transport='rabbit',
            processes=[['api'], ['engine'], ['executor']],
            conf_overrides={'executor': {'action_lease': lease},
                            'engine': {'inline_builtin_actions': False}}
    ) as dep:
        client = dep.client()
        client.workflows.create(SLOW_ITEMS_WF)
        ex = client.executions.create('slow_items')
        engine = sa.create_engine(dep.db_url)
        try:
            def claimed():
                with engine.connect() as conn:
                    return conn.execute(sa.text(
                        "SELECT id FROM action_executions_v2 WHERE "
                        "state = 'RUNNING' AND executor_id IS NOT NULL "
                        "ORDER BY id")).scalars().all()
            ids = harness.wait_for(lambda: len(claimed()) == 3 and
                                   claimed(), 60, 'three claimed actions')
            with engine.connect() as conn:
                tx = conn.begin()
                conn.execute(sa.text(
                    'SELECT id FROM action_executions_v2 WHERE id = :id '
                    'FOR UPDATE'), {'id': ids[0]})
                time.sleep(3 * lease)
                tx.rollback()
            done = dep.wait_execution(ex.id, timeout=60)
            with engine.connect() as conn:
                infos = conn.execute(sa.text(
                    'SELECT state_info FROM action_executions_v2'
                )).scalars().all()
        finally:
            engine.dispose()
        # The executor never stopped: every item must succeed.
        assert not any('executor running this action stopped' in (i or '')
                       for i in infos), infos
        assert done.state == 'SUCCESS', done.state_info
