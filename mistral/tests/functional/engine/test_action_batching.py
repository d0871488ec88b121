"""Actions through executors travel in batches, counted (not timed).

An engine transaction that schedules many actions sends them in few
``run_actions`` messages; an executor claims each message's actions with
one statement. Results need no RPC call per result: the executor applies
them itself, those of one workflow execution in one transaction, and runs
a chain's next action without a message (``[executor] apply_results``);
or, with that off, sends them many to a message to the engines, which
apply them the same way. These tests count messages, claims, result
transactions and SQL statements per action for a with-items task, a
fan-out and a chain run through executors, on every database.
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
from typing import Iterator

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral.context import default_context
from mistral.db import api as db_api
from mistral.db import models
from mistral.engine import engine as engine_mod
from mistral.engine import spec_cache
from mistral.rpc import base as rpc_base

CONF = cfg.CONF

# Threads whose statements depend on time, not on work done (see
# test_statement_counts); and the reporter's look at which sent results
# were applied (once a second).
_IDLE_THREADS = ('MainThread', 'outbox-relay', 'action-leases', 'recovery')
_CONFIRMING = re.compile(r'^SELECT ACTION_EXECUTIONS_V2\.ID\s+FROM')


class Counts:
    def __init__(self) -> None:
        self.casts: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()
        self.results_sent = 0
        self.actions_sent = 0
        self.statements = 0
        self.claims = 0
        self.applies = 0
        self.applied = 0
        self._lock = threading.Lock()

    def statement(self, conn, cursor, statement, *args) -> None:
        if threading.current_thread().name in _IDLE_THREADS:
            return
        text = statement.lstrip().upper()
        if _CONFIRMING.match(text) and 'FOR UPDATE' not in text:
            return
        with self._lock:
            self.statements += 1
            if _is_claim(text):
                self.claims += 1

    def failed(self, context) -> None:
        # A claim the database refused (MariaDB may report a deadlock
        # between claims of different rows) is retried: only the attempt
        # that took the actions is the message's claim.
        if threading.current_thread().name in _IDLE_THREADS:
            return
        text = (context.statement or '').lstrip().upper()
        if _is_claim(text):
            with self._lock:
                self.claims -= 1


def _is_claim(text: str) -> bool:
    """Whether an upper-cased statement is an executor's claim."""
    if 'UPDATE ACTION_EXECUTIONS' in text and 'EXECUTOR_ID IS NULL' in text:
        return True  # (PostgreSQL: with the outbox row)
    # MariaDB's claim: lock, then update.
    return (text.startswith('SELECT') and 'EXECUTOR_ID IS NULL' in text
            and 'FOR UPDATE' in text)


@contextlib.contextmanager
def counting(monkeypatch) -> Iterator[Counts]:
    counts = Counts()
    real_cast, real_call = rpc_base.RPCClient.cast, rpc_base.RPCClient.call

    def cast(self, ctx, method, *args, **kwargs):
        with counts._lock:
            counts.casts[method] += 1
            counts.results_sent += len(kwargs.get('results') or ())
            if method == 'run_actions':
                counts.actions_sent += len(kwargs.get('actions') or ())
            elif method == 'run_action':
                counts.actions_sent += 1
        return real_cast(self, ctx, method, *args, **kwargs)

    def call(self, ctx, method, *args, **kwargs):
        with counts._lock:
            counts.calls[method] += 1
        return real_call(self, ctx, method, *args, **kwargs)

    real_apply = engine_mod.Engine._apply_results_many

    def apply(self, groups, **kwargs):
        # One call is one transaction of results (of one execution or of
        # several).
        with counts._lock:
            counts.applies += 1
            counts.applied += sum(len(items) for _, _, items in groups)
        return real_apply(self, groups, **kwargs)

    monkeypatch.setattr(rpc_base.RPCClient, 'cast', cast)
    monkeypatch.setattr(rpc_base.RPCClient, 'call', call)
    monkeypatch.setattr(engine_mod.Engine, '_apply_results_many', apply)
    engine = db_api.get_engine()
    sa.event.listen(engine, 'before_cursor_execute', counts.statement)
    sa.event.listen(engine, 'handle_error', counts.failed)
    try:
        yield counts
    finally:
        sa.event.remove(engine, 'before_cursor_execute', counts.statement)
        sa.event.remove(engine, 'handle_error', counts.failed)


