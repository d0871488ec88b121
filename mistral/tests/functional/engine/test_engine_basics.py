"""Workflows through a real engine, executor and database (in-process).

On the deterministic harness (``deterministic.py``): the engine and
executor run in the test's thread, and a lease that must run out, or a
delayed message, is reached by moving a fake clock, not by waiting.
"""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral.context import default_context
from mistral.db import api as db_api
from mistral.db import models
from mistral.engine import engine as engine_mod
from mistral.engine import recovery
from mistral.handoff import outbox
from mistral.tests.functional.engine import deterministic
from mistral.utils import timeutils

CONF = cfg.CONF

det_env = deterministic.det_env

WORKFLOWS = """
version: '2.0'
hello:
  input:
    - name
    - greeting: Hello
  output:
    msg: <% $.msg %>
  vars:
    counter: 0
  tasks:
    t1:
      action: std.echo output="<% $.greeting %>, <% $.name %>"
      publish:
        msg: <% task().result %>
      on-success:
        - t2
    t2:
      action: std.noop
broken:
  output-on-error:
    oe: yes
  tasks:
    boom:
      action: std.fail error_data="bad thing"
handled:
  tasks:
    boom:
      action: std.fail
      publish-on-error:
        err: <% task().result %>
      on-error: cleanup
    cleanup:
      action: std.echo output=cleaned
      publish:
        c: <% task().result %>
commanded:
  tasks:
    a:
      action: std.noop
      on-success:
        - fail msg="stopped on purpose"
        - b
    b:
      action: std.noop
badexpr:
  tasks:
    a:
      action: std.echo output=<% $.nope.deeper %>
"""


@pytest.fixture(autouse=True)
def through_executors():
    """These tests are about the executor hand-off: no inline actions."""
    CONF.set_override('inline_builtin_actions', False, group='engine')
    yield
    CONF.clear_override('inline_builtin_actions', group='engine')


def test_workflows(det_env):
    det_env.create_workflows(WORKFLOWS)

    # A chain with input defaults, vars, publish and output.
    ex = det_env.start('hello', {'name': 'Bob'})
    assert ex['state'] == 'RUNNING'
    assert ex['params'] == {'env': {}, 'namespace': ''}
    wf = det_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'msg': 'Hello, Bob'}
    assert wf.input == {'name': 'Bob', 'greeting': 'Hello'}
    t1, t2 = det_env.tasks(ex['id'])
    assert (t1.name, t1.state, t1.published) == ('t1', 'SUCCESS',
                                                 {'msg': 'Hello, Bob'})
    assert t2.runtime_context == {
        'triggered_by': [{'task_id': t1.id, 'event': 'on-success'}]}
    assert t1.started_at is not None and t1.finished_at is not None
    [ax] = det_env.actions(t1.id)
    assert ax.output == {'result': 'Hello, Bob'} and ax.accepted

    # An unhandled failure.
    ex = det_env.start('broken')
    wf = det_env.wait(ex['id'])
    assert wf.state == 'ERROR'
    [task] = det_env.tasks(ex['id'])
    [ax] = det_env.actions(task.id)
    assert wf.state_info == (
        'Failure caused by error in tasks: boom\n\n'
        '  boom [task_ex_id=%s] -> bad thing\n'
        '    [action_ex_id=%s, idx=0]: bad thing\n' % (task.id, ax.id))
    assert wf.output == {'result': wf.state_info, 'oe': True}

    # A handled failure succeeds.
    ex = det_env.start('handled')
    wf = det_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output['c'] == 'cleaned'
    assert 'Fail action expected exception' not in str(wf.output) or \
        wf.output['err']

    # An engine command stops the workflow and nothing after it runs.
    ex = det_env.start('commanded')
    wf = det_env.wait(ex['id'])
    assert (wf.state, wf.state_info) == ('ERROR', 'stopped on purpose')
    assert [t.name for t in det_env.tasks(ex['id'])] == ['a']

    # A bad expression fails the task and the workflow, with a message.
    ex = det_env.start('badexpr')
    wf = det_env.wait(ex['id'])
    assert wf.state == 'ERROR'
    assert 'Failed to run task' in wf.state_info
    assert 'nope' in wf.state_info
    assert 'Traceback' not in wf.state_info


