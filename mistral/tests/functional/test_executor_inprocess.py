"""Executor routing and redelivery with an in-process engine and executor.

On each database (SQLite, PostgreSQL, MariaDB) with the in-memory
transport and short leases (see ``engine/conftest.py``):

* an action whose ``target`` no running executor has waits, and says so in
  the ``state_info`` of the action execution and of its task; its
  ``run_action`` message stays in the outbox; it never runs on another
  executor; an executor started later with that target runs it;
* a ``run_action`` that comes again (``redelivered``) for an action that is
  not ``safe-rerun`` fails it with upstream's message; a safe one runs;
* a targeted message whose action finished meanwhile is dropped from the
  outbox rather than sent for ever.
"""

from __future__ import annotations

import datetime
import time
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral import context as mistral_context
from mistral.db import api as db_api
from mistral.db import models
from mistral.engine import recovery
from mistral.executor import executor as executor_mod
from mistral.handoff import outbox
from mistral.service import components
from mistral.tests.functional.engine.conftest import EngineEnv
from mistral.tests.functional.engine.conftest import in_process_engine
from mistral.utils import timeutils

CONF = cfg.CONF

WORKFLOWS = """
version: '2.0'
targeted:
  input: [target]
  output:
    r: <% $.r %>
  tasks:
    far:
      action: std.echo output=far-away
      target: <% $.target %>
      publish:
        r: <% task().result %>
plain:
  input: [safe]
  tasks:
    t:
      # Not run inline by the engine: it goes through an executor.
      action: std.sleep seconds=0
      safe-rerun: <% $.safe %>
napping:
  tasks:
    t:
      action: std.sleep seconds=3
"""


@pytest.fixture(scope='module', params=['sqlite', 'postgresql', 'mysql'])
def env(request: pytest.FixtureRequest) -> Iterator[EngineEnv]:
    with in_process_engine(request.param,
                           prefix='mistral-executor-test-') as e:
        e.create_workflows(WORKFLOWS, namespace='exec')
        yield e


def _single_action(env: EngineEnv, wf_ex_id: str
                   ) -> tuple[models.TaskExecution, models.ActionExecution]:
    [task] = env.tasks(wf_ex_id)
    [ax] = env.actions(task.id)
    return task, ax


def _wait_task_state_info(env: EngineEnv, wf_ex_id: str, text: str,
                          timeout: float) -> models.TaskExecution:
    deadline = time.monotonic() + timeout
    while True:
        [task] = env.tasks(wf_ex_id)
        if task.state_info == text:
            return task
        if time.monotonic() > deadline:
            raise AssertionError('task state_info is %r, not %r'
                                 % (task.state_info, text))
        time.sleep(0.2)


def _outbox_rows_for(action_ex_id: str) -> list[Any]:
    with db_api.read_session() as s:
        rows = s.execute(sa.select(models.OutboxMessage).where(
            models.OutboxMessage.target == 'executor')).scalars().all()
        return [(r.server, r.method) for r in rows
                if (r.payload.get('args') or {}).get('action_ex_id')
                == action_ex_id]


def _start_executor(host: str) -> components.RpcComponent:
    ex = executor_mod.Executor(host=host)
    comp = components.RpcComponent('executor', CONF.executor.topic, host,
                                   [ex], [ex.leases])
    comp.start()
    return comp


