"""Language features through the real engine: joins, with-items,
sub-workflows and policies, on every database.

The engine runs on the deterministic harness (``deterministic.py``):
messages are handled in the test's thread as they are sent and timers fire
from a fake clock, so waiting is settling, not polling, and a retry delay
or a timeout takes no real time.
"""

from __future__ import annotations

import pytest

from mistral import exceptions as exc
from mistral.context import default_context
from mistral.engine import engine as engine_mod
from mistral.tests.functional.engine import deterministic

WORKFLOWS = """
version: '2.0'
fanjoin:
  tasks:
    start:
      action: std.noop
      on-success: [a, b, c]
    a:
      action: std.echo output=A
      publish: {pa: <% task().result %>}
      on-success: j
    b:
      action: std.echo output=B
      publish: {pb: <% task().result %>}
      on-success: j
    c:
      action: std.echo output=C
      publish: {pc: <% task().result %>}
      on-success: j
    j:
      join: all
      action: std.echo output="<% $.pa %><% $.pb %><% $.pc %>"
      publish: {joined: <% task().result %>}
joinfail:
  tasks:
    start:
      action: std.noop
      on-success: [a, b]
    a:
      action: std.noop
      on-success: j
    b:
      action: std.fail
      on-success: j
    j:
      join: all
      action: std.noop
joinone:
  tasks:
    start:
      action: std.noop
      on-success: [a, b]
    a:
      action: std.echo output=fast
      on-success: j
    b:
      action: std.echo output=slow delay=0.3
      on-success: j
    j:
      join: one
      action: std.noop
items:
  input:
    - xs: [1, 2, 3, 4, 5]
  output:
    doubled: <% $.doubled %>
  tasks:
    dbl:
      with-items: x in <% $.xs %>
      concurrency: 2
      action: std.echo output=<% $.x * 2 %>
      publish:
        doubled: <% task().result %>
itemsempty:
  tasks:
    none:
      with-items: x in []
      action: std.echo output=<% $.x %>
      publish:
        r: <% task().result %>
itemsfail:
  tasks:
    some:
      with-items: x in [1, 0, 2]
      action: std.fail
      fail-on: <% false %>
child:
  input: [x]
  output:
    y: <% $.x + 1 %>
  tasks:
    inc:
      action: std.noop
parent:
  output:
    got: <% $.got %>
    many: <% $.many %>
  tasks:
    call:
      workflow: child x=5
      publish:
        got: <% task().result %>
      on-success: loop
    loop:
      with-items: v in [1, 2]
      workflow: child
      input:
        x: <% $.v %>
      publish:
        many: <% task().result %>
badchild:
  tasks:
    call:
      workflow: nosuchworkflow
retrying:
  tasks:
    r:
      action: std.fail
      retry:
        count: 2
        delay: 0
waits:
  tasks:
    w:
      action: std.echo output=done
      wait-before: 1
      wait-after: 1
      publish: {w: <% task().result %>}
timesout:
  tasks:
    s:
      action: std.sleep seconds=5
      timeout: 1
paused:
  tasks:
    a:
      action: std.noop
      on-success: b
    b:
      action: std.echo output=resumed
      pause-before: true
      publish: {b: <% task().result %>}
rev:
  type: reverse
  tasks:
    t1:
      action: std.echo output=1
      publish: {x: <% task().result %>}
    t2:
      requires: t1
      action: std.echo output=<% $.x + 1 %>
      publish: {y: <% task().result %>}
    unrelated:
      action: std.fail
rerunnable:
  tasks:
    flaky:
      action: std.echo output=ok
      fail-on: <% env().broken %>
      publish: {f: <% task().result %>}
      on-success: after
    after:
      action: std.noop
skippable:
  tasks:
    bad:
      action: std.fail
      publish-on-skip: {skipped: yes}
      on-success: next
    next:
      action: std.echo output=went-on
      publish: {n: <% task().result %>}
slowchild:
  tasks:
    first:
      action: std.sleep seconds=1
      on-success: second
    second:
      action: std.echo output=child-done
      publish: {c: <% task().result %>}
slowparent:
  tasks:
    call:
      workflow: slowchild
      publish: {got: <% task().result %>}
loop:
  input:
    - n: 700
  output:
    i: <% $.i %>
  tasks:
    init:
      action: std.noop
      publish: {i: 0}
      on-success: step
    step:
      action: std.echo output=<% $.i + 1 %>
      publish: {i: <% task().result %>}
      on-success:
        - step: <% $.i < $.n %>
failon:
  tasks:
    f:
      action: std.echo output=3
      fail-on: <% task().result > 2 %>
"""


