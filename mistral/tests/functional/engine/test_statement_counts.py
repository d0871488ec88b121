"""SQL statements per task transition do not grow with the workflow's size.

The engine's scale promises (a task arriving at a join, a with-items item
completing, one step of a chain: each O(1) database work) are checked by
counting the statements the engine and executor threads send while a small
and a large instance of the same shape run. A sibling rescan or a per-item
query would make the large run's per-unit count grow with N.

Statements are counted by thread: the test's own polling (main thread) and
the idle pollers (outbox relay, lease keeper), whose count depends on wall
time, are left out, so the counts do not depend on the machine's speed.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from typing import Iterator

import prometheus_client as prom
import pytest
import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import orm

from mistral.db import api as db_api
from mistral.tests.functional.engine.conftest import in_process_engine

CONF = cfg.CONF

# Threads whose statements depend on time, not on work done.
_IDLE_THREADS = ('MainThread', 'outbox-relay', 'action-leases')


class StatementCounter:
    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        # ORM rows loaded, by class: a single SELECT that reads every
        # sibling is O(N) work that a statement count alone would miss.
        self.loaded: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def on_load(self, target, context) -> None:
        if threading.current_thread().name in _IDLE_THREADS:
            return
        with self._lock:
            self.loaded[type(target).__name__] += 1

    def __call__(self, conn, cursor, statement, *args) -> None:
        if threading.current_thread().name in _IDLE_THREADS:
            return
        verb = statement.lstrip().split(None, 1)[0].upper()
        with self._lock:
            self.counts[verb] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@contextlib.contextmanager
def counting() -> Iterator[StatementCounter]:
    counter = StatementCounter()
    engine = db_api.get_engine()
    sa.event.listen(engine, 'before_cursor_execute', counter)
    sa.event.listen(orm.Mapper, 'load', counter.on_load)
    try:
        yield counter
    finally:
        sa.event.remove(engine, 'before_cursor_execute', counter)
        sa.event.remove(orm.Mapper, 'load', counter.on_load)


def _fanout(n: int, name: str = '') -> str:
    branches = ['b%d' % i for i in range(n)]
    lines = ['version: "2.0"', '%s:' % (name or 'fan%d' % n), '  tasks:',
             '    start:',
             '      action: std.noop', '      on-success:']
    lines += ['        - %s' % b for b in branches]
    for b in branches:
        lines += ['    %s:' % b, '      action: std.echo output=%s' % b,
                  '      publish:', '        %s: <%% task().result %%>' % b,
                  '      on-success: [join_all]']
    lines += ['    join_all:', '      join: all', '      action: std.noop']
    return '\n'.join(lines) + '\n'


def _chain(n: int, name: str = '') -> str:
    lines = ['version: "2.0"', '%s:' % (name or 'chain%d' % n), '  tasks:']
    for i in range(n):
        lines += ['    t%d:' % i, '      action: std.echo output=%d' % i,
                  '      publish:', '        last: <% task().result %>']
        if i + 1 < n:
            lines += ['      on-success: [t%d]' % (i + 1)]
    return '\n'.join(lines) + '\n'


def _with_items(n: int, concurrency: int | None, name: str = '') -> str:
    conc = '      concurrency: %d\n' % concurrency if concurrency else ''
    return ('version: "2.0"\n'
            '%s:\n'
            '  tasks:\n'
            '    loop:\n'
            '      with-items: i in <%% range(%d) %%>\n'
            '%s'
            '      action: std.echo output=<%% $.i %%>\n'
            '      publish:\n'
            '        total: <%% len(task().result) %%>\n'
            % (name or 'items%d' % n, n, conc))


INLINE = pytest.mark.parametrize('inline', [True, False],
                                 ids=['inline', 'executor'])


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def env(request):
    with in_process_engine(request.param) as e:
        yield e


def _run(env, text: str, name: str) -> StatementCounter:
    env.create_workflows(text)
    with counting() as counter:
        ex = env.start(name)
        wf = env.wait(ex['id'], timeout=300)
    assert wf.state == 'SUCCESS', wf.state_info
    return counter


def _per_unit_growth(small: StatementCounter, n_small: int,
                     large: StatementCounter, n_large: int) -> float:
    """Statements (or, if that grows more, rows loaded) each extra unit
    costs in the large run, relative to the average unit cost of the small
    run."""
    def growth(a: int, b: int) -> float:
        return ((b - a) / (n_large - n_small)) / (max(a, 1) / n_small)

    loaded = growth(sum(small.loaded.values()), sum(large.loaded.values()))
    return max(growth(small.total, large.total), loaded)


def _assert_constant_cost(env, make, n_small: int, n_large: int,
                          units, suffix: str, batching: bool = False
                          ) -> None:
    """Run ``make(n, name)`` for both sizes; ``units(n)`` is what one run
    does (tasks, items).

    ``batching``: results come back through executors, which apply
    those that finished together in one transaction. How many do depends
    on timing (a small run whose elements finish in lock-step needs a
    transaction per few of them, a large one may drift into one per
    element), so the small run's average is no fixed baseline: the large
    run is held to absolute bounds instead, per unit, which an O(N) step
    per unit (N = 200) would break many times over.
    """
    runs = []
    for n in (n_small, n_large):
        name = 'w%d%s' % (n, suffix)
        runs.append(_run(env, make(n, name), name))
    small, large = runs
    per_unit = units(n_large)
    if batching:
        # At most a transaction per unit, each loading its workflow and
        # task rows and writing a few.
        assert sum(large.loaded.values()) / per_unit <= 2.5, large.loaded
        assert large.total / per_unit < 12, large.counts
        return
    growth = _per_unit_growth(small, units(n_small), large, per_unit)
    # Constant cost per unit keeps the growth near 1; an O(N) step per
    # unit makes it about n_large / n_small.
    assert growth < 2, (growth, small.counts, large.counts)
    # And the absolute cost per unit stays small.
    assert large.total / per_unit < 30, large.counts


def _suffix(inline: bool) -> str:
    CONF.set_override('inline_builtin_actions', inline, group='engine')
    # Distinct names per case: the definitions live for the whole module.
    return 'i' if inline else 'x'


@INLINE
def test_join_arrivals_cost_the_same_for_10_and_80_branches(env, inline):
    # start + branches + join_all
    _assert_constant_cost(env, _fanout, 10, 80, lambda n: n + 2,
                          'f' + _suffix(inline))


@INLINE
def test_chain_steps_cost_the_same_for_5_and_40_tasks(env, inline):
    _assert_constant_cost(env, _chain, 5, 40, lambda n: n,
                          'c' + _suffix(inline))


@INLINE
@pytest.mark.parametrize('concurrency', [None, 5])
def test_with_items_cost_per_item_is_constant(env, concurrency, inline):
    _assert_constant_cost(
        env, lambda n, name: _with_items(n, concurrency, name), 20, 200,
        lambda n: n, 'i%s%s' % (concurrency, _suffix(inline)),
        # Through executors the results of elements that finish together
        # are applied together, with or without a concurrency: how many
        # per transaction depends on timing (a loaded machine drifted to
        # twice the rows loaded per element of a quiet one), so absolute
        # bounds per element.
        batching=not inline)


_STEPS = """
version: "2.0"
%(name)s:
  tasks:
    first:
      action: std.sleep seconds=0
      publish:
        first: <%% task().result %%>
      on-success: [second]
    second:
      action: std.sleep seconds=0
