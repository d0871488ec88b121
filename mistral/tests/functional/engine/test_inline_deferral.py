"""Inline actions past a transaction's budget run in later engine
transactions (run_inline_actions), not through executors.

On the deterministic harness (``deterministic.py``), on every database.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral import context as mistral_context
from mistral.db import api as db_api
from mistral.db import models
from mistral.engine import engine as engine_mod
from mistral.tests.functional.engine import deterministic
from mistral.tests.functional.engine.test_statement_counts import _chain
from mistral.tests.functional.engine.test_statement_counts import _fanout

CONF = cfg.CONF


@pytest.fixture(scope='module', params=['sqlite', 'postgresql', 'mysql'])
def env(request):
    with deterministic.harness_engine(request.param) as e:
        yield e


def _actions(wf_ex_id: str) -> list[models.ActionExecution]:
    with db_api.read_session() as s:
        found = s.execute(sa.select(models.ActionExecution).where(
            models.ActionExecution.workflow_execution_id == wf_ex_id)
        ).scalars().all()
        for ax in found:
            s.expunge(ax)
        return list(found)


def _run_inline_messages() -> int:
    with db_api.read_session() as s:
        return s.execute(sa.select(sa.func.count()).select_from(
            models.OutboxMessage).where(
            models.OutboxMessage.method == 'run_inline_actions')).scalar()


def test_wide_fan_out_runs_inline_over_several_transactions(env):
    CONF.set_override('inline_actions_per_transaction', 7, group='engine')
    env.create_workflows(_fanout(30, 'fan30d'))
    ex = env.start('fan30d')
    wf = env.wait(ex['id'], timeout=120)
    assert wf.state == 'SUCCESS', wf.state_info
    tasks = env.tasks(ex['id'])
    assert len(tasks) == 32
    assert {t.state for t in tasks} == {'SUCCESS'}
    actions = _actions(ex['id'])
    assert len(actions) == 32
    # None went to an executor, each ran once and counted.
    assert {a.executor_id for a in actions} == {'inline'}
    assert all(a.accepted and a.state == 'SUCCESS' for a in actions)
    # The branches' published values all reached the join.
    join = [t for t in tasks if t.name == 'join_all'][0]
    assert join.state == 'SUCCESS'
    assert _run_inline_messages() == 0
    # Deferred or not, each action row holds its own result, and each
    # branch published it.
    with db_api.read_session() as s:
        outputs = dict(s.execute(sa.select(
            models.ActionExecution.task_execution_id,
            models.ActionExecution.output).where(
            models.ActionExecution.workflow_execution_id == ex['id'])
        ).all())
    for t in tasks:
        if t.name.startswith('b'):
            assert outputs[t.id] == {'result': t.name}
            assert t.published == {t.name: t.name}
        else:
            assert outputs[t.id] == {'result': None}


def test_long_inline_chain_continues_past_the_budget(env):
    CONF.set_override('inline_actions_per_transaction', 3, group='engine')
    env.create_workflows(_chain(12, 'chain12d'))
    ex = env.start('chain12d')
    wf = env.wait(ex['id'], timeout=120)
    assert wf.state == 'SUCCESS', wf.state_info
    assert [t.state for t in env.tasks(ex['id'])] == ['SUCCESS'] * 12
    assert {a.executor_id for a in _actions(ex['id'])} == {'inline'}


def test_a_repeated_message_changes_nothing(env):
    CONF.set_override('inline_actions_per_transaction', 4, group='engine')
    env.create_workflows(_fanout(6, 'fan6r'))
    ex = env.start('fan6r')
    assert env.wait(ex['id'], timeout=120).state == 'SUCCESS'
    before = {a.id: (a.state, a.updated_at) for a in _actions(ex['id'])}
    ctx = mistral_context.default_context()
    engine_mod.Engine().run_inline_actions(ctx, ex['id'], list(before))
    after = {a.id: (a.state, a.updated_at) for a in _actions(ex['id'])}
    assert after == before
    assert env.execution(ex['id']).state == 'SUCCESS'


def test_deferred_actions_of_a_finished_workflow_do_not_run(env):
    CONF.set_override('inline_actions_per_transaction', 2, group='engine')
    env.create_workflows(_fanout(5, 'fan5c'))
    ex = env.start('fan5c')
    assert env.wait(ex['id'], timeout=120).state == 'SUCCESS'
    # As if the workflow had been cancelled while one deferral waited.
    ax_id = [a.id for a in _actions(ex['id'])][-1]
    with db_api.transaction() as s:
        s.execute(sa.update(models.WorkflowExecution).where(
            models.WorkflowExecution.id == ex['id']).values(
            state='CANCELLED'))
        s.execute(sa.update(models.ActionExecution).where(
            models.ActionExecution.id == ax_id).values(
            state='RUNNING', accepted=False))
    engine_mod.Engine().run_inline_actions(
        mistral_context.default_context(), ex['id'], [ax_id])
    ax = [a for a in _actions(ex['id']) if a.id == ax_id][0]
    assert (ax.state, ax.accepted) == ('CANCELLED', True)
    assert ax.state_info == ('Not run: the workflow execution finished '
                             'first.')
    assert env.execution(ex['id']).state == 'CANCELLED'