def test_duplicate_results_and_messages_change_nothing(det_env):
    det_env.create_workflows("""
version: '2.0'
dup:
  tasks:
    a:
      action: std.echo output=1
      on-success: b
    b:
      action: std.noop
""", namespace='dup')
    ex = det_env.start('dup', wf_namespace='dup')
    wf = det_env.wait(ex['id'])
    assert wf.state == 'SUCCESS'
    a = det_env.tasks(ex['id'])[0]
    [ax] = det_env.actions(a.id)

    # The same result again, and a contradicting one: both ignored.
    eng = engine_mod.Engine()
    eng.on_action_complete(default_context(), ax.id, {'data': 1})
    eng.on_action_complete(default_context(), ax.id, {'error': 'late'})
    assert len(det_env.tasks(ex['id'])) == 2
    [again] = det_env.actions(a.id)
    assert (again.state, again.output) == ('SUCCESS', {'result': 1})

    # A duplicated run_action for a finished action is not claimable.
    from mistral.executor import executor

    assert executor.Executor()._claim(ax.id) is None


def test_message_left_in_outbox_by_a_crash_is_relayed(det_env,
                                                      monkeypatch):
    det_env.create_workflows("""
version: '2.0'
crashy:
  tasks:
    a:
      action: std.echo output=relayed
      publish:
        r: <% task().result %>
""", namespace='crash')
    relay = outbox.relay()
    real_deliver = relay.deliver
    dropped = []

    def crash_after_commit(rows):
        # The process "dies" after commit, before sending anything.
        dropped.extend(rows)

    monkeypatch.setattr(relay, 'deliver', crash_after_commit)
    ex = det_env.start('crashy', wf_namespace='crash')
    assert any(r['method'] == 'run_action' for r in dropped)
    monkeypatch.setattr(relay, 'deliver', real_deliver)
    # Nothing was sent; the sweep finds the row once its lease ends.
    wf = det_env.wait(ex['id'], timeout=20)
    assert wf.state == 'SUCCESS'
    assert wf.output == {'r': 'relayed'}
    with db_api.read_session() as s:
        left = s.execute(sa.select(sa.func.count()).select_from(
            models.OutboxMessage)).scalar()
    assert left == 0


def test_action_of_a_dead_executor(det_env):
    det_env.create_workflows("""
version: '2.0'
lost:
  tasks:
    a:
      action: std.echo output=1
      safe-rerun: <% $.safe %>
      on-success: b
    # Not safe-rerun: it must run although a's message was redelivered
    # (that flag describes one message, not what follows from it).
    b:
      action: std.echo output=2
  input: [safe]
""", namespace='lost')

    def orphan(safe: bool) -> str:
        # Start a workflow whose action a dead executor had claimed.
        relay = outbox.relay()
        orig = relay.deliver
        relay.deliver = lambda rows: None
        try:
            ex = det_env.start('lost', {'safe': safe}, wf_namespace='lost')
        finally:
            relay.deliver = orig
        with db_api.transaction() as s:
            s.execute(sa.delete(models.OutboxMessage))
            s.execute(sa.update(models.ActionExecution).where(
                models.ActionExecution.workflow_execution_id == ex['id'])
                .values(executor_id='dead-executor',
                        lease_until=timeutils.utcnow()
                        - datetime.timedelta(seconds=1)))
        return ex['id']

    unsafe = orphan(False)
    safe = orphan(True)
    resent, to_fail = recovery.sweep_actions()
    recovery.fail_lost_actions(to_fail)
    wf = det_env.wait(unsafe)
    assert wf.state == 'ERROR'
    assert 'not marked safe-rerun' in wf.state_info
    wf = det_env.wait(safe)
    assert wf.state == 'SUCCESS'
    # Re-sent to a live executor: by this sweep, or by the engine's own
    # lease sweeper if it got there between the setup and this sweep.
    with db_api.read_session() as s:
        claimed = s.execute(sa.select(models.ActionExecution.executor_id)
                            .where(models.ActionExecution
                                   .workflow_execution_id == safe)
                            ).scalars().all()
    assert claimed and 'dead-executor' not in claimed, (resent, claimed)