"""


class _ThisThread:
    """Counts the statements of the test's own thread (the components'
    threads may handle the messages left behind meanwhile)."""

    def __init__(self) -> None:
        self.thread = threading.current_thread()
        self.counts: collections.Counter[str] = collections.Counter()

    def __call__(self, conn, cursor, statement, *args) -> None:
        if threading.current_thread() is self.thread:
            self.counts[' '.join(statement.split()[:3]).upper()] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@contextlib.contextmanager
def _no_executor() -> Iterator[None]:
    """Messages to executors go nowhere: their actions wait, unclaimed,
    for the test to apply results."""
    from mistral.handoff import outbox

    previous = outbox.register_sender('executor', lambda *a: None)
    try:
        yield
    finally:
        outbox.register_sender('executor', previous)


def _waiting_actions(wf_ex_ids: list[str], task: str) -> list[tuple]:
    """(execution id, id of the action of ``task``) of each execution."""
    from mistral.db import models

    ae, te = models.ActionExecution, models.TaskExecution
    with db_api.read_session() as s:
        rows = dict(s.execute(
            sa.select(te.workflow_execution_id, ae.id).join(
                ae, ae.task_execution_id == te.id).where(
                te.workflow_execution_id.in_(wf_ex_ids),
                te.name == task)).all())
    return [(i, rows[i]) for i in wf_ex_ids]


def _step_all(pairs, here: bool = False,
              result: dict | None = None) -> _ThisThread:
    """Apply a result (``result``, or data) for each (execution, action)
    in one transaction, counting its statements; ``here``: as an executor
    does, taking the next actions (they are not run)."""
    from mistral.engine import engine as engine_mod
    from mistral.executor import executor as executor_mod

    result = {'data': 1} if result is None else result
    groups = [({}, wf, [{'id': ax, 'result': result}]) for wf, ax in pairs]
    local = executor_mod.LocalClaim(executor_mod.Executor()) if here \
        else None
    counter = _ThisThread()
    engine = db_api.get_engine()
    sa.event.listen(engine, 'before_cursor_execute', counter)
    try:
        engine_mod.Engine()._apply_results_many(groups, local=local)
    finally:
        sa.event.remove(engine, 'before_cursor_execute', counter)
    if local is not None:
        assert len(local.taken) == len(pairs)
        local.release()
    return counter


@pytest.mark.parametrize('finishing, here', [
    (False, False), (False, True), (True, False)],
    ids=['advancing', 'advancing-taken-here', 'finishing'])
def test_results_of_many_executions_cost_the_same_statements_as_of_two(
        env, finishing, here):
    # One transaction applies a result of each of 2 or of 12 small
    # executions (an executor's batch of results): the steps of all of
    # them are written in as many statements as those of two (the next
    # actions an executor takes too), and the executions that end there
    # finish with one read of their ending tasks (before: one read, and
    # the flush it implied, per execution).
    suffix = ('f' if finishing else 'a') + ('h' if here else '')
    counts = {}
    for n in (2, 12):
        name = 'steps%d%s' % (n, suffix)
        env.create_workflows(_STEPS % {'name': name})
        with _no_executor():
            ids = [env.start(name)['id'] for _ in range(n)]
            pairs = _waiting_actions(ids, 'first')
            if finishing:
                assert _step_all(pairs).total
                pairs = _waiting_actions(ids, 'second')
            counts[n] = _step_all(pairs, here=here)
        wanted = 'SUCCESS' if finishing else 'RUNNING'
        assert [env.execution(wf).state for wf in ids] == [wanted] * n
    assert counts[12].total == counts[2].total, (counts[2].counts,
                                                 counts[12].counts)


@pytest.mark.parametrize('n', [1, 3])
@pytest.mark.parametrize('outcome', ['SUCCESS', 'ERROR'])
def test_an_execution_that_ends_is_written_once(env, n, outcome):
    # The transaction that applies the last result reads the execution's
    # ending tasks without writing what it changed first: the
    # execution's row is written once, with its count of active tasks
    # and its final state together (before: once when the read flushed,
    # again at the commit). One execution alone, and three that end
    # together. A failed last task must still fail the execution (its
    # task is found in memory, not by the read); the read of its
    # actions' errors that follows writes first, as any query does.
    name = 'ends%d%s' % (n, outcome[0])
    env.create_workflows(_STEPS % {'name': name})
    with _no_executor():
        ids = [env.start(name)['id'] for _ in range(n)]
        assert _step_all(_waiting_actions(ids, 'first')).total
        counter = _step_all(_waiting_actions(ids, 'second'), result=(
            {'data': 1} if outcome == 'SUCCESS' else {'error': 'boom'}))
    assert [env.execution(wf).state for wf in ids] == [outcome] * n
    if outcome == 'SUCCESS':
        assert counter.counts['UPDATE WORKFLOW_EXECUTIONS_V2 SET'] == 1, \
            counter.counts


def test_results_applied_together_are_counted_once_per_transaction(env):
    # The batch metric: one transaction of three results is one sample
    # of 3; the same results again (duplicates) change nothing and are
    # not counted.
    def sample(suffix: str) -> float:
        return prom.REGISTRY.get_sample_value(
            'mistral_action_results_per_transaction_' + suffix) or 0.0

    env.create_workflows(_STEPS % {'name': 'counted'})
    with _no_executor():
        ids = [env.start('counted')['id'] for _ in range(3)]
        pairs = _waiting_actions(ids, 'first')
        count, total = sample('count'), sample('sum')
        _step_all(pairs)
        assert (sample('count') - count, sample('sum') - total) == (1, 3)
        _step_all(pairs)
        assert (sample('count') - count, sample('sum') - total) == (1, 3)
