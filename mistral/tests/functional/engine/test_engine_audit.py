"""Language rows of the reference checklist that need the engine itself
rather than a corpus case: ``$.openstack`` (row 150) and the workflow and
action state transition table (row 165).

On the embedded default (SQLite), on the deterministic harness
(``deterministic.py``): waiting settles the harness instead of polling;
the corpus covers the rest.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from oslo_config import cfg

from mistral import exceptions as exc
from mistral.context import MistralContext
from mistral.context import default_context
from mistral.engine import engine as engine_mod
from mistral.tests.functional.engine.deterministic import HarnessEnv
from mistral.tests.functional.engine.deterministic import harness_engine

CONF = cfg.CONF
NS = 'audit'

WORKFLOWS = """
version: '2.0'
osctx:
  output:
    os: <% $.get('openstack') %>
    child: <% $.child %>
  tasks:
    call:
      workflow: oschild
      publish: {child: <% task().result.os %>}
oschild:
  output:
    os: <% $.get('openstack') %>
  tasks:
    t: {action: std.noop}
quick:
  tasks:
    t: {action: std.noop}
waiter:
  tasks:
    t: {action: std.async_noop}
bad_publish:
  tasks:
    t:
      action: std.async_noop
      publish: {x: <% no_such_function() %>}
      on-error: never
    never: {action: std.noop}
atomic:
  vars: {n: 10}
  tasks:
    a:
      publish: {n: 1}
      on-success:
        publish:
          global: {g: <% $.n %>}
          atomic: {n: <% $.n + 1 %>}
"""


@pytest.fixture(scope='module')
def env() -> Iterator[HarnessEnv]:
    with harness_engine('sqlite', prefix='mistral-audit-') as e:
        e.create_workflows(WORKFLOWS, namespace=NS)
        yield e


@pytest.fixture
def auth_enabled() -> Iterator[None]:
    CONF.set_override('auth_enable', True, group='pecan')
    try:
        yield
    finally:
        CONF.clear_override('auth_enable', group='pecan')


def _start(ctx: Any, name: str) -> dict[str, Any]:
    # The engine's endpoint itself (what an RPC call reaches); the
    # messages it sends are handled by the next wait.
    started: dict[str, Any] = engine_mod.Engine().start_workflow(
        ctx, name, wf_input={}, wf_namespace=NS)
    return started


def test_openstack_context_with_secrets_masked(env, auth_enabled):
    ctx = MistralContext(auth_token='secret-token',
                         service_catalog=[{'type': 'workflowv2'}],
                         user_id='u-1', user_name='alice',
                         project_name='proj', roles=['member'],
                         is_admin=False)
    ex = _start(ctx, 'osctx')
    wf = env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    for os_ctx in (wf.output['os'], wf.output['child']):
        assert os_ctx['auth_token'] == '***'
        assert os_ctx['service_catalog'] == '***'
        assert 'secret-token' not in repr(os_ctx)
        assert os_ctx['user_id'] == 'u-1'
        assert os_ctx['user_name'] == 'alice'
        assert os_ctx['project_id'] == '<default-project>'
        assert os_ctx['project_name'] == 'proj'
        assert os_ctx['roles'] == ['member']
        assert os_ctx['is_admin'] is False


def test_no_openstack_context_without_authentication(env):
    ex = _start(default_context(), 'osctx')
    wf = env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'os': None, 'child': None}
    assert 'openstack' not in (wf.context or {})


def test_openstack_is_an_unknown_key_without_authentication(env):
    # '$.openstack' itself is then an error, as any unknown key in YAQL.
    env.create_workflows("""
version: '2.0'
osdirect:
  output: {os: <% $.openstack %>}
  tasks:
    t: {action: std.noop}