def test_message_whose_receiver_fails_is_sent_again(det_env,
                                                    monkeypatch):
    det_env.create_workflows("""
version: '2.0'
delayed:
  tasks:
    w:
      action: std.echo output=after-wait
      wait-before: 1
      publish: {w: <% task().result %>}
""", namespace='redeliver')
    calls = []
    real = engine_mod.Engine.continue_task

    def crash_once(self, ctx, task_ex_id, outbox_id=None, **kwargs):
        calls.append(outbox_id)
        if len(calls) == 1:
            # The receiver dies before committing anything.
            raise RuntimeError('engine died')
        return real(self, ctx, task_ex_id, outbox_id=outbox_id, **kwargs)

    monkeypatch.setattr(engine_mod.Engine, 'continue_task', crash_once)
    ex = det_env.start('delayed', wf_namespace='redeliver')
    wf = det_env.wait(ex['id'], timeout=30)
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'w': 'after-wait'}
    # Sent twice: the same row, applied once.
    assert len(calls) >= 2 and calls[0] == calls[1] and calls[0]
    with db_api.read_session() as s:
        left = s.execute(sa.select(sa.func.count()).select_from(
            models.OutboxMessage).where(
                models.OutboxMessage.id == calls[0])).scalar()
    assert left == 0


def test_project_runs_a_workflow_shared_with_it(det_env):
    from mistral import exceptions as exc
    from mistral.context import MistralContext

    [wf_id] = det_env.create_workflows("""
version: '2.0'
shared_wf:
  tasks:
    t:
      action: std.echo output=shared
      publish: {r: <% task().result %>}
""", namespace='share')
    other = MistralContext(project_id='other-project')
    eng = engine_mod.Engine()
    with pytest.raises(exc.DBEntityNotFoundError):
        eng.start_workflow(other, wf_id)
    with db_api.transaction() as s:
        s.add(models.ResourceMember(
            resource_id=wf_id, resource_type='workflow',
            project_id='<default-project>', member_id='other-project',
            status='accepted'))
    ex = eng.start_workflow(other, wf_id)
    assert ex['project_id'] == 'other-project'
    wf = det_env.wait(ex['id'])
    assert (wf.state, wf.output) == ('SUCCESS', {'r': 'shared'})


def test_admin_starts_another_projects_private_workflow(det_env):
    # As upstream: an admin's lookups see every project's definitions
    # (tempest's test_keystone_actions starts the primary project's
    # workbook workflow with the admin client); others still do not.
    from mistral import exceptions as exc
    from mistral.context import MistralContext

    det_env.create_workflows("""
version: '2.0'
private_wf:
  tasks:
    t:
      action: std.echo output=mine
      publish: {r: <% task().result %>}
""")
    eng = engine_mod.Engine()
    with pytest.raises(exc.DBEntityNotFoundError):
        eng.start_workflow(MistralContext(project_id='other-project'),
                           'private_wf')
    admin = MistralContext(project_id='admin-project', is_admin=True)
    ex = eng.start_workflow(admin, 'private_wf')
    assert ex['project_id'] == 'admin-project'
    wf = det_env.wait(ex['id'])
    assert (wf.state, wf.output) == ('SUCCESS', {'r': 'mine'})
