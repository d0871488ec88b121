#!/usr/bin/env python
"""What one result transaction costs: a fixed part and a part per result.

An executor applies the results of its actions itself (``[executor]
apply_results``), those that wait at the same time in one transaction,
and claims the next actions in it. The CPU that takes is a fixed part per
transaction (begin and commit, the lock of each execution, the round
trips of its statements) and a part per result. How many results share a
transaction decides which part dominates: two executors on a busy host
apply about two results per transaction where one applies ten (see
doc/source/admin/performance.rst). Throughput runs (tools/bench/run.py)
move by a third within minutes on a shared host, too much to see a change
of a tenth in either part; this measures them directly.

It starts ``--executions`` executions of a three-step chain per size
(the throughput benchmark's ``many`` workflow: ``std.echo`` and
``std.noop`` sent through executors), with only an engine in this
process: no executor takes the actions. Then, step by step, it applies
their results as an executor does (the engine's batch applier with the
executor's local claim of the next action), ``--sizes`` results to a
transaction, and reads per transaction: this thread's CPU time
(``time.thread_time``: waiting for the database does not count), the
statements it ran and the messages that carried them to the server (on
PostgreSQL the writes nothing reads back go together, see
mistral.db.write_buffer), and, for a database server on this host, the
server's CPU (its processes in /proc; anything else it serves counts
too). The fixed and per-result parts are a least-squares fit over the
sizes. Each size gets its own executions, ``--rounds`` times in turn,
after a round of a few that is not counted (statements compiled once).
``--phases`` also times parts of a transaction: the lock, the
statements, the driver's calls, the engine's decisions, the final
writes, the commit.

    python tools/bench/apply_cost.py --db postgresql
    python tools/bench/apply_cost.py --db sqlite --executions 50 --sizes 1,5

The applied actions are left claimed by a stand-in executor that never
runs them: the measurement stops at the commit, where an executor would
hand the next actions to its workers.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import threading
import time
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import driver  # noqa: E402  (tools/bench/driver.py, beside this file)
import run  # noqa: E402  (tools/bench/run.py: the shared servers)

from mistral.context import default_context  # noqa: E402
from mistral.db import api as db_api  # noqa: E402
from mistral.db import models  # noqa: E402
from mistral.db import write_buffer  # noqa: E402
from mistral.engine import engine as engine_mod  # noqa: E402
from mistral.executor import executor as executor_mod  # noqa: E402
from mistral.tests.functional.engine import conftest  # noqa: E402

# The throughput benchmark's many-http workflow (three tasks in a chain,
# the first publishing), with std.echo and std.noop for std.http.
CHAIN = driver.small_wf('chain', driver.Actions('inline'))
STEPS = ('next task, published', 'next task', 'execution ends')


def server_root(backend: str) -> int | None:
    """The root of the database server's process tree on this host, found
    as the throughput benchmark finds it (None: SQLite, or no server
    here)."""
    return run.shared_servers(backend, broker=False).get('database')


def server_cpu(root: int | None) -> float | None:
    """CPU seconds the tree under ``root`` has used so far."""
    if root is None:
        return None
    return driver.tree_cpu(root, driver.proc_children())


class _StandIn:
    """What the local claim asks of an executor: free workers (as many as
    wanted), whether it is stopping, its id."""

    def __init__(self) -> None:
        self._slots = threading.BoundedSemaphore(1 << 30)
        self._stopping = threading.Event()
        self.id = 'apply-cost-stand-in'


class Phases:
    """This thread's CPU time inside some of the functions a result
    transaction runs (``--phases``), by wrappers installed for the
    measurement and removed after. The phases nest (the lock runs a
    statement), so their shares overlap."""

    def __init__(self) -> None:
        self.cpu: collections.defaultdict[str, float] = \
            collections.defaultdict(float)
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attr: str, label: str) -> None:
        real = getattr(owner, attr)
        main = threading.main_thread()
        cpu = self.cpu

        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is not main:
                return real(*args, **kwargs)
            start = time.thread_time()
            try:
                return real(*args, **kwargs)
            finally:
                cpu[label] += time.thread_time() - start

        self._undo.append((owner, attr, vars(owner).get(attr)))
        setattr(owner, attr, timed)

    def install(self, dialect: Any) -> None:
        from sqlalchemy import orm

        from mistral.engine import bulk
        from mistral.engine import engine as engine_mod
        from mistral.engine import tasks
        from mistral.engine import workflows

        self.wrap(sa.engine.Connection, 'execute', 'statements')
        for name in ('do_execute', 'do_executemany', 'do_commit'):
            self.wrap(type(dialect), name, 'driver calls')
        self.wrap(engine_mod, '_lock_run', 'lock and load executions')
        self.wrap(engine_mod, '_lock_runs', 'lock and load executions')
        self.wrap(tasks, 'child_done', 'task steps (engine decisions)')
        self.wrap(workflows, 'finish_together', 'executions ending')
        self.wrap(bulk, 'flush', 'final writes')
        self.wrap(orm.SessionTransaction, 'commit', 'commit')

    def remove(self) -> None:
        for owner, attr, before in reversed(self._undo):
            if before is None:
                delattr(owner, attr)
            else:
                setattr(owner, attr, before)
        self._undo = []

    def take(self, transactions: int) -> dict[str, float]:
        """ms per transaction of each phase since the last take."""
        out = {k: v * 1000 / transactions for k, v in self.cpu.items()}
        self.cpu.clear()
        return out


def fit(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(fixed, per item) of a least-squares line through (size, cost)."""
    xs = {x for x, _ in points}
    if len(xs) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    return my - slope * mx, slope