def test_action_waits_for_its_target_then_runs_there(env):
    target = 'gpu-%s' % env.backend
    ex = env.start('targeted', {'target': target}, wf_namespace='exec')
    waiting = recovery.waiting_message(target)

    # The engine's recovery loop notices that nobody takes it.
    task = _wait_task_state_info(env, ex['id'], waiting, timeout=60)
    _, ax = _single_action(env, ex['id'])
    assert ax.state == 'RUNNING'
    assert ax.state_info == waiting
    assert ax.executor_id is None
    assert task.state == 'RUNNING'
    assert 'Waiting for an executor with target "%s"' % target in waiting
    # The message is still there, still addressed to the target.
    assert _outbox_rows_for(ax.id) == [(target, 'run_action')]
    assert env.execution(ex['id']).state == 'RUNNING'

    # More sweeps do not hand it to the executor that is running (it
    # has another target) nor duplicate its message.
    for _ in range(3):
        recovery.sweep_actions()
    assert _outbox_rows_for(ax.id) == [(target, 'run_action')]
    assert _single_action(env, ex['id'])[1].executor_id is None

    comp = _start_executor(target)
    try:
        wf = env.wait(ex['id'], timeout=60)
    finally:
        comp.stop()
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'r': 'far-away'}
    task, ax = _single_action(env, ex['id'])
    assert ax.state == 'SUCCESS'
    assert ax.executor_id.endswith('@' + target)
    # The notices are gone with the wait.
    assert ax.state_info is None
    assert task.state_info is None
    assert _outbox_rows_for(ax.id) == []


def test_action_run_alone_waits_for_its_target_too(env):
    """POST /v2/action_executions with params.target, saved."""
    from mistral.engine import engine as engine_mod

    target = 'alone-%s' % env.backend
    ax = engine_mod.Engine().start_action(
        mistral_context.default_context(), 'std.echo', {'output': 'solo'},
        params={'save_result': True, 'target': target})
    assert ax['state'] == 'RUNNING'
    waiting = recovery.waiting_message(target)
    env.wait_action_state(ax['id'], lambda a: a.state_info == waiting,
                          timeout=60)
    assert _outbox_rows_for(ax['id']) == [(target, 'run_action')]
    comp = _start_executor(target)
    try:
        done = env.wait_action_state(ax['id'],
                                     lambda a: a.state != 'RUNNING',
                                     timeout=60)
    finally:
        comp.stop()
    assert done.state == 'SUCCESS'
    assert done.executor_id.endswith('@' + target)
    assert done.state_info is None


def test_action_for_the_running_executor_target_runs_at_once(env):
    host = CONF.executor.host
    ex = env.start('targeted', {'target': host}, wf_namespace='exec')
    wf = env.wait(ex['id'], timeout=60)
    assert wf.state == 'SUCCESS', wf.state_info
    _, ax = _single_action(env, ex['id'])
    assert ax.executor_id == executor_mod.executor_id(host)
    assert ax.state_info is None


def _unsent(env: EngineEnv, wf: str, wf_input: dict) -> str:
    """Start a workflow whose run_action message is never sent; return
    its action execution id."""
    relay = outbox.relay()
    orig = relay.deliver, relay.deliver_soon
    # Both ways out: a start's rows go by deliver_soon, whose sending
    # thread calls deliver later, maybe after it is restored below.
    relay.deliver = relay.deliver_soon = lambda rows: None
    try:
        ex = env.start(wf, wf_input, wf_namespace='exec')
        _, ax = _single_action(env, ex['id'])
        # Nor sent again by a relay's or the recovery's sweep while the
        # test holds it.
        later = timeutils.utcnow() + datetime.timedelta(hours=1)
        with db_api.transaction() as s:
            s.execute(sa.update(models.OutboxMessage).where(
                models.OutboxMessage.target == 'executor').values(
                    lease_until=later))
            s.execute(sa.update(models.ActionExecution).where(
                models.ActionExecution.id == ax.id).values(
                    last_heartbeat=later))
    finally:
        relay.deliver, relay.deliver_soon = orig
    return ax.id