det_env = deterministic.det_env


@pytest.fixture
def lang_env(det_env):
    """The engine with this module's workflows (created once per DB)."""
    if not getattr(det_env, 'lang_created', False):
        det_env.create_workflows(WORKFLOWS, namespace='lang')
        det_env.lang_created = True
    return det_env


@pytest.fixture
def threaded_lang_env(engine_env):
    """The threaded in-process engine and executor (RPC on the in-memory
    transport), for what needs an executor to answer a call."""
    if not getattr(engine_env, 'lang_created', False):
        engine_env.create_workflows(WORKFLOWS, namespace='lang')
        engine_env.lang_created = True
    return engine_env


def _by_name(tasks):
    return {t.name: t for t in tasks}


def test_joins(lang_env):
    engine_env = lang_env
    ex = engine_env.start('fanjoin', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    tasks = engine_env.tasks(ex['id'])
    assert [t.name for t in tasks].count('j') == 1
    j = _by_name(tasks)['j']
    assert j.published == {'joined': 'ABC'}
    assert len(j.runtime_context['triggered_by']) == 3

    # An inbound task that fails (unhandled) never reaches the join.
    ex = engine_env.start('joinfail', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'ERROR'
    j = _by_name(engine_env.tasks(ex['id']))['j']
    assert j.state == 'ERROR'

    # join: one starts on the first arrival only.
    ex = engine_env.start('joinone', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert [t.name for t in engine_env.tasks(ex['id'])].count('j') == 1


def test_with_items(lang_env):
    engine_env = lang_env
    ex = engine_env.start('items', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'doubled': [2, 4, 6, 8, 10]}
    [task] = engine_env.tasks(ex['id'])
    assert task.runtime_context['with_items'] == {'count': 5,
                                                  'capacity': 2}
    assert task.runtime_context['pending_items'] == 0
    assert len(engine_env.actions(task.id)) == 5

    ex = engine_env.start('itemsempty', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS'
    assert wf.output == {'r': []}

    ex = engine_env.start('itemsfail', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'ERROR'
    [task] = engine_env.tasks(ex['id'])
    assert task.state_info == 'One or more actions had failed.'


def test_sub_workflows(lang_env):
    engine_env = lang_env
    ex = engine_env.start('parent', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'got': {'y': 6}, 'many': [{'y': 2}, {'y': 3}]}

    ex = engine_env.start('badchild', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'ERROR'
    assert 'nosuchworkflow' in wf.state_info


def test_policies(lang_env):
    engine_env = lang_env
    ex = engine_env.start('retrying', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'ERROR'
    [task] = engine_env.tasks(ex['id'])
    assert task.runtime_context['retry_task_policy'] == {'retry_no': 2}
    actions = engine_env.actions(task.id)
    assert len(actions) == 3
    # Only the last attempt counts.
    assert [a.accepted for a in actions].count(True) == 1
    for a in actions:
        assert a.state_info.startswith('The action raised an exception')
        assert 'action_ex_id=%s' % a.id in a.state_info

    ex = engine_env.start('waits', wf_namespace='lang')
    wf = engine_env.wait(ex['id'], timeout=15)
    assert wf.state == 'SUCCESS'
    assert wf.output == {'w': 'done'}

    ex = engine_env.start('timesout', wf_namespace='lang')
    wf = engine_env.wait(ex['id'], timeout=15)
    assert wf.state == 'ERROR'
    [task] = engine_env.tasks(ex['id'])
    assert task.state_info == 'Task timed out [timeout(s)=1].'

    ex = engine_env.start('failon', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    [task] = engine_env.tasks(ex['id'])
    assert (wf.state, task.state_info) == ('ERROR',
                                           "Failed by 'fail-on' policy")


def test_pause_before_and_resume(lang_env):
    engine_env = lang_env
    ex = engine_env.start('paused', wf_namespace='lang')
    wf = engine_env.wait(ex['id'], states=('PAUSED',))
    b = _by_name(engine_env.tasks(ex['id']))['b']
    assert (b.state, b.state_info) == ('IDLE',
                                       "Set by 'pause-before' policy")
    engine_mod.Engine().resume_workflow(default_context(), ex['id'])
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'b': 'resumed'}


def test_reverse_workflow(lang_env):
    engine_env = lang_env
    ex = engine_env.start('rev', wf_namespace='lang', task_name='t2')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'x': 1, 'y': 2}
    assert sorted(t.name for t in engine_env.tasks(ex['id'])) == ['t1', 't2']


def test_rerun_and_skip(lang_env):
    engine_env = lang_env
    eng = engine_mod.Engine()
    ex = engine_env.start('rerunnable', wf_namespace='lang',
                          env={'broken': True})
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'ERROR'
    [flaky] = engine_env.tasks(ex['id'])
    eng.rerun_workflow(default_context(), flaky.id, reset=True,
                       env={'broken': False})
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'f': 'ok'}
    assert [t.name for t in engine_env.tasks(ex['id'])] == ['flaky', 'after']
    assert len(engine_env.actions(flaky.id)) == 2
    # The engine checks the rules again under its lock, with the API's
    # wording (mistral.workflow.rerun) and its own exception class.
    with pytest.raises(exc.WorkflowException) as e:
        eng.rerun_workflow(default_context(), flaky.id, reset=True)
    assert str(e.value) == (
        'Only tasks in ERROR state can be rerun or skipped '
        '[task_ex_id=%s, state=SUCCESS]' % flaky.id)
    with pytest.raises(exc.WorkflowException) as e:
        eng.rerun_workflow(default_context(), flaky.id, reset=False)
    assert not isinstance(e.value, exc.InputException)
    assert 'Only with-items tasks can be rerun without reset' in str(e.value)

    ex = engine_env.start('skippable', wf_namespace='lang')
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'ERROR'
    [bad] = engine_env.tasks(ex['id'])
    eng.rerun_workflow(default_context(), bad.id, skip=True)
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'skipped': True, 'n': 'went-on'}
    bad = _by_name(engine_env.tasks(ex['id']))['bad']
    assert (bad.state, bad.state_info) == ('SKIPPED', 'Task was skipped.')


def test_actions_outside_workflows(threaded_lang_env):
    # A synchronous action outside a workflow is an RPC call to an
    # executor: the threaded engine.
    lang_env = threaded_lang_env
    eng = engine_mod.Engine()
    ctx = default_context()
    got = eng.start_action(ctx, 'std.echo', {'output': 'hi'})
    assert got['id'] is None and got['state'] == 'SUCCESS'
    assert got['output'] == {'result': 'hi'}

    got = eng.start_action(ctx, 'std.echo', {'output': 'kept'},
                           params={'save_result': True, 'run_sync': True})
    assert got['id'] and got['state'] == 'SUCCESS'

    got = eng.start_action(ctx, 'std.echo', {'output': 'later'},
                           params={'save_result': True})
    assert got['state'] == 'RUNNING'
    lang_env.wait_action(got['id'])

    got = eng.start_action(ctx, 'std.async_noop')
    assert got['state'] == 'RUNNING'
    done = eng.on_action_complete(ctx, got['id'], {'data': {'x': 1}})
    assert done['state'] == 'SUCCESS'


def _child_of(engine_env, parent_id):
    [task] = engine_env.tasks(parent_id)
    import sqlalchemy as sa

    from mistral.db import api as db_api
    from mistral.db import models

    with db_api.read_session() as s:
        return s.execute(sa.select(models.WorkflowExecution.id).where(
            models.WorkflowExecution.task_execution_id == task.id)
        ).scalar_one()


def test_pause_resume_cancel_reach_sub_workflows(lang_env):
    engine_env = lang_env
    eng = engine_mod.Engine()
    ctx = default_context()
    ex = engine_env.start('slowparent', wf_namespace='lang')
    child = _child_of(engine_env, ex['id'])
    eng.pause_workflow(ctx, ex['id'])
    engine_env.wait(child, states=('PAUSED',))
    eng.resume_workflow(ctx, ex['id'])
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'got': {'c': 'child-done'}}

    ex = engine_env.start('slowparent', wf_namespace='lang')
    child = _child_of(engine_env, ex['id'])
    eng.stop_workflow(ctx, ex['id'], 'CANCELLED', 'enough')
    wf = engine_env.wait(child)
    assert wf.state == 'CANCELLED'
    parent = engine_env.execution(ex['id'])
    assert (parent.state, parent.state_info) == ('CANCELLED', 'enough')


def test_inline_actions_and_their_budget(lang_env):
    engine_env = lang_env
    # Trivial built-in actions run inside the engine's transaction: the
    # execution is finished once the start returns (which answers the
    # execution as it was started, RUNNING, as upstream answers).
    ex = engine_env.start('fanjoin', wf_namespace='lang')
    assert (ex['state'], ex['output']) == ('RUNNING', {})
    assert engine_env.execution(ex['id']).state == 'SUCCESS'
    # A loop longer than one transaction's inline budget (500) continues
    # in later engine transactions, still inline, and completes.
    ex = engine_env.start('loop', wf_namespace='lang')
    wf = engine_env.wait(ex['id'], timeout=120)
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'i': 700}
    tasks = engine_env.tasks(ex['id'])
    assert len(tasks) == 701
    import sqlalchemy as sa

    from mistral.db import api as db_api
    from mistral.db import models

    with db_api.read_session() as s:
        executors = s.execute(
            sa.select(models.ActionExecution.executor_id, sa.func.count())
            .where(models.ActionExecution.workflow_execution_id == ex['id'])
            .group_by(models.ActionExecution.executor_id)).all()
    by = dict(executors)
    assert by == {'inline': 701}
    # Over more than one transaction: the deferral messages are gone.
    with db_api.read_session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(
            models.OutboxMessage).where(
            models.OutboxMessage.method == 'run_inline_actions')
        ).scalar() == 0


def test_ad_hoc_actions_sync_and_async(lang_env):
    engine_env = lang_env
    engine_env.create_actions("""
version: '2.0'
greet:
  base: std.echo
  base-input:
    output: Hello, <% $.who %>
  input: [who]
  output: <% $.toUpper() %>
wait_for_it:
  base: std.async_noop
  output: <% $.x * 2 %>
""", namespace='lang')
    engine_env.create_workflows("""
version: '2.0'
adhoc:
  tasks:
    g:
      action: greet who=you
      publish: {g: <% task().result %>}
    w:
      action: wait_for_it
      publish: {w: <% task().result %>}
""", namespace='lang')
    ex = engine_env.start('adhoc', wf_namespace='lang')
    tasks = {t.name: t for t in engine_env.tasks(ex['id'])}
    [ax] = engine_env.actions(tasks['w'].id)
    engine_env.wait_action_state(ax.id, lambda a: not a.is_sync)
    engine_mod.Engine().on_action_complete(default_context(), ax.id,
                                           {'data': {'x': 21}})
    wf = engine_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'g': 'HELLO, YOU', 'w': 42}