@pytest.fixture
def through_executors(engine_env):
    CONF.set_override('inline_builtin_actions', False, group='engine')
    # Messages of 10: three of them fit the executor's 64 workers at once,
    # so each is claimed whole.
    CONF.set_override('actions_per_message', 10, group='executor')
    return engine_env


APPLY = pytest.mark.parametrize('apply_here', [True, False],
                                ids=['executor-applies', 'engine-applies'])


def _applying(apply_here: bool) -> str:
    CONF.set_override('apply_results', apply_here, group='executor')
    return 'x' if apply_here else 'e'


def _items(name: str, n: int) -> str:
    return ('version: "2.0"\n'
            '%s:\n'
            '  tasks:\n'
            '    each:\n'
            '      with-items: i in <%% range(%d) %%>\n'
            '      action: std.echo output=<%% $.i %%>\n'
            '      publish:\n'
            '        total: <%% task().result.sum() %%>\n' % (name, n))


def _fanout(name: str, n: int) -> str:
    lines = ['version: "2.0"', '%s:' % name, '  tasks:', '    first:',
             '      action: std.echo output=0', '      on-success:']
    lines += ['        - b%d' % i for i in range(n)]
    for i in range(n):
        lines += ['    b%d:' % i, '      action: std.echo output=%d' % i,
                  '      on-success: [last]']
    lines += ['    last:', '      join: all', '      action: std.noop']
    return '\n'.join(lines) + '\n'


def _run(env, text: str, name: str, monkeypatch) -> Counts:
    env.create_workflows(text, namespace=name)
    with counting(monkeypatch) as counts:
        ex = env.start(name, wf_namespace=name)
        wf = env.wait(ex['id'], timeout=300)
    assert wf.state == 'SUCCESS', wf.state_info
    return counts


@APPLY
def test_with_items_through_executors_is_batched(through_executors,
                                                 monkeypatch, apply_here):
    n = 30
    name = 'batched_items_' + _applying(apply_here)
    counts = _run(through_executors, _items(name, n), name, monkeypatch)
    per_message = CONF.executor.actions_per_message
    # Every action went out, in as few messages as a message holds.
    assert counts.actions_sent == n
    assert counts.casts['run_actions'] == n // per_message
    assert counts.casts['run_action'] == 0
    # One claim per message, not per action.
    assert counts.claims == n // per_message
    # Results: no RPC call per result, none lost, every one applied once,
    # a transaction for several.
    assert counts.calls['on_action_complete'] == 0
    assert counts.casts['on_action_complete'] == 0
    assert counts.applied == n
    assert counts.applies <= n
    if apply_here:
        assert counts.casts['on_action_results'] == 0
    else:
        assert counts.results_sent == n
        assert counts.applies == counts.casts['on_action_results']
    # SQL statements per item, every component together (executor claims,
    # result transactions, the task's own); 0.8-1.4 when written.
    assert counts.statements / n < 4, counts.statements


@APPLY
def test_fan_out_through_executors_is_batched(through_executors,
                                              monkeypatch, apply_here):
    n = 20
    name = 'batched_fan_' + _applying(apply_here)
    counts = _run(through_executors, _fanout(name, n), name, monkeypatch)
    per_message = CONF.executor.actions_per_message
    if apply_here:
        # first by message; the branches of the first message of 10 taken
        # by the executor that applied first's result (no message, no
        # claim), the other 10 by message; the join's action taken by the
        # executor that applied the last branch.
        assert counts.casts['run_actions'] == 1
        assert counts.actions_sent == 1 + n - per_message
        assert counts.casts['run_action'] == 1
        assert counts.claims == 2
        assert counts.casts['on_action_results'] == 0
    else:
        # first, then the 20 branches in two messages, then the join's.
        assert counts.casts['run_actions'] == 2
        assert counts.actions_sent == n + 2
        assert counts.casts['run_action'] == 2
        assert counts.claims == 4
        assert counts.results_sent == n + 2
    assert counts.calls['on_action_complete'] == 0
    assert counts.applied == n + 2
    # (1.9-3.2 when written)
    assert counts.statements / (n + 2) < 6, counts.statements


def _chain(name: str, n: int) -> str:
    lines = ['version: "2.0"', '%s:' % name, '  tasks:']
    for i in range(n):
        lines += ['    s%d:' % i, '      action: std.echo output=%d' % i,
                  '      publish:', '        last: <% task().result %>']
        if i + 1 < n:
            lines.append('      on-success: s%d' % (i + 1))
    return '\n'.join(lines) + '\n'