@pytest.mark.parametrize('safe', [False, True])
def test_redelivered_run_action(env, safe):
    ax_id = _unsent(env, 'plain', {'safe': safe})
    [(_, _)] = _outbox_rows_for(ax_id)
    with db_api.read_session() as s:
        row = s.execute(sa.select(models.OutboxMessage)).scalars().all()
        [msg] = [r for r in row if r.payload['args']['action_ex_id'] == ax_id]
        args, outbox_id = dict(msg.payload['args']), msg.id
    ctx = mistral_context.MistralContext(
        project_id='<default-project>', redelivered=True)
    executor_mod.Executor().run_action(ctx, outbox_id=outbox_id, **args)
    ax = env.wait_action(ax_id)
    with db_api.read_session() as s:
        ax = s.get(models.ActionExecution, ax_id)
        wf = s.get(models.WorkflowExecution, ax.workflow_execution_id)
        state, info, wf_id = ax.state, ax.state_info, wf.id
    if safe:
        assert state == 'SUCCESS'
        assert env.wait(wf_id).state == 'SUCCESS'
    else:
        assert state == 'ERROR'
        assert info == (
            'Request to run an action was redelivered, but it cannot be '
            're-run safely. The only safe thing to do is fail it '
            '[action=std.sleep].')
        wf = env.wait(wf_id)
        assert wf.state == 'ERROR'
        assert info in wf.state_info
    # Claimed once: the message is gone, a second delivery does nothing.
    assert _outbox_rows_for(ax_id) == []
    executor_mod.Executor().run_action(ctx, outbox_id=outbox_id, **args)
    with db_api.read_session() as s:
        assert s.get(models.ActionExecution, ax_id).state == state


def test_message_of_a_finished_targeted_action_is_dropped(env):
    target = 'never-%s' % env.backend
    ex = env.start('targeted', {'target': target}, wf_namespace='exec')
    _, ax = _single_action(env, ex['id'])
    assert _outbox_rows_for(ax.id) == [(target, 'run_action')]
    from mistral.engine import engine as engine_mod

    engine_mod.Engine().stop_workflow(mistral_context.admin_context(),
                                      ex['id'], 'CANCELLED', 'enough')
    wf = env.wait(ex['id'])
    assert wf.state == 'CANCELLED'
    # Once older than a lease (a fresh row may be in flight), the row goes:
    # the engine's recovery loop drops it, or this call does.
    deadline = time.monotonic() + 60
    while _outbox_rows_for(ax.id):
        assert time.monotonic() < deadline, 'the message is still queued'
        recovery.drop_orphan_messages()
        time.sleep(0.2)
    # The action itself is left alone.
    assert _single_action(env, ex['id'])[1].executor_id is None


def test_workers_caps_the_actions_one_executor_runs(env):
    CONF.set_override('workers', 1, group='executor')
    try:
        ex = executor_mod.Executor(host='one-slot')
    finally:
        CONF.clear_override('workers', group='executor')
    ex.leases.start()
    try:
        _two_actions_one_slot(env, ex)
    finally:
        ex.leases.stop()


def _two_actions_one_slot(env: EngineEnv, ex: executor_mod.Executor
                          ) -> None:
    import threading

    first, second = (_unsent(env, 'napping', {}) for _ in range(2))
    ctx = mistral_context.MistralContext(project_id='<default-project>')
    runs = []
    for ax_id in (first, second):
        with db_api.read_session() as s:
            [msg] = [r for r in s.execute(sa.select(
                models.OutboxMessage)).scalars().all()
                if r.payload['args'].get('action_ex_id') == ax_id]
            args, outbox_id = dict(msg.payload['args']), msg.id
        t = threading.Thread(target=ex.run_action, args=(ctx,),
                             kwargs=dict(args, outbox_id=outbox_id),
                             daemon=True)
        t.start()
        runs.append(t)
        if ax_id == first:
            env.wait_action_state(first, lambda a: a.executor_id == ex.id)

    # While the first sleeps, the second waits for the only slot: not
    # claimed, so another executor could still take it.
    time.sleep(1)
    with db_api.read_session() as s:
        a1 = s.get(models.ActionExecution, first)
        a2 = s.get(models.ActionExecution, second)
        assert (a1.state, a1.executor_id) == ('RUNNING', ex.id)
        assert a2.executor_id is None
    for t in runs:
        t.join(60)
    assert env.wait_action_state(
        first, lambda a: a.state != 'RUNNING').state == 'SUCCESS'
    done = env.wait_action_state(second, lambda a: a.state != 'RUNNING')
    assert (done.state, done.executor_id) == ('SUCCESS', ex.id)