def measure(backend: str, executions: int, sizes: list[int],
            rounds: int, phases: bool = False) -> dict[str, Any]:
    conf = cfg.CONF
    root = server_root(backend)
    rows: list[dict[str, Any]] = []
    with conftest.in_process_engine(backend, prefix='mistral-apply-cost-',
                                    component_names=('engine',)) as env:
        conf.set_override('inline_builtin_actions', False, group='engine')
        # Nobody renews the stand-in's claims: they must not expire (and
        # be handed back) while the measurement runs.
        conf.set_override('action_lease', 3600, group='executor')
        env.create_workflows(CHAIN)
        ctx = default_context().to_dict()
        eng = engine_mod.Engine()
        timing = Phases() if phases else None
        try:
            if timing is not None:
                timing.install(db_api.get_engine().dialect)
            # A first round of a few executions per size is not counted:
            # it compiles and caches each statement shape.
            for rnd in range(-1, rounds):
                for size in sizes:
                    n = executions if rnd >= 0 else min(executions, 2 * size)
                    ids = [env.start('chain', {'n': k})['id']
                           for k in range(n)]
                    for step, label in enumerate(STEPS):
                        row = _step(eng, ctx, ids, step, size, root,
                                    timing)
                        if rnd >= 0:
                            rows.append(dict(row, round=rnd + 1, what=label))
                    states = [wf.state for wf in map(env.execution, ids)]
                    if states.count('SUCCESS') != len(ids):
                        raise SystemExit('executions did not all succeed: '
                                         '%s' % sorted(set(states)))
        finally:
            if timing is not None:
                timing.remove()
    return summarize(backend, executions, sizes, rounds, rows)


def _step(eng: Any, ctx: dict[str, Any], ids: list[str],
          step: int, size: int, root: int | None,
          timing: Phases | None) -> dict[str, Any]:
    """Apply the running action's result of each of ``ids``, ``size`` to
    a transaction; what that cost (``root``: the database server's
    process tree)."""
    ax = models.ActionExecution
    with db_api.read_session() as s:
        running = dict(s.execute(
            sa.select(ax.workflow_execution_id, ax.id)
            .where(ax.workflow_execution_id.in_(ids),
                   ax.state == 'RUNNING')).all())
    if len(running) != len(ids):
        raise SystemExit('step %d: %d of %d executions have a running '
                         'action' % (step + 1, len(running), len(ids)))
    groups = [(ctx, wf, [{'id': running[wf], 'result': {'result': step}}])
              for wf in ids]
    me = threading.current_thread()
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        if threading.current_thread() is me:
            statements += 1

    # The server's first: reading /proc is not the transactions' CPU.
    server = server_cpu(root)
    sa.event.listen(db_api.get_engine(), 'before_cursor_execute', count)
    write_buffer.Stats.reset()
    cpu = time.thread_time()
    transactions = 0
    try:
        for i in range(0, len(groups), size):
            local = executor_mod.LocalClaim(
                _StandIn())  # type: ignore[arg-type]
            eng._apply_results_many(groups[i:i + size], local=local)
            transactions += 1
    finally:
        cpu = time.thread_time() - cpu
        sa.event.remove(db_api.get_engine(), 'before_cursor_execute', count)
    after = server_cpu(root)
    return {
        'size': size, 'step': step + 1, 'transactions': transactions,
        # The last transaction holds fewer when size does not divide them.
        'results_per_transaction': len(ids) / transactions,
        'cpu_ms_per_transaction': cpu * 1000 / transactions,
        'statements_per_transaction': statements / transactions,
        # What reached the server as messages: the writes held together
        # (mistral.db.write_buffer) are one each (BEGIN and COMMIT are
        # not counted, as they are not among the statements).
        'messages_per_transaction': (
            statements - write_buffer.Stats.statements
            + write_buffer.Stats.messages) / transactions,
        'server_cpu_ms_per_transaction':
            None if server is None or after is None
            else (after - server) * 1000 / transactions,
        'phases_ms_per_transaction':
            timing.take(transactions) if timing else None}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def summarize(backend: str, executions: int, sizes: list[int], rounds: int,
              rows: list[dict[str, Any]]) -> dict[str, Any]:
    per_size: dict[int, dict[str, Any]] = {}
    for size in sizes:
        # Every step of every round: a transaction's figures are their
        # mean (a chain's three steps, one result of each per execution).
        mine = [r for r in rows if r['size'] == size]
        server = [r['server_cpu_ms_per_transaction'] for r in mine]
        phases = [r['phases_ms_per_transaction'] or {} for r in mine]
        per_size[size] = {
            'cpu_ms_per_transaction': _mean(
                [r['cpu_ms_per_transaction'] for r in mine]),
            'cpu_ms_per_result': _mean(
                [r['cpu_ms_per_transaction'] / r['results_per_transaction']
                 for r in mine]),
            'statements_per_transaction': _mean(
                [r['statements_per_transaction'] for r in mine]),
            'messages_per_transaction': _mean(
                [r['messages_per_transaction'] for r in mine]),
            'server_cpu_ms_per_transaction':
                None if None in server else _mean(server),
            'phases_ms_per_transaction': {
                name: _mean([p.get(name, 0.0) for p in phases])
                for name in set().union(*phases)}}
    line = fit([(r['results_per_transaction'], r['cpu_ms_per_transaction'])
                for r in rows])
    server_line = None
    if all(r['server_cpu_ms_per_transaction'] is not None for r in rows):
        server_line = fit([(r['results_per_transaction'],
                            r['server_cpu_ms_per_transaction'])
                           for r in rows])
    return {'db': backend, 'executions': executions, 'rounds': rounds,
            'sizes': per_size, 'runs': rows,
            'fixed_cpu_ms': line and line[0],
            'cpu_ms_per_result': line and line[1],
            'server_fixed_cpu_ms': server_line and server_line[0],
            'server_cpu_ms_per_result': server_line and server_line[1]}