def test_too_large_input_is_refused(lang_env):
    from oslo_config import cfg

    from mistral import exceptions as exc

    cfg.CONF.set_override('execution_field_size_limit_kb', 1,
                          group='engine')
    try:
        with pytest.raises(exc.SizeLimitExceededException) as e:
            lang_env.start('items', {'xs': list(range(1000))},
                           wf_namespace='lang')
        assert 'field=input' in str(e.value)
    finally:
        cfg.CONF.clear_override('execution_field_size_limit_kb',
                                group='engine')


BIG = """
version: '2.0'
bigctx:
  input:
    - seed
  output:
    n: <% len($.blob) %>
  tasks:
    make:
      action: std.echo output=<% $.seed %>
      publish: {blob: <% task().result %>}
      on-success: s1
""" + ''.join("""    s%d:
      action: std.noop
      publish: {step: %d}
      on-success: s%d
""" % (i, i, i + 1) for i in range(1, 20)) + """    s20:
      action: std.noop
"""


def test_published_values_are_stored_once(lang_env):
    import sqlalchemy as sa

    from mistral.db import api as db_api
    from mistral.db import models

    lang_env.create_workflows(BIG, namespace='big')
    ex = lang_env.start('bigctx', {'seed': 'x' * 200000},
                        wf_namespace='big')
    wf = lang_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'n': 200000}
    te = models.TaskExecution
    with db_api.read_session() as s:
        stored = s.execute(sa.select(
            sa.func.sum(sa.func.coalesce(sa.func.length(te.in_context), 0)
                        + sa.func.coalesce(sa.func.length(te.published), 0)
                        + sa.func.coalesce(sa.func.length(te.context_refs),
                                           0)))
            .where(te.workflow_execution_id == ex['id'])).scalar()
    # 21 tasks see the 200 KB value; it is stored once (plus the action
    # result), not once per task.
    assert 200000 < stored < 2 * 200000


