"""Chaos run: many workflows under crashes, then checks.

Usage::

    python -m tools.chaos.run [--db postgresql|mysql] [-n 500] [--seed 1]
        [--no-restarts] [--settle 90]

Deploys api, 2 engines, 2 executors, 2 schedulers, a notifier and an
event engine, each its own process, on a private database and RabbitMQ
vhost (``mistral.tests.functional.harness``); submits the workflows of
:mod:`tools.chaos.workflows` while processes are killed and restarted,
RabbitMQ and the database server restart once each and messages are
duplicated; then checks outcomes, run-once, stuck executions and orphan
rows (:mod:`tools.chaos.checks`). Prints one ``chaos:`` summary line and
exits non-zero on any violation.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import logging
import random
import sys
import threading
import time
from typing import Any, Sequence

import sqlalchemy as sa

from mistral.tests.functional import harness
from tools.chaos import api as chaos_api
from tools.chaos import checks
from tools.chaos import faults
from tools.chaos import ledger as chaos_ledger
from tools.chaos import workflows

LOG = logging.getLogger('chaos')

FULL_PROCESSES = [['api'], ['engine'], ['engine'], ['executor'],
                  ['executor'], ['scheduler'], ['scheduler'], ['notifier'],
                  ['event-engine']]
# The kinds the monkey kills (notifier and event engine hold no work).
KILLABLE = ('api', 'engine', 'executor', 'scheduler')


@dataclasses.dataclass
class Config:
    db: str = 'postgresql'
    workflows: int = 500
    seed: int = 1
    processes: Sequence[Sequence[str]] = tuple(FULL_PROCESSES)
    # Seconds between kills (randomised +-50%); 0 disables the monkey.
    kill_interval: float = 5.0
    # Share of the monkey's faults that are SIGSTOP/SIGCONT pauses of
    # 2.5 action leases instead of kills.
    pause_share: float = 0.0
    # Explicit kills instead of the monkey: (after n submitted, index).
    scripted_kills: Sequence[tuple[int, int]] = ()
    restart_broker: bool = True
    restart_db: bool = True
    # Duplicates: outbox copies and RPC casts per injection; injections
    # every dup_interval seconds while faults run (0: one injection).
    dup_outbox: int = 10
    dup_rpc: int = 10
    dup_interval: float = 4.0
    # Executions submitted at once at most (keeps 2 cores responsive).
    inflight: int = 60
    # Faults last at least this long (and until all is submitted).
    min_fault_s: float = 60.0
    # After faults stop, every execution must be terminal within this.
    settle: float = 90.0
    action_lease: int = 4
    # Keep the database after the run (for debugging; drop it by hand).
    keep_db: bool = False
    conf_extra: dict[str, dict[str, Any]] = dataclasses.field(
        default_factory=dict)


@dataclasses.dataclass
class Result:
    violations: list[str]
    summary: str
    counts: dict[str, Any]

    @property
    def new_violations(self) -> list[str]:
        """Violations that no known bug explains."""
        return [v for v in self.violations if not checks.known_bug(v)]


def conf_overrides(cfg: Config) -> dict[str, dict[str, Any]]:
    conf: dict[str, dict[str, Any]] = {
        'executor': {'action_lease': cfg.action_lease},
        'engine': {'outbox_lease': 3, 'outbox_poll_interval': 0.5,
                   'inline_builtin_actions': False},
        # The ledger is on loopback: take it out of the denied networks
        # (allowed_hosts would not: it only narrows what may be reached).
        'action_std_http': {'denied_cidrs': ['169.254.0.0/16', 'fe80::/10'],
                            'default_timeout': 20},
        'scheduler': {'job_lease': 5, 'max_sleep': 1.0},
        'DEFAULT': {'rpc_response_timeout': 20},
    }
    for section, opts in cfg.conf_extra.items():
        conf.setdefault(section, {}).update(opts)
    return conf


class AsyncCompleter(threading.Thread):
    """Completes the ``std.async_noop`` actions of external tasks through
    the API, as an outside system would, with ``{"v": n}``."""

    def __init__(self, engine: sa.Engine, api: chaos_api.Api) -> None:
        super().__init__(name='async-completer', daemon=True)
        self.engine = engine
        self.api = api
        self.done: set[str] = set()
        self.stop_event = threading.Event()
        self.errors = 0

    def run(self) -> None:
        while not self.stop_event.wait(0.5):
            try:
                self.poll()
            except Exception:  # the DB restarts too
                LOG.debug('async poll failed', exc_info=True)
                self.errors += 1

    def poll(self) -> None:
        names = ', '.join("'%s'" % t for t in set(
            workflows.EXTERNAL_TASKS.values()))
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT a.id, w.input, w.workflow_name, t.name "
                "FROM action_executions_v2 a JOIN task_executions_v2 t "
                "ON a.task_execution_id = t.id JOIN workflow_executions_v2 "
                "w ON t.workflow_execution_id = w.id "
                "WHERE a.state = 'RUNNING' AND a.name = 'std.async_noop' "
                "AND t.name IN (%s)" % names)).all()
        for row in rows:
            if row.id in self.done or (
                    workflows.EXTERNAL_TASKS.get(row.workflow_name)
                    != row.name):
                continue
            n = checks._json(row.input)['n']
            self.api.complete_action(row.id, {'v': n})
            self.done.add(row.id)


def _kill_restart(dep: harness.Deployment, idx: int,
                  killed: set[int]) -> None:
    LOG.info('scripted kill -9 of process %d (pid %s)', idx,
             dep.processes[idx].pid)
    killed.add(dep.processes[idx].pid)
    dep.kill(idx)
    time.sleep(1)
    dep.start(idx)


def _submit_all(cfg: Config, api: chaos_api.Api, engine: sa.Engine,
                ledger_url: str, dep: harness.Deployment,
                submitted: dict[str, tuple[str, int]],
                killed: set[int]) -> None:
    rng = random.Random(cfg.seed)
    scripted = sorted(cfg.scripted_kills)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        i = 0
        while i < cfg.workflows:
            while scripted and scripted[0][0] <= i:
                _kill_restart(dep, scripted.pop(0)[1], killed)
            try:
                busy = checks.non_terminal(engine)
            except Exception:
                busy = cfg.inflight  # the DB is restarting
            room = max(cfg.inflight - busy, 0)
            if not room:
                time.sleep(0.5)
                continue
            batch = []
            for _ in range(min(room, 10, cfg.workflows - i)):
                shape = workflows.pick(i)
                n = rng.randint(0, 20)
                wf_input = dict(shape.make_input(n), ledger=ledger_url)
                batch.append((shape.workflow, n, wf_input))
                i += 1
            for wf, n, ex_id in pool.map(
                    lambda b: (b[0], b[1], api.start(b[0], b[2])), batch):
                submitted[ex_id] = (wf, n)
            time.sleep(0.2)
    for _, idx in scripted:
        _kill_restart(dep, idx, killed)


def run(cfg: Config) -> Result:
    """Deploy, run the workflows under faults, check; never raises for a
    violation (they are in the result)."""
    killable = [i for i, p in enumerate(cfg.processes)
                if p[0] in KILLABLE]
    submitted: dict[str, tuple[str, int]] = {}
    counts: dict[str, Any] = {}
    violations: list[str] = []
    with harness.Deployment(db=cfg.db, transport='rabbit',
                            processes=[list(p) for p in cfg.processes],
                            conf_overrides=conf_overrides(cfg),
                            start_timeout=120) as dep, \
            chaos_ledger.LedgerServer(api_url='') as ledger_srv:
        ledger_srv.ledger.api_url = dep.api_url
        engine = sa.create_engine(dep.db_url, pool_pre_ping=True,
                                  pool_size=4)
        api = chaos_api.Api(dep.api_url)
        faults.install_outbox_copy(engine, cfg.db)
        api.create_workflows(workflows.WORKFLOWS)
        completer = AsyncCompleter(engine, api)
        completer.start()
        dup = faults.Duplicator(engine, dep.conf_path, cfg.seed)
        monkey = None
        started = time.monotonic()
        if cfg.kill_interval:
            events = []
            if cfg.restart_broker:
                events.append((cfg.kill_interval * 4, 'rabbit'))
            if cfg.restart_db:
                events.append((cfg.kill_interval * 9, 'db'))
            monkey = faults.Monkey(dep, killable, cfg.kill_interval,
                                   cfg.seed, events, cfg.db,
                                   pause_share=cfg.pause_share,
                                   pause_seconds=2.5 * cfg.action_lease)
            monkey.start()
        stop_dup = threading.Event()

        def inject() -> None:
            while True:
                try:
                    dup.outbox(cfg.dup_outbox)
                    dup.rpc(cfg.dup_rpc)
                except Exception:
                    LOG.warning('duplicate injection failed', exc_info=True)
                    dup.errors += 1
                if not cfg.dup_interval or stop_dup.wait(cfg.dup_interval):
                    return

        injector = threading.Thread(target=inject, daemon=True)
        # Let some work exist before the first injection.
        threading.Timer(3.0, injector.start).start()
        scripted_pids: set[int] = set()
        _submit_all(cfg, api, engine, ledger_srv.url, dep, submitted,
                    scripted_pids)
        LOG.info('all %d submitted after %.0fs', len(submitted),
                 time.monotonic() - started)
        # Faults go on while most work still runs, but not forever.
        if monkey is not None:
            while monkey.is_alive() and time.monotonic() - started < 900:
                elapsed = time.monotonic() - started
                if (elapsed >= cfg.min_fault_s and len(
                        monkey.done_events) >= len(monkey.events)):
                    break
                time.sleep(1)
            monkey.stop()
        stop_dup.set()
        if injector.is_alive():
            injector.join()
        faults_stopped = time.monotonic()
        LOG.info('faults stopped after %.0fs', faults_stopped - started)
        # Settling: everything terminal within the bound.
        while time.monotonic() - faults_stopped < cfg.settle:
            try:
                if checks.non_terminal(engine) == 0:
                    break
            except Exception:
                pass
            time.sleep(1)
        settle_took = time.monotonic() - faults_stopped
        # Delayed outbox rows (timeouts of finished tasks) fall due and are
        # sent within a few seconds; give the relays and completions that.
        time.sleep(6)
        faults.remove_outbox_copy(engine, cfg.db)
        data = checks.load(engine)
        ledger = ledger_srv.ledger.snapshot()
        completer.stop_event.set()
        killed = monkey.killed_pids if monkey else scripted_pids
        v, outcome = checks.outcomes(data, submitted, killed,
                                     dup.redelivered)
        violations += v
        violations += checks.stuck(data)
        violations += checks.orphans(data)
        violations += checks.run_once(data, ledger)
        if ledger_srv.ledger.completions_failed:
            violations.append('harness: %d async completions failed'
                              % ledger_srv.ledger.completions_failed)
        counts.update(outcome)
        counts.update(
            db=cfg.db, workflows=len(submitted),
            executions=len(data['executions']), tasks=len(data['tasks']),
            actions=len(data['actions']),
            ledger_calls=sum(ledger.values()),
            kills=sum(monkey.kills.values()) if monkey else len(
                cfg.scripted_kills),
            kills_by_kind=monkey.kills if monkey else {},
            pauses=sum(monkey.pauses.values()) if monkey else 0,
            restarts=','.join(monkey.done_events) if monkey else '',
            dup_outbox=dup.outbox_copies, dup_rpc=dup.rpc_casts,
            settle_s=round(settle_took, 1),
            total_s=round(time.monotonic() - started, 1),
            api_retries=api.retries)
        if violations and cfg.workflows <= 50:
            LOG.info('logs:\n%s', dep.logs(tail=40))
        engine.dispose()
        if cfg.keep_db:
            LOG.warning('keeping database %s', dep.db_url)
            dep._db = None  # close() drops only what it still holds
    known = [v for v in violations if checks.known_bug(v)]
    counts['known_bugs'] = sorted({checks.known_bug(v) for v in known})
    summary = ('chaos: db=%(db)s workflows=%(workflows)d '
               'success=%(success)d explained_error=%(explained_error)d '
               'violations=%(violations)d (known bugs: %(known)d) '
               'kills=%(kills)d pauses=%(pauses)d '
               'restarts=%(restarts)s dup_outbox=%(dup_outbox)d '
               'dup_rpc=%(dup_rpc)d executions=%(executions)d '
               'tasks=%(tasks)d actions=%(actions)d '
               'ledger_calls=%(ledger_calls)d settle_s=%(settle_s)s '
               'total_s=%(total_s)s' % dict(
                   counts, violations=len(violations), known=len(known)))
    return Result(violations, summary, counts)


def _in_snapshot(ref: str, argv: list[str]) -> int:
    """Run this tool again on ``git archive <ref>`` of the work tree.

    The work tree is shared with engineers who edit it while a run lasts,
    and every restarted process loads the code on disk at that moment: a
    snapshot makes the run test one known version.
    """
    import os
    import shutil
    import subprocess
    import tempfile

    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    tmp = tempfile.mkdtemp(prefix='chaos-src-')
    try:
        archive = subprocess.run(['git', '-C', root, 'archive', ref],
                                 check=True, capture_output=True).stdout
        subprocess.run(['tar', '-x', '-C', tmp], input=archive, check=True)
        env = dict(os.environ, PYTHONPATH=tmp)
        # The editable install's finder comes after PYTHONPATH, so every
        # mistral process imports the snapshot.
        return subprocess.run([sys.executable, '-m', 'tools.chaos.run']
                              + argv, cwd=tmp, env=env).returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--db', default='postgresql',
                   choices=['postgresql', 'mysql'])
    p.add_argument('-n', '--workflows', type=int, default=500)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--kill-interval', type=float, default=5.0)
    p.add_argument('--no-restarts', action='store_true',
                   help='no RabbitMQ/database server restarts (they '
                        'disturb other users of the same servers)')
    p.add_argument('--settle', type=float, default=90.0,
                   help='seconds after the faults stop within which every '
                        'execution must be terminal')
    p.add_argument('--fault-seconds', type=float, default=60.0,
                   help='faults last at least this long')
    p.add_argument('--inflight', type=int, default=60)
    p.add_argument('--no-dup', action='store_true',
                   help='inject no duplicated messages')
    p.add_argument('--keep-db', action='store_true')
    p.add_argument('--pause-share', type=float, default=0.0,
                   help='share of faults that SIGSTOP a process for 2.5 '
                        'action leases instead of killing it')
    p.add_argument('--snapshot', metavar='REF',
                   help='run on "git archive REF" (e.g. HEAD) instead of '
                        'the work tree as it is')
    p.add_argument('-v', '--verbose', action='store_true')
    args = p.parse_args(argv)
    if args.snapshot:
        rest = [a for a in argv if not a.startswith('--snapshot')]
        if '--snapshot' in argv:
            rest.remove(args.snapshot)  # its separate value
        return _in_snapshot(args.snapshot, rest)
    logging.basicConfig(level=logging.DEBUG if args.verbose
                        else logging.INFO,
                        format='%(asctime)s %(name)s %(message)s')
    for noisy in ('urllib3', 'oslo_messaging', 'amqp', 'kombu'):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = Config(db=args.db, workflows=args.workflows, seed=args.seed,
                 kill_interval=args.kill_interval,
                 restart_broker=not args.no_restarts,
                 restart_db=not args.no_restarts, settle=args.settle,
                 inflight=args.inflight, min_fault_s=args.fault_seconds,
                 keep_db=args.keep_db, pause_share=args.pause_share)
    if args.no_dup:
        cfg.dup_outbox = cfg.dup_rpc = 0
    result = run(cfg)
    for v in result.violations[:200]:
        bug = checks.known_bug(v)
        print('VIOLATION', '(known bug %s)' % bug if bug else '', v)
    if len(result.violations) > 200:
        print('... and %d more' % (len(result.violations) - 200))
    print(json.dumps(result.counts, default=str))
    print(result.summary)
    return 1 if result.violations else 0


if __name__ == '__main__':
    sys.exit(main())