def report(doc: dict[str, Any]) -> str:
    out = ['%s, %d executions per size, %d round(s); per transaction, the '
           'mean of a chain\'s three steps:' % (doc['db'], doc['executions'],
                                                doc['rounds']),
           '  results  CPU ms  per result  statements  messages  '
           'server CPU ms']
    for size, s in sorted(doc['sizes'].items()):
        server = s['server_cpu_ms_per_transaction']
        out.append('  %7d  %6.2f  %10.2f  %10.1f  %8.1f  %s' % (
            size, s['cpu_ms_per_transaction'], s['cpu_ms_per_result'],
            s['statements_per_transaction'], s['messages_per_transaction'],
            '-' if server is None else '%.2f' % server))
    for size, s in sorted(doc['sizes'].items()):
        spent = s['phases_ms_per_transaction']
        if not spent:
            continue
        out.append('  phases of a transaction of %d (ms, share of the '
                   'thread; they overlap):' % size)
        for name, ms in sorted(spent.items(), key=lambda kv: -kv[1]):
            out.append('    %-32s %6.2f  %3.0f%%' % (
                name, ms, 100 * ms / s['cpu_ms_per_transaction']))
    if doc['fixed_cpu_ms'] is not None:
        out.append('fit: %.2f ms per transaction + %.2f ms per result (this '
                   'thread)' % (doc['fixed_cpu_ms'], doc['cpu_ms_per_result']))
    if doc['server_fixed_cpu_ms'] is not None:
        out.append('     %.2f ms per transaction + %.2f ms per result (the '
                   'database server)' % (doc['server_fixed_cpu_ms'],
                                         doc['server_cpu_ms_per_result']))
    return '\n'.join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--db', default='postgresql',
                    choices=['sqlite', 'postgresql', 'mysql'])
    ap.add_argument('--executions', type=int, default=200,
                    help='executions per size and round (default 200)')
    ap.add_argument('--sizes', default='1,2,10',
                    help='results per transaction, comma-separated '
                         '(default 1,2,10)')
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--phases', action='store_true',
                    help='also time phases of a transaction (the lock, the '
                         'statements, the final writes, the commit, ...); '
                         'the wrappers add their own cost')
    ap.add_argument('--json-out', help='also write the figures here')
    args = ap.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(',')]
    except ValueError:
        ap.error('--sizes: comma-separated whole numbers, got %r'
                 % args.sizes)
    if not sizes or min(sizes) < 1 or args.executions < 1 or \
            args.rounds < 1:
        ap.error('--sizes, --executions and --rounds must be at least 1')
    doc = measure(args.db, args.executions, sizes, args.rounds,
                  phases=args.phases)
    print(report(doc))
    if args.json_out:
        with open(args.json_out, 'w') as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