def test_join_merge_prefers_the_value_published_more_recently(lang_env):
    lang_env.create_workflows("""
version: '2.0'
versions:
  output:
    final_k: <% $.k %>
  tasks:
    a:
      action: std.noop
      publish: {k: from_a, only_a: 1}
      on-success: [b, c]
    b:
      action: std.noop
      publish: {k: from_b}
      on-success: j
    c:
      action: std.echo output=slow delay=0.3
      on-success: j
    j:
      join: all
      action: std.noop
      publish: {seen: <% $.k %>, a: <% $.only_a %>}
""", namespace='versions')
    ex = lang_env.start('versions', wf_namespace='versions')
    wf = lang_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    j = _by_name(lang_env.tasks(ex['id']))['j']
    # b re-published k after a; c only passed a's value on, and arrived
    # later: b's value still wins.
    assert j.published == {'seen': 'from_b', 'a': 1}
    assert wf.output == {'final_k': 'from_b'}


def test_sub_workflow_pause_reaches_the_parent(lang_env):
    lang_env.create_workflows("""
version: '2.0'
pausing_child:
  output: {c: done}
  tasks:
    a:
      action: std.noop
      on-success: [pause, b]
    b:
      action: std.noop
pausing_parent:
  tasks:
    call:
      workflow: pausing_child
      publish: {c: <% task().result.c %>}
""", namespace='pausing')
    ex = lang_env.start('pausing_parent', wf_namespace='pausing')
    lang_env.wait(ex['id'], states=('PAUSED',))
    call = _by_name(lang_env.tasks(ex['id']))['call']
    assert call.state == 'PAUSED'
    engine_mod.Engine().resume_workflow(default_context(), ex['id'])
    wf = lang_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'c': 'done'}