@APPLY
def test_chain_through_executors(through_executors, monkeypatch,
                                 apply_here):
    n = 12
    name = 'chain_' + _applying(apply_here)
    counts = _run(through_executors, _chain(name, n), name, monkeypatch)
    assert counts.applied == n
    assert counts.applies == n
    assert counts.calls['on_action_complete'] == 0
    if apply_here:
        # The first action by message; each next one taken, in the
        # transaction of the result it follows, by the executor that
        # applied that result: no message, no claim of its own.
        assert counts.actions_sent == 1
        assert counts.claims == 1
        assert counts.casts['on_action_results'] == 0
        assert sum(counts.casts.values()) == 1
    else:
        # A message to the executor and one back per step.
        assert counts.actions_sent == n
        assert counts.claims == n
        assert counts.casts['on_action_results'] == n
    # Statements per step: the result transaction (lock, read, writes),
    # and by message also the claim: 7.7-8.9 and 9.5-12.7 when written
    # (SQLite and MariaDB send BEGIN and the claim takes more statements).
    assert counts.statements / n < (10 if apply_here else 15), \
        counts.statements


def test_a_message_of_results_is_one_transaction(through_executors,
                                                 monkeypatch):
    """Results of one workflow execution in one message: one engine
    transaction applies them all; duplicates and results of actions of
    another execution change nothing."""
    env = through_executors
    env.create_workflows(_items('held_items', 5), namespace='held')
    # Executors get nothing: the test plays the executor.
    from mistral.handoff import outbox

    relay = outbox.relay()
    monkeypatch.setattr(relay, 'deliver', lambda rows: None)
    ex = env.start('held_items', wf_namespace='held')
    [task] = env.tasks(ex['id'])
    actions = sorted(env.actions(task.id),
                     key=lambda a: a.runtime_context['index'])
    assert [a.state for a in actions] == ['RUNNING'] * 5
    results = [{'id': a.id, 'wf': ex['id'],
                'result': {'data': a.runtime_context['index']}}
               for a in actions]
    eng = engine_mod.Engine()
    with counting(monkeypatch) as counts:
        # Three now, the other two later (and the first one again).
        eng.on_action_results(default_context(), results[:3])
        assert counts.applies == 1
        eng.on_action_results(default_context(),
                              results[3:] + results[:1] + [
                                  {'id': actions[0].id, 'wf': 'another',
                                   'result': {'data': 'wrong'}}])
    wf = env.wait(ex['id'])
    assert wf.state == 'SUCCESS', wf.state_info
    [task] = env.tasks(ex['id'])
    assert task.published == {'total': 10}
    assert [a.output for a in sorted(
        env.actions(task.id), key=lambda a: a.runtime_context['index'])] \
        == [{'result': i} for i in range(5)]
    with db_api.transaction() as s:
        s.execute(sa.delete(models.OutboxMessage))


def test_results_of_a_deleted_execution_are_dropped(through_executors,
                                                    monkeypatch):
    env = through_executors
    env.create_workflows(_items('gone_items', 2), namespace='gone')
    from mistral.handoff import outbox

    relay = outbox.relay()
    monkeypatch.setattr(relay, 'deliver', lambda rows: None)
    ex = env.start('gone_items', wf_namespace='gone')
    [task] = env.tasks(ex['id'])
    ids = [a.id for a in env.actions(task.id)]
    with db_api.transaction() as s:
        s.execute(sa.delete(models.OutboxMessage))
        s.execute(sa.delete(models.ActionExecution).where(
            models.ActionExecution.id.in_(ids)))
        s.execute(sa.delete(models.TaskExecution).where(
            models.TaskExecution.id == task.id))
        s.execute(sa.delete(models.WorkflowExecution).where(
            models.WorkflowExecution.id == ex['id']))
    # Nothing to apply, nothing raised (the executor would only send
    # them again).
    engine_mod.Engine().on_action_results(
        default_context(), [{'id': i, 'wf': ex['id'], 'result': {'data': 1}}
                            for i in ids])


def _held_actions(env, name: str, k: int, monkeypatch) -> list[dict]:
    """Results for the one action of each of ``k`` new executions, their
    messages held back (the test plays the executor)."""
    from mistral.handoff import outbox

    monkeypatch.setattr(outbox.relay(), 'deliver', lambda rows: None)
    out = []
    for _ in range(k):
        ex = env.start(name, wf_namespace=name)
        [task] = env.tasks(ex['id'])
        [action] = env.actions(task.id)
        out.append({'id': action.id, 'wf': ex['id'], 'result': {'data': 1}})
    return out


