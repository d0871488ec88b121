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

import pytest
import sqlalchemy as sa
from sqlalchemy import orm
from oslo_config import cfg

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


def _fanout(n: int) -> str:
    branches = ['b%d' % i for i in range(n)]
    lines = ['version: "2.0"', 'fan%d:' % n, '  tasks:', '    start:',
             '      action: std.noop', '      on-success:']
    lines += ['        - %s' % b for b in branches]
    for b in branches:
        lines += ['    %s:' % b, '      action: std.echo output=%s' % b,
                  '      publish:', '        %s: <%% task().result %%>' % b,
                  '      on-success: [join_all]']
    lines += ['    join_all:', '      join: all', '      action: std.noop']
    return '\n'.join(lines) + '\n'


def _chain(n: int) -> str:
    lines = ['version: "2.0"', 'chain%d:' % n, '  tasks:']
    for i in range(n):
        lines += ['    t%d:' % i, '      action: std.echo output=%d' % i,
                  '      publish:', '        last: <% task().result %>']
        if i + 1 < n:
            lines += ['      on-success: [t%d]' % (i + 1)]
    return '\n'.join(lines) + '\n'


def _with_items(n: int, concurrency: int | None) -> str:
    conc = '      concurrency: %d\n' % concurrency if concurrency else ''
    return ('version: "2.0"\n'
            'items%d:\n'
            '  tasks:\n'
            '    loop:\n'
            '      with-items: i in <%% range(%d) %%>\n'
            '%s'
            '      action: std.echo output=<%% $.i %%>\n'
            '      publish:\n'
            '        total: <%% len(task().result) %%>\n' % (n, n, conc))


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


@INLINE
def test_join_arrivals_cost_the_same_for_10_and_80_branches(env, inline):
    CONF.set_override('inline_builtin_actions', inline, group='engine')
    # Distinct names per case: the definitions live for the whole module.
    suffix = 'i' if inline else 'x'
    small = _run(env, _fanout(10).replace('fan10', 'fan10' + suffix),
                 'fan10' + suffix)
    large = _run(env, _fanout(80).replace('fan80', 'fan80' + suffix),
                 'fan80' + suffix)
    growth = _per_unit_growth(small, 12, large, 82)
    # Constant cost per arrival keeps the growth near 1; an O(N) step per
    # arrival makes it about N_large / N_small (8 here).
    assert growth < 2, (growth, small.counts, large.counts)
    # And the absolute cost per task stays small.
    assert large.total / 82 < 30, large.counts


@INLINE
def test_chain_steps_cost_the_same_for_5_and_40_tasks(env, inline):
    CONF.set_override('inline_builtin_actions', inline, group='engine')
    suffix = 'i' if inline else 'x'
    small = _run(env, _chain(5).replace('chain5', 'chain5' + suffix),
                 'chain5' + suffix)
    large = _run(env, _chain(40).replace('chain40', 'chain40' + suffix),
                 'chain40' + suffix)
    growth = _per_unit_growth(small, 5, large, 40)
    assert growth < 2, (growth, small.counts, large.counts)
    assert large.total / 40 < 30, large.counts


@INLINE
@pytest.mark.parametrize('concurrency', [None, 5])
def test_with_items_cost_per_item_is_constant(env, concurrency, inline):
    CONF.set_override('inline_builtin_actions', inline, group='engine')
    suffix = 'c%s%s' % (concurrency, 'i' if inline else 'x')
    small = _run(env, _with_items(20, concurrency).replace(
        'items20', 'items20' + suffix), 'items20' + suffix)
    large = _run(env, _with_items(200, concurrency).replace(
        'items200', 'items200' + suffix), 'items200' + suffix)
    growth = _per_unit_growth(small, 20, large, 200)
    assert growth < 2, (growth, small.counts, large.counts)
    assert large.total / 200 < 30, large.counts