def test_merge_strategy_merge(lang_env):
    from oslo_config import cfg

    lang_env.create_workflows("""
version: '2.0'
deepjoin:
  output: {seen: <% $.d %>}
  tasks:
    a:
      action: std.noop
      on-success: [b, c]
    b:
      action: std.noop
      publish: {d: {b: 1}}
      on-success: j
    c:
      action: std.noop
      publish: {d: {c: 1}}
      on-success: j
    j:
      join: all
      action: std.noop
deepinput:
  input:
    - cfg: {keep: input, over: input}
  output: {cfg: <% $.cfg %>}
  tasks:
    a:
      action: std.noop
      publish:
        cfg: {over: task, add: task}
""", namespace='merge')
    cfg.CONF.set_override('merge_strategy', 'merge', group='engine')
    try:
        ex = lang_env.start('deepjoin', wf_namespace='merge')
        wf = lang_env.wait(ex['id'])
        assert wf.output == {'seen': {'b': 1, 'c': 1}}
        ex = lang_env.start('deepinput', wf_namespace='merge')
        wf = lang_env.wait(ex['id'])
        assert wf.output == {'cfg': {'keep': 'input', 'over': 'task',
                                     'add': 'task'}}
    finally:
        cfg.CONF.clear_override('merge_strategy', group='engine')