def _in_thread(func) -> None:
    """Run ``func`` in a thread of its own: statements of the main thread
    are not counted (see _IDLE_THREADS)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            func()
        except BaseException as e:  # noqa: BLE001 -- raised below
            errors.append(e)

    t = threading.Thread(target=target, name='applying')
    t.start()
    t.join(60)
    if errors:
        raise errors[0]


def _two(name: str) -> str:
    return ('version: "2.0"\n'
            '%s:\n'
            '  tasks:\n'
            '    first:\n'
            '      action: std.echo output=1\n'
            '      publish:\n'
            '        got: <%% task().result %%>\n'
            '      on-success: second\n'
            '    second:\n'
            '      action: std.echo output=2\n'
            '      publish:\n'
            '        both: <%% $.got + task().result %%>\n' % name)


def _second_steps(env, eng, first: list[dict]) -> list[dict]:
    """Apply the first tasks' results; the results for the second tasks'
    actions (whose contexts refer to what the first published)."""
    _in_thread(lambda: eng.on_action_results(default_context(), first))
    out = []
    for item in first:
        [task] = [t for t in env.tasks(item['wf']) if t.name == 'second']
        [action] = env.actions(task.id)
        out.append({'id': action.id, 'wf': item['wf'],
                    'result': {'data': 2}})
    return out


def test_results_of_several_executions_are_one_transaction(
        through_executors, monkeypatch):
    """Results of several workflow executions in one message: one
    transaction applies all of them, with far fewer statements than one
    transaction each (the rows locked in one statement, what the tasks'
    contexts refer to read in one)."""
    env = through_executors
    k = 6
    env.create_workflows(_two('together'), namespace='together')
    eng = engine_mod.Engine()
    together = _second_steps(
        env, eng, _held_actions(env, 'together', k, monkeypatch))
    # As in an executor that has not seen these executions: their specs
    # are read (in one query) and parsed.
    spec_cache.clear()
    with counting(monkeypatch) as counts:
        _in_thread(lambda: eng.on_action_results(default_context(),
                                                 together))
    assert counts.applies == 1
    assert counts.applied == k
    for item in together:
        wf = env.wait(item['wf'])
        assert wf.state == 'SUCCESS', wf.state_info
        assert wf.output == {'got': 1, 'both': 3}
    alone = _second_steps(
        env, eng, _held_actions(env, 'together', k, monkeypatch))
    with counting(monkeypatch) as one_by_one:
        for item in alone:
            _in_thread(lambda item=item: eng.on_action_results(
                default_context(), [item]))
    assert one_by_one.applies == k
    for item in alone:
        wf = env.wait(item['wf'])
        assert wf.state == 'SUCCESS', wf.state_info
        assert wf.output == {'got': 1, 'both': 3}
    # Each execution's own writes remain (its task, its workflow); what
    # the transaction costs once is shared.
    assert 0 < counts.statements < 0.7 * one_by_one.statements, (
        counts.statements, one_by_one.statements)
    with db_api.transaction() as s:
        s.execute(sa.delete(models.OutboxMessage))


def test_a_batch_with_an_unappliable_execution_applies_the_others(
        through_executors, monkeypatch):
    """When the transaction of several executions fails, each is applied
    alone: the others still finish."""
    env = through_executors
    env.create_workflows(_two('mixed'), namespace='mixed')
    items = _held_actions(env, 'mixed', 3, monkeypatch)
    broken = items[1]['wf']
    real_child_done = engine_mod.tasks.child_done

    def child_done(run, task_ex, latest):
        if run.wf_ex.id == broken:
            raise RuntimeError('this execution cannot go on')
        return real_child_done(run, task_ex, latest)

    monkeypatch.setattr(engine_mod.tasks, 'child_done', child_done)
    with counting(monkeypatch) as counts:
        engine_mod.Engine().on_action_results(default_context(), items)
    # The batch, then each of the three alone.
    assert counts.applies == 4
    for item in items:
        if item['wf'] != broken:
            [task] = [t for t in env.tasks(item['wf']) if t.name == 'first']
            assert task.state == 'SUCCESS'
    with db_api.transaction() as s:
        ax = s.get(models.ActionExecution, items[1]['id'])
        assert ax.state == 'RUNNING'  # not applied: its executor resends
        s.execute(sa.delete(models.OutboxMessage))