""", namespace=NS)
    wf = env.wait(_start(default_context(), 'osdirect')['id'])
    assert wf.state == 'ERROR'
    assert "key 'openstack' not found" in wf.state_info


def test_finished_workflow_state_cannot_change(env):
    engine = engine_mod.Engine()
    ctx = default_context()
    ex = _start(ctx, 'quick')
    assert env.wait(ex['id']).state == 'SUCCESS'
    with pytest.raises(exc.WorkflowException) as e:
        engine.pause_workflow(ctx, ex['id'])
    assert "from SUCCESS to PAUSED" in str(e.value)
    # As upstream: resuming, failing or cancelling a finished execution
    # answers it unchanged.
    assert engine.resume_workflow(ctx, ex['id'])['state'] == 'SUCCESS'
    for target in ('ERROR', 'CANCELLED'):
        got = engine.stop_workflow(ctx, ex['id'], target, 'late')
        assert (got['state'], got['state_info']) == ('SUCCESS', None)
    assert env.execution(ex['id']).state == 'SUCCESS'


def test_paused_and_cancelled_workflow_transitions(env):
    engine = engine_mod.Engine()
    ctx = default_context()
    ex = _start(ctx, 'waiter')
    engine.pause_workflow(ctx, ex['id'])
    assert env.execution(ex['id']).state == 'PAUSED'
    # PAUSED -> CANCELLED is allowed; CANCELLED -> PAUSED/SUCCESS is not.
    engine.stop_workflow(ctx, ex['id'], 'CANCELLED', 'stop')
    assert env.wait(ex['id']).state == 'CANCELLED'
    for target in ('PAUSED', 'SUCCESS'):
        with pytest.raises(exc.WorkflowException) as e:
            if target == 'PAUSED':
                engine.pause_workflow(ctx, ex['id'])
            else:
                engine.stop_workflow(ctx, ex['id'], target, None)
        assert 'from CANCELLED to %s' % target in str(e.value)


def test_action_update_follows_the_table(env):
    engine = engine_mod.Engine()
    ctx = default_context()
    ex = _start(ctx, 'waiter')
    [task] = _wait_tasks(env, ex['id'])
    [ax] = _wait_actions(env, task.id)
    engine.on_action_update(ctx, ax.id, 'PAUSED')
    engine.on_action_update(ctx, ax.id, 'RUNNING')
    engine.on_action_complete(ctx, ax.id, {'data': 'done'})
    assert env.wait(ex['id']).state == 'SUCCESS'
    with pytest.raises(exc.InvalidStateTransitionException) as e:
        engine.on_action_update(ctx, ax.id, 'PAUSED')
    assert 'from SUCCESS to PAUSED' in str(e.value)


def test_result_whose_publish_fails_fails_the_workflow(env):
    # The result arrives from outside (as an executor's or a PUT does):
    # the task fails structurally, without on-error, and so does its
    # workflow; the result is recorded.
    engine = engine_mod.Engine()
    ctx = default_context()
    ex = _start(ctx, 'bad_publish')
    [task] = _wait_tasks(env, ex['id'])
    [ax] = _wait_actions(env, task.id)
    engine.on_action_complete(ctx, ax.id, {'data': 'done'})
    wf = env.wait(ex['id'])
    assert wf.state == 'ERROR'
    assert wf.state_info.startswith('Failed to run task [error=')
    assert 'wf=bad_publish, task=t]' in wf.state_info
    [task] = env.tasks(ex['id'])
    assert (task.state, task.state_info) == ('ERROR', wf.state_info)
    assert [a.state for a in env.actions(task.id)] == ['SUCCESS']


def _wait_tasks(env: HarnessEnv, ex_id: str) -> list[Any]:
    return _settled(env, lambda: env.tasks(ex_id))


def _wait_actions(env: HarnessEnv, task_id: str) -> list[Any]:
    # The async action can be updated once the executor has run it.
    return _settled(env, lambda: [
        a for a in env.actions(task_id)
        if a.state == 'RUNNING' and a.is_sync is False])


def _settled(env: HarnessEnv, get: Any) -> list[Any]:
    env.harness.settle(until=lambda: bool(get()))
    found = get()
    assert found, 'nothing, with nothing left to do'
    return found  # type: ignore[no-any-return]


def test_atomic_publish_is_a_published_global(env):
    # What GET /v2/executions/<id> shows as published_global.
    wf = env.wait(_start(default_context(), 'atomic')['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    # 'global' reads the task's inbound context (no branch n yet: the var),
    # 'atomic' the global n.
    assert wf.runtime_context['published_global'] == {'g': 10, 'n': 11}
    assert wf.context['n'] == 11 and wf.context['g'] == 10
    # The branch value still is the workflow's default output.
    assert wf.output == {'n': 1}