def test_pause_then_resume_at_once_completes(lang_env):
    lang_env.create_workflows("""
version: '2.0'
quick_child:
  output: {c: finished}
  tasks:
    a:
      action: std.echo output=x delay=1
      on-success: b
    b:
      action: std.noop
quick_parent:
  tasks:
    call:
      workflow: quick_child
      publish: {c: <% task().result.c %>}
""", namespace='quick')
    eng = engine_mod.Engine()
    ctx = default_context()
    for _ in range(3):
        ex = lang_env.start('quick_parent', wf_namespace='quick')
        eng.pause_workflow(ctx, ex['id'])
        eng.resume_workflow(ctx, ex['id'])
        wf = lang_env.wait(ex['id'])
        assert wf.state == 'SUCCESS', wf.state_info
        assert wf.output == {'c': 'finished'}


def test_large_with_items_continue_over_several_transactions(lang_env):
    from oslo_config import cfg

    lang_env.create_workflows("""
version: '2.0'
batched:
  input: [n, c]
  output: {r: <% $.r %>}
  tasks:
    t:
      with-items: i in <% range($.n).toList() %>
      concurrency: <% $.c %>
      action: std.echo output=<% $.i %>
      publish: {r: <% task().result %>}
""", namespace='batched')
    import sqlalchemy as sa

    from mistral.db import api as db_api
    from mistral.db import models

    pending_rows = []

    def seen(conn, clause, multiparams, params, options):
        if isinstance(clause, sa.Insert) and \
                clause.table.name == 'with_items_pending':
            for group in multiparams or [params]:
                pending_rows.extend(
                    group if isinstance(group, list) else [group])

    cfg.CONF.set_override('inline_actions_per_transaction', 5,
                          group='engine')
    sa.event.listen(db_api.get_engine(), 'before_execute', seen)
    try:
        # Without a limit 5 run at once and 18 wait; with 3, 20 wait and
        # rows are taken part by part (a completion frees one slot).
        for concurrency, waiting in ((0, 18), (3, 20)):
            pending_rows.clear()
            ex = lang_env.start('batched', {'n': 23, 'c': concurrency},
                                wf_namespace='batched')
            wf = lang_env.wait(ex['id'])
            assert wf.state == 'SUCCESS', wf.state_info
            assert wf.output == {'r': list(range(23))}
            [task] = lang_env.tasks(ex['id'])
            assert task.runtime_context['pending_items'] == 0
            assert 'pending_taken' not in task.runtime_context
            # All inline, over several transactions, each element once.
            actions = lang_env.actions(task.id)
            assert {a.executor_id for a in actions} == {'inline'}
            assert sorted(a.runtime_context['index'] for a in actions) == \
                list(range(23))
            # Waiting inline elements are stored five (the budget) to a
            # row, not one row each.
            assert [len(r['run']['items']) for r in pending_rows] == \
                [5] * (waiting // 5) + ([waiting % 5] if waiting % 5 else [])
            assert [i['index'] for r in pending_rows
                    for i in r['run']['items']] == list(range(23 - waiting,
                                                             23))
            with db_api.read_session() as s:
                assert s.execute(sa.select(sa.func.count()).select_from(
                    models.PendingItem).where(
                        models.PendingItem.task_execution_id == task.id)
                ).scalar() == 0
    finally:
        sa.event.remove(db_api.get_engine(), 'before_execute', seen)
        cfg.CONF.clear_override('inline_actions_per_transaction',
                                group='engine')



def test_waiting_elements_in_rows_of_one_still_run(lang_env):
    """Rows written before waiting elements were stored several to a row
    hold one element under 'item' (a with-items task running during an
    upgrade): they are still read and run, each element once."""
    import sqlalchemy as sa
    from oslo_config import cfg

    from mistral.db import api as db_api

    lang_env.create_workflows("""
version: '2.0'
old_rows:
  input: [n]
  output: {r: <% $.r %>}
  tasks:
    t:
      with-items: i in <% range($.n).toList() %>
      action: std.echo output=<% $.i %>
      publish: {r: <% task().result %>}
""", namespace='old_rows')
    written = []

    def as_rows_of_one(conn, clause, multiparams, params, options):
        # Rewrite each several-element row into the older layout.
        if not (isinstance(clause, sa.Insert)
                and clause.table.name == 'with_items_pending'):
            return clause, multiparams, params
        groups = multiparams or [params]
        rows = [r for g in groups for r in (g if isinstance(g, list)
                                            else [g])]
        old = [{'task_execution_id': r['task_execution_id'],
                'item_index': item['index'],
                'run': {'kind': r['run']['kind'], 'item': item}}
               for r in rows for item in r['run']['items']]
        written.extend(old)
        return clause, old, {}

    cfg.CONF.set_override('inline_actions_per_transaction', 5,
                          group='engine')
    sa.event.listen(db_api.get_engine(), 'before_execute', as_rows_of_one,
                    retval=True)
    try:
        ex = lang_env.start('old_rows', {'n': 17}, wf_namespace='old_rows')
        wf = lang_env.wait(ex['id'])
    finally:
        sa.event.remove(db_api.get_engine(), 'before_execute',
                        as_rows_of_one)
        cfg.CONF.clear_override('inline_actions_per_transaction',
                                group='engine')
    assert len(written) == 12 and all('item' in r['run'] for r in written)
    assert wf.state == 'SUCCESS', wf.state_info
    assert wf.output == {'r': list(range(17))}
    [task] = lang_env.tasks(ex['id'])
    assert sorted(a.runtime_context['index']
                  for a in lang_env.actions(task.id)) == list(range(17))

def test_tasks_function_results_match_task_function(lang_env):
    """tasks() reads every task's result in two queries; each must equal
    what task(<name>) gives, for an action, a with-items and a
    sub-workflow task, and for tasks of earlier transactions."""
    lang_env.create_workflows("""
version: '2.0'
tr_child:
  output: {c: done}
  tasks:
    one:
      action: std.echo output=sub
tr_parent:
  tasks:
    a:
      action: std.echo
      input:
        output: [1, {x: 2}]
      on-success: [many]
    many:
      with-items: i in <% [3, 1, 2] %>
      action: std.echo output=<% $.i * 10 %>
      on-success: [sub]
    sub:
      workflow: tr_child
      on-success: [report]
    report:
      action: std.noop
      publish:
        all: <% tasks(execution().id).select([$.name, $.result, $.state]) %>
        one_by_one: <% [task(a).result, task(many).result, task(sub).result] %>
        done: <% tasks(execution().id, false, SUCCESS).select($.name) %>
""", namespace='tr')
    ex = lang_env.start('tr_parent', wf_namespace='tr')
    wf = lang_env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    report = [t for t in lang_env.tasks(ex['id']) if t.name == 'report'][0]
    pub = report.published
    assert pub['all'] == [['a', [1, {'x': 2}], 'SUCCESS'],
                          ['many', [30, 10, 20], 'SUCCESS'],
                          ['sub', {'c': 'done'}, 'SUCCESS'],
                          ['report', None, 'SUCCESS']]
    assert pub['one_by_one'] == [[1, {'x': 2}], [30, 10, 20], {'c': 'done'}]
    # The publishing task is in its final state already (as upstream).
    assert pub['done'] == ['a', 'many', 'sub', 'report']
