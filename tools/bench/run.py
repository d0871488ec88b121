#!/usr/bin/env python3
"""Benchmark our Mistral service, optionally side by side with upstream.

Starts the service in the production shape -- ``mistral-server --server
api,engine,executor,scheduler`` on a rabbit:// transport, so that each
component is its own OS process, on a private PostgreSQL (or ``--db mysql``)
database and a private RabbitMQ vhost -- or, with ``--embedded``, the
no-config single process on SQLite and the in-memory transport. Then it runs
the scenarios below and prints a table (and writes JSON with every run).

Scenarios (``--scenarios``, comma separated; groups ``all``, ``executor``,
``inline``, ``scale``, ``scale-http``), run with tools/bench/driver.py (the
REST API only, every result checked):

  seq-http, fanout-http, withitems-http, many-http      (group executor)
      every action a std.http call of a local HTTP target
      (tools/bench/http_target.py), the path real actions take, through
      executors: a 20-task chain, a 40-wide fan-out into a join, a
      with-items over 100 items, 40 small executions from 4 clients.
  seq, fanout, withitems, withitems-c10, many, api      (group inline)
      std.noop/std.echo, which our engine runs inline (no executor): a
      50-task chain, a 100-wide fan-out into a join, a 500-item
      with-items (withitems-c10: ``concurrency: 10``), 200 small
      executions from 8 clients, and 4 clients reading the API for 10 s.
  scale-wi-http-100, scale-wi-http-1k                   (group scale-http)
      with-items over 100 / 1,000 std.http calls; the whole result list is
      checked; the engine's and the executor's resident sets are sampled.
  scale-wi-1k, scale-wi-10k, scale-fanout-100, scale-fanout-1000
      with-items over 1,000 / 10,000 items (std.echo), a fan-out of 100 /
      1,000 std.noop tasks into a ``join: all`` task.

CPU ms per unit is reported for every server process.

``--vs-upstream`` also starts upstream Mistral 23.0.0 with run_upstream.sh
(from ``$MISTRAL_BENCH_SHARED``, default /work/shared/bench) on its own
port, database and vhost, and runs each scenario alternately (ours,
upstream, ours, upstream, ...: one server busy at a time); the table gives
medians of ``--repeat`` runs and the ratios ours/upstream (throughput: >1
means we are faster; CPU per unit: <1 means we use less). Both servers'
std.http may reach 127.0.0.1 (``[action_std_http]``).

``--scale-out`` adds a copy of ours with two engines and two executors
("ours-2x"); ``--also-no-inline`` one with ``[engine]
inline_builtin_actions = false`` ("ours-noinline"). ``--ref`` picks the git
commit our service runs (default HEAD, exported under ``--out``;
uncommitted changes in a shared working tree are not measured unless
``--ref worktree``).

``--profile`` samples the engine and executor (and api) with py-spy during
each scenario of ours and prints the hottest functions; ``--sql-log``
(PostgreSQL only) turns on ``log_statement=all`` for our database and counts
the statements of each scenario in the server log, per component.

Everything started is stopped and the databases and vhosts are dropped on
exit, also on Ctrl-C, SIGTERM or failure.

Examples::

    tools/bench/run.py                                  # ours, all scenarios
    tools/bench/run.py --scenarios executor --repeat 3 --vs-upstream
    tools/bench/run.py --scenarios executor --scale-out --repeat 3
    tools/bench/run.py --db mysql --scenarios seq,fanout
    tools/bench/run.py --embedded --scenarios seq-http,many
    tools/bench/run.py --scenarios seq-http,fanout-http --profile --sql-log
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import driver  # noqa: E402  (tools/bench/driver.py, beside this file)

from mistral.tests.functional import harness  # noqa: E402

# Upstream is started with the script of a side-by-side checkout when one
# is present (MISTRAL_BENCH_SHARED); nothing else comes from outside.
SHARED = os.environ.get('MISTRAL_BENCH_SHARED', '/work/shared/bench')
RUN_UPSTREAM = os.path.join(SHARED, 'run_upstream.sh')
DRIVER = os.path.join(HERE, 'driver.py')
PG_LOG = os.environ.get('MISTRAL_BENCH_PG_LOG',
                        '/var/log/postgresql/postgresql-15-main.log')

# std.http must reach the benchmark's HTTP target on 127.0.0.1: allowed,
# and loopback left out of the denied networks (link-local stays denied).
HTTP_TARGET_DENIED_CIDRS = '169.254.0.0/16,fe80::/10'
HTTP_TARGET_OPTIONS = {'action_std_http': {
    'allowed_hosts': '127.0.0.1',
    'denied_cidrs': HTTP_TARGET_DENIED_CIDRS}}

# name -> (driver scenario, actions, driver arguments). The executor path
# (every action a std.http call, through executors) at the performance
# issue's sizes; then the inline shortcut (std.noop/std.echo, which our
# engine runs in its own transaction) at the earlier sizes.
DRIVER_SCENARIOS = {
    'seq-http': ('seq', 'http', ['--n', '20']),
    'fanout-http': ('fanout', 'http', ['--n', '40']),
    'withitems-http': ('withitems', 'http', ['--n', '100']),
    'many-http': ('many', 'http', ['--n', '40', '--clients', '4']),
    'seq': ('seq', 'inline', []),
    'fanout': ('fanout', 'inline', []),
    'withitems': ('withitems', 'inline', []),
    'withitems-c10': ('withitems', 'inline', ['--item-concurrency', '10']),
    'many': ('many', 'inline', []),
    'api': ('api', 'inline', []),
}
EXECUTOR_PATH = ['seq-http', 'fanout-http', 'withitems-http', 'many-http']
INLINE = ['seq', 'fanout', 'withitems', 'withitems-c10', 'many', 'api']
# name -> (kind, size, actions)
SCALE_SCENARIOS = {
    'scale-wi-http-100': ('withitems', 100, 'http'),
    'scale-wi-http-1k': ('withitems', 1000, 'http'),
    'scale-wi-1k': ('withitems', 1000, 'inline'),
    'scale-wi-10k': ('withitems', 10000, 'inline'),
    'scale-fanout-100': ('fanout', 100, 'inline'),
    'scale-fanout-1000': ('fanout', 1000, 'inline'),
}
ALL = list(DRIVER_SCENARIOS) + list(SCALE_SCENARIOS)
# The performance issues' targets: ours/upstream throughput (medians), and
# for the scale runs the wall time of the large run over the small one.
RATIO_TARGETS = {'seq-http': 5, 'fanout-http': 30, 'withitems-http': 15,
                 'many-http': 15,
                 'seq': 20, 'fanout': 100, 'withitems': 25,
                 'withitems-c10': 50, 'many': 20, 'api': 10}
SCALE_TARGETS = {('scale-wi-http-1k', 'scale-wi-http-100'): 12,
                 ('scale-wi-10k', 'scale-wi-1k'): 12,
                 ('scale-fanout-1000', 'scale-fanout-100'): 12}
# More processes must not mean less throughput: the copy with two engines
# and two executors against the one with one of each (medians; 10 % is
# within this machine's run-to-run noise).
SCALE_OUT_FLOOR = 0.9
# Memory stays flat in the scale runs: what the engine, an executor or
# the API (which starts workflows) holds after them against before, and
# its peak.
RSS_DRIFT_MB = 20
RSS_PEAK_MB = 300
GROUPS = {'all': ALL, 'executor': EXECUTOR_PATH, 'inline': INLINE,
          'wfbench': INLINE, 'scale': list(SCALE_SCENARIOS),
          'scale-http': ['scale-wi-http-100', 'scale-wi-http-1k'],
          'withitems*': ['withitems', 'withitems-c10']}


def log(*msg: object) -> None:
    print('[bench %s]' % time.strftime('%H:%M:%S'), *msg, file=sys.stderr,
          flush=True)


class Interrupted(BaseException):
    """SIGTERM/SIGHUP: unwind like Ctrl-C so that cleanup runs."""


def _raise_interrupted(signum, _frame):
    raise Interrupted('signal %d' % signum)


# --- /proc helpers -----------------------------------------------------------


def children_of(pid: int) -> dict[int, list[str]]:
    """Direct children of ``pid``: {child pid: argv}."""
    out = {}
    for child in driver.proc_children().get(pid, ()):
        argv = driver.proc_cmdline(child)
        if argv is not None:
            out[child] = argv
    return out


def tree_pids(root: int) -> list[int]:
    # One scan of /proc for the whole tree (was one per process in it).
    return list(driver.tree(root, driver.proc_children()))


# The servers the deployments share, by the name of their process.
_DATABASE_PROCESSES = {'postgresql': ('postgres',),
                       'mysql': ('mariadbd', 'mysqld')}


def shared_servers(db_backend: str, broker: bool,
                   proc: str = '/proc') -> dict[str, int]:
    """{'database': pid, 'broker': pid}: the roots of the database's and
    RabbitMQ's process trees on this host, whose CPU per unit is reported
    beside the service's (every target of a run uses them; only the one
    measured is busy). A server not found here is left out."""
    names = _DATABASE_PROCESSES.get(db_backend, ())
    table = driver.proc_table(proc)
    out = {}
    db = sorted(pid for pid, (name, ppid) in table.items()
                if name in names and table.get(ppid, ('',))[0] not in names)
    if db:
        out['database'] = db[0]
    for pid in sorted(table) if broker else ():
        if table[pid][0].startswith('beam') and any(
                'rabbit' in a for a in driver.proc_cmdline(pid, proc) or ()):
            out['broker'] = pid
            break
    return out


def proc_status(pid: int, *keys: str) -> dict[str, int]:
    """Values (kB) from /proc/<pid>/status, e.g. VmRSS, VmHWM."""
    out = {}
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                k, _, v = line.partition(':')
                if k in keys:
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


class RssSampler:
    """Samples VmRSS of some pids every ``interval`` s in a thread."""

    def __init__(self, pids: dict[str, int], interval: float = 0.2) -> None:
        self.pids = pids
        self.interval = interval
        self.peak: dict[str, int] = {k: 0 for k in pids}
        self.start_rss: dict[str, int] = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            for label, pid in self.pids.items():
                rss = proc_status(pid, 'VmRSS').get('VmRSS', 0)
                self.peak[label] = max(self.peak[label], rss)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        for label, pid in self.pids.items():
            self.start_rss[label] = proc_status(pid, 'VmRSS').get('VmRSS', 0)
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()

    def result(self) -> dict[str, dict[str, float]]:
        out = {}
        for label, pid in self.pids.items():
            st = proc_status(pid, 'VmRSS', 'VmHWM')
            out[label] = {
                'rss_start_mb': round(self.start_rss.get(label, 0) / 1024, 1),
                'rss_peak_sampled_mb': round(self.peak[label] / 1024, 1),
                'rss_end_mb': round(st.get('VmRSS', 0) / 1024, 1),
                'vmhwm_mb': round(st.get('VmHWM', 0) / 1024, 1)}
        return out


def wait_http(url: str, timeout: float, alive=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:  # noqa: BLE001 -- not up yet
            pass
        if alive is not None and not alive():
            raise RuntimeError('server exited before %s answered' % url)
        time.sleep(0.3)
    raise RuntimeError('%s did not answer within %.0f s' % (url, timeout))


def quiet_port() -> int:
    """A free port below the ephemeral range, so that no outgoing connection
    of the other server can take it between now and upstream's bind()."""
    import random

    lo = 20000
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            lo = min(lo, int(f.read().split()[0]) - 2000)
    except (OSError, ValueError):
        pass
    for _ in range(200):
        port = random.randint(max(lo - 8000, 1025), lo)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue
        return port
    return harness.free_port()


class Source:
    """The code our service runs: a git ref exported to a tmp dir (put
    first on PYTHONPATH of our processes), or the working tree as is."""

    def __init__(self, ref: str, parent: str) -> None:
        self.ref = ref
        self.parent = parent
        self.dir = ''
        self.commit = ''

    def prepare(self) -> None:
        if self.ref == 'worktree':
            self.commit = subprocess.run(
                ['git', '-C', ROOT, 'rev-parse', 'HEAD'], text=True,
                capture_output=True).stdout.strip() + '+worktree'
            return
        self.commit = subprocess.run(
            ['git', '-C', ROOT, 'rev-parse', self.ref], text=True,
            capture_output=True, check=True).stdout.strip()
        self.dir = tempfile.mkdtemp(prefix='src-', dir=self.parent)
        archive = subprocess.Popen(
            ['git', '-C', ROOT, 'archive', self.commit, 'mistral'],
            stdout=subprocess.PIPE)
        subprocess.run(['tar', '-x', '-C', self.dir], stdin=archive.stdout,
                       check=True)
        if archive.wait() != 0:
            raise SystemExit('git archive %s failed' % self.ref)
        os.environ['PYTHONPATH'] = os.pathsep.join(
            [self.dir] + [p for p in os.environ.get('PYTHONPATH', '').split(
                os.pathsep) if p])
        log('our service runs %s (%s) from %s' % (self.ref, self.commit[:10],
                                                  self.dir))

    def cleanup(self) -> None:
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = ''


# --- targets -----------------------------------------------------------------


class Target:
    label = ''
    url = ''
    db_backend = ''
    db_name = ''
    # Talks to the engines and executors through RabbitMQ.
    uses_broker = True

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def cpu_pids(self) -> dict[str, int]:
        """{label: pid} whose process trees the driver samples."""
        raise NotImplementedError

    def component_pids(self) -> dict[str, int]:
        return {}

    def describe(self) -> str:
        return self.label


class Ours(Target):
    """Our service: production shape on PG/MySQL + RabbitMQ, or embedded."""

    def __init__(self, db: str = 'postgresql', embedded: bool = False,
                 keep_logs: bool = False, sql_log: bool = False,
                 conf: dict[str, dict[str, str]] | None = None,
                 label: str = 'ours', copies: int = 1) -> None:
        self.label = label
        # std.http reaches the benchmark's HTTP target; the caller's
        # options win.
        self.conf = {k: dict(v) for k, v in HTTP_TARGET_OPTIONS.items()}
        for section, opts in (conf or {}).items():
            self.conf.setdefault(section, {}).update(opts)
        # Engines and executors: one each, or two each (--scale-out).
        self.copies = copies
        self.embedded = embedded
        self.db_backend = 'sqlite' if embedded else db
        self.uses_broker = not embedded
        self.keep_logs = keep_logs
        self.sql_log = sql_log
        self.dep: harness.Deployment | None = None
        self.popen: subprocess.Popen | None = None
        self.tmpdir = ''
        self._components: dict[str, int] = {}
        self._launchers: list[int] = []

    def describe(self) -> str:
        conf = ''
        if self.conf:
            conf = '; options %s' % ', '.join(
                '[%s] %s=%s' % (sec, k, v) for sec, opts in self.conf.items()
                for k, v in opts.items())
        if self.embedded:
            return 'ours: embedded single process (no config: SQLite, ' \
                   'in-memory transport)' + conf
        if self.copies > 1:
            return ('%s: mistral-server --server api,engine,executor,'
                    'scheduler and a second mistral-server --server '
                    'engine,executor (one process each: 2 engines, 2 '
                    'executors) on %s + RabbitMQ%s' % (
                        self.label, self.db_backend, conf))
        return ('%s: mistral-server --server api,engine,executor,scheduler '
                '(one process each) on %s + RabbitMQ%s' % (
                    self.label, self.db_backend, conf))

    def start(self) -> None:
        if self.embedded:
            self._start_embedded()
        else:
            self._start_production()
        log('%s up at %s; pids %s' % (self.label, self.url,
                                      self.component_pids()))

    def _start_production(self) -> None:
        groups = [['api', 'engine', 'executor', 'scheduler']]
        groups += [['engine', 'executor']] * (self.copies - 1)
        dep = harness.Deployment(
            db=self.db_backend, transport='rabbit', processes=groups,
            conf_overrides=self.conf, start_timeout=180, stop_timeout=30,
            keep_tmpdir=self.keep_logs)
        self.dep = dep
        dep.setup()     # database, vhost, config file, schema
        self.db_name = dep.db_name
        if self.sql_log:
            if self.db_backend != 'postgresql':
                raise SystemExit('--sql-log needs --db postgresql')
            harness.PostgreSQLDatabase(self.db_name).execute(
                'ALTER DATABASE "%s" SET log_statement = \'all\''
                % self.db_name)
        dep.start_all()
        self.url = dep.api_url
        launchers = [p.pid for p in dep.processes]
        wanted = sum(len(g) for g in groups)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            comps = {}
            for launcher in launchers:
                for pid, argv in sorted(children_of(launcher).items()):
                    if '--server' in argv:
                        name = argv[argv.index('--server') + 1]
                        label, k = name, 2
                        while label in comps:  # the second engine, ...
                            label, k = '%s-%d' % (name, k), k + 1
                        comps[label] = pid
            if len(comps) >= wanted:
                break
            time.sleep(0.2)
        self._components = comps
        self._launcher = launchers[0]
        self._launchers = launchers

    def _start_embedded(self) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix='mistral-bench-')
        port = harness.free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('MISTRAL_CONFIG', 'OS_'))}
        env['MISTRAL_STATE_DIR'] = os.path.join(self.tmpdir, 'state')
        # oslo.config reads OS_<GROUP>__<OPTION>; it is not a config file,
        # so the service still runs its no-config embedded default.
        env['OS_API__PORT'] = str(port)
        env['PYTHONUNBUFFERED'] = '1'
        for section, opts in self.conf.items():
            for key, value in opts.items():
                env['OS_%s__%s' % (section.upper(), key.upper())] = value
        self.db_name = os.path.join(self.tmpdir, 'state', 'mistral.sqlite')
        server = os.path.join(os.path.dirname(sys.executable),
                              'mistral-server')
        self._log_path = os.path.join(self.tmpdir, 'server.log')
        with open(self._log_path, 'ab') as out:
            self.popen = subprocess.Popen(
                [server], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env, cwd=self.tmpdir,
                start_new_session=True)
        self.url = 'http://127.0.0.1:%d/v2' % port
        wait_http(self.url + '/workflows?limit=1', 180,
                  alive=lambda: self.popen.poll() is None)
        self._launcher = self.popen.pid
        self._components = {'all': self.popen.pid}

    def cpu_pids(self) -> dict[str, int]:
        if self.embedded:
            return {self.label: self._launcher}
        # The whole service: every launcher's tree.
        out = {self.label: self._launcher}
        for i, launcher in enumerate(self._launchers[1:], 2):
            out['%s-launcher-%d' % (self.label, i)] = launcher
        for name, pid in self._components.items():
            if name.split('-')[0] in ('api', 'engine', 'executor'):
                out[name] = pid
        return out

    def executor_pid(self) -> int:
        return self._components.get('executor') or self._launcher

    def component_pids(self) -> dict[str, int]:
        return dict(self._components)

    def engine_pid(self) -> int:
        return self._components.get('engine') or self._launcher

    def stop(self) -> None:
        if self.popen is not None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(10)
            self.popen = None
            if self.tmpdir and not self.keep_logs:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
            elif self.tmpdir:
                log('kept %s' % self.tmpdir)
        if self.dep is not None:
            dep, self.dep = self.dep, None
            if self.keep_logs:
                log('kept %s' % dep.tmpdir)
            dep.close()     # stops processes, drops database and vhost

    def logs_tail(self) -> str:
        if self.dep is not None:
            return self.dep.logs(tail=40)
        if self.tmpdir:
            try:
                with open(self._log_path) as f:
                    return ''.join(f.readlines()[-40:])
            except OSError:
                pass
        return ''


class Upstream(Target):
    """Upstream Mistral 23.0.0 through run_upstream.sh, own port/DB/vhost."""

    def __init__(self, keep_logs: bool = False) -> None:
        self.label = 'upstream'
        self.db_backend = 'postgresql'
        self.keep_logs = keep_logs
        self.port = quiet_port()
        self.name = harness.resource_name()
        self.db_name = self.name
        self.state = os.environ.get(
            'STATE', os.path.expanduser('~/.cache/mistral-upstream'))
        # Upstream's std.http (23.0.0) denies loopback by default too;
        # oslo.config reads options from the environment.
        self.env = dict(os.environ, PORT=str(self.port), DB_NAME=self.name,
                        VHOST=self.name, STATE=self.state,
                        OS_ACTION_STD_HTTP__DENIED_CIDRS=(
                            HTTP_TARGET_DENIED_CIDRS))
        for k in ('DB_URL', 'VENV', 'PYTHONPATH'):
            self.env.pop(k, None)
        self.url = 'http://127.0.0.1:%d/v2' % self.port
        self.run_dir = os.path.join(self.state, 'run-%d' % self.port)
        self.started = False

    def describe(self) -> str:
        return ('upstream: Mistral 23.0.0 (run_upstream.sh: api,engine,'
                'executor,notifier,periodic in one launcher) on postgresql + '
                'RabbitMQ')

    def start(self) -> None:
        log('starting upstream on port %d (first use installs it; takes '
            'minutes)' % self.port)
        self.started = True
        proc = subprocess.run(['bash', RUN_UPSTREAM, 'start'], env=self.env,
                              stdin=subprocess.DEVNULL, text=True,
                              capture_output=True, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError('run_upstream.sh start failed:\n%s\n%s' % (
                proc.stdout[-3000:], proc.stderr[-3000:]))
        log('upstream up at %s (pid %s)' % (self.url, self._pid()))

    def _pid(self) -> int:
        with open(os.path.join(self.run_dir, 'server.pid')) as f:
            return int(f.read().strip())

    def cpu_pids(self) -> dict[str, int]:
        return {'upstream': self._pid()}

    def component_pids(self) -> dict[str, int]:
        return {'all': self._pid()}

    def engine_pid(self) -> int:
        return self._pid()

    def executor_pid(self) -> int:
        return self._pid()

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        errors = []
        try:
            subprocess.run(['bash', RUN_UPSTREAM, 'stop'], env=self.env,
                           stdin=subprocess.DEVNULL, timeout=120,
                           capture_output=True)
        except Exception as e:  # noqa: BLE001 -- keep cleaning up
            errors.append('stop: %s' % e)
        for res in (harness.PostgreSQLDatabase(self.name),
                    harness.RabbitVhost(self.name)):
            try:
                res.drop()
            except Exception as e:  # noqa: BLE001
                errors.append('drop %s: %s' % (self.name, e))
        if self.keep_logs:
            log('kept upstream logs in %s' % self.run_dir)
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        if errors:
            log('upstream cleanup problems: %s' % errors)

    def logs_tail(self) -> str:
        try:
            with open(os.path.join(self.run_dir, 'mistral.log')) as f:
                return ''.join(f.readlines()[-40:])
        except OSError:
            return ''


# --- py-spy profiling --------------------------------------------------------


class Profiler:
    """py-spy record (raw collapsed stacks) of some pids while active."""

    def __init__(self, out_dir: str, rate: int = 100,
                 gil: bool = False) -> None:
        self.out_dir = out_dir
        self.rate = rate
        # --gil samples only the thread that holds the GIL: a profile of
        # the Python CPU time, without threads waiting for the database
        # or the broker in C code (which py-spy cannot always tell idle).
        self.gil = gil
        self.procs: list[tuple[str, str, subprocess.Popen]] = []
        self.pyspy = shutil.which('py-spy') or os.path.join(
            os.path.dirname(sys.executable), 'py-spy')
        os.makedirs(out_dir, exist_ok=True)

    def start(self, tag: str, pids: dict[str, int]) -> None:
        for label, pid in pids.items():
            path = os.path.join(self.out_dir, '%s-%s.txt' % (tag, label))
            p = subprocess.Popen(
                [self.pyspy, 'record', '--pid', str(pid), '--rate',
                 str(self.rate), '--format', 'raw', '--nonblocking',
                 '--output', path] + (['--gil'] if self.gil else []),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            self.procs.append((label, path, p))

    def stop(self) -> dict[str, str]:
        out = {}
        for _label, _path, p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for label, path, p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            out[label] = path
        self.procs = []
        return out


_FRAME_RE = re.compile(r'^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$')


def _short_file(path: str) -> str:
    for marker in ('/site-packages/', '/work/main/', '/lib/python3.11/'):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


# Leaf frames where a thread waits rather than computes; py-spy does not
# always classify them as idle. DB round trips (do_execute & co.) are kept
# and shown as their own category: they are the engine's dominant wait.
WAIT_LEAVES = ('Condition.wait', 'Event.wait', 'TCPTransport._read',
               'EpollSelector.select', 'PollSelector.select', 'select',
               'sleep', 'Queue.get', 'Lock.acquire', '_wait_for_tstate_lock',
               'SSLTransport._read', 'socket.recv', 'recv_into',
               'BlockingConnection', 'HTTPConnection.communicate')
DB_LEAVES = ('DefaultDialect.do_execute', 'PGDialect_psycopg2.do_executemany',
             'DefaultDialect.do_commit', 'DefaultDialect.do_rollback',
             '_PGDialect_common_psycopg.do_ping', 'connect')


def summarize_profile(path: str, top: int = 25) -> dict:
    """Self and inclusive sample shares per function from py-spy raw output.

    Idle threads are not sampled (py-spy default), but threads blocked in a
    lock or socket read often are; ``busy_*`` leaves out samples whose leaf
    frame is such a wait (WAIT_LEAVES), so its shares approximate where the
    process spends CPU and database round trips (DB_LEAVES, shown as
    ``db_share``).
    """
    self_c: collections.Counter = collections.Counter()
    incl_c: collections.Counter = collections.Counter()
    mod_c: collections.Counter = collections.Counter()
    bself_c: collections.Counter = collections.Counter()
    bincl_c: collections.Counter = collections.Counter()
    total = busy = db = 0
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError:
        return {'samples': 0}
    for line in lines:
        line = line.rstrip('\n')
        stack, _, n = line.rpartition(' ')
        try:
            n = int(n)
        except ValueError:
            continue
        frames = []
        for fr in stack.split(';'):
            if fr.startswith(('process ', 'thread ')):
                continue
            m = _FRAME_RE.match(fr)
            if m:
                frames.append('%s (%s)' % (m['func'],
                                           _short_file(m['file'])))
            else:
                frames.append(fr)
        if not frames:
            continue
        total += n
        self_c[frames[-1]] += n
        for fr in set(frames):
            incl_c[fr] += n
        leaf_file = frames[-1].rsplit('(', 1)[-1].rstrip(')')
        mod_c[leaf_file.split('/')[0] if '/' in leaf_file else leaf_file] += n
        leaf_func = frames[-1].split(' (', 1)[0]
        if leaf_func in WAIT_LEAVES:
            continue
        busy += n
        if leaf_func in DB_LEAVES:
            db += n
        bself_c[frames[-1]] += n
        for fr in set(frames):
            bincl_c[fr] += n

    def pct(c, base):
        return [(k, round(100.0 * v / base, 1)) for k, v in
                c.most_common(top)] if base else []

    return {'samples': total, 'self': pct(self_c, total),
            'inclusive': pct(incl_c, total),
            'self_by_package': pct(mod_c, total),
            'busy_samples': busy,
            'db_share': round(100.0 * db / busy, 1) if busy else None,
            'busy_self': pct(bself_c, busy),
            'busy_inclusive': pct(bincl_c, busy)}


# --- SQL statement counting (PostgreSQL log_statement=all) -------------------


class SqlCounter:
    """Counts our database's statements in the PostgreSQL server log.

    Each backend pid is mapped to the component that owns the connection
    through pg_stat_activity (client port) and ``ss -tnp`` (port -> pid).
    """

    LINE_RE = re.compile(r'^\S+ \S+ \S+ \[(?P<pid>\d+)\] \S*@(?P<db>\S+) '
                         r'LOG:  statement: (?P<sql>.*)$')

    def __init__(self, db_name: str, pid_labels: dict[int, str],
                 log_path: str = PG_LOG) -> None:
        self.db_name = db_name
        self.pid_labels = pid_labels
        self.log_path = log_path
        self.offset = 0
        self.backend_owner: dict[int, str] = {}

    def mark(self) -> None:
        self.offset = os.path.getsize(self.log_path)
        self.backend_owner = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        # Connections come and go (pool recycling, per-thread sessions):
        # map backends to components while they exist, not just at the end.
        while True:
            try:
                self._map_backends()
            except Exception:  # noqa: BLE001 -- best effort
                pass
            if self._stop.wait(0.5):
                return

    def _map_backends(self) -> None:
        rows = harness.PostgreSQLDatabase(self.db_name).execute(
            "SELECT pid, client_port FROM pg_stat_activity "
            "WHERE datname = '%s'" % self.db_name)
        port_owner = {}
        try:
            out = subprocess.run(['ss', '-tnpH'], capture_output=True,
                                 text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ''
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 6 or not parts[4].endswith(':5432'):
                continue
            m = re.search(r'pid=(\d+)', line)
            if m:
                port_owner[int(parts[3].rsplit(':', 1)[1])] = int(m.group(1))
        for bpid, cport in rows:
            owner = port_owner.get(cport)
            label = self.pid_labels.get(owner, 'other') if owner else 'other'
            if label != 'other' or bpid not in self.backend_owner:
                self.backend_owner[bpid] = label

    def collect(self) -> dict:
        self._stop.set()
        self._thread.join()
        self._map_backends()
        by_comp: collections.Counter = collections.Counter()
        by_kind: dict[str, collections.Counter] = collections.defaultdict(
            collections.Counter)
        by_table: dict[str, collections.Counter] = collections.defaultdict(
            collections.Counter)
        total = 0
        with open(self.log_path, errors='replace') as f:
            f.seek(self.offset)
            for line in f:
                m = self.LINE_RE.match(line)
                if not m or m['db'] != self.db_name:
                    continue
                comp = self.backend_owner.get(int(m['pid']), 'other')
                sql = m['sql'].strip()
                kind = sql.split(None, 1)[0].upper() if sql else '?'
                total += 1
                by_comp[comp] += 1
                by_kind[comp][kind] += 1
                t = re.search(r'(?:\bFROM|\bINTO|^UPDATE)\s+"?(\w+)', sql,
                              re.IGNORECASE)
                if t and kind in ('SELECT', 'INSERT', 'UPDATE', 'DELETE'):
                    by_table[comp]['%s %s' % (kind, t.group(1))] += 1
        return {'total': total, 'by_component': dict(by_comp),
                'by_kind': {k: dict(v) for k, v in by_kind.items()},
                'top_tables': {k: v.most_common(12)
                               for k, v in by_table.items()}}


# --- running scenarios -------------------------------------------------------


def run_driver(target: Target, name: str, warmup: int, out_dir: str,
               rep: int, timeout: float,
               overrides: dict[str, list[str]] | None = None,
               measured: int = 1) -> dict:
    """One run of a scenario with tools/bench/driver.py (and its warm-up
    runs), as a separate process: the client's CPU is not the server's."""
    scen, actions, extra = DRIVER_SCENARIOS[name]
    extra = extra + (overrides or {}).get(name, [])
    path = os.path.join(out_dir, 'driver-%s-%s-%d%s.json' % (
        target.label, name, rep, '' if measured else '-warmup'))
    cmd = [sys.executable, DRIVER, '--url', target.url, '--scenario', scen,
           '--actions', actions, '--repeat', str(measured), '--warmup',
           str(warmup), '--quiet', '--timeout', str(timeout), '--json-out',
           path] + extra
    pids = dict(target.cpu_pids())
    pids.update(shared_servers(target.db_backend, target.uses_broker))
    for label, pid in pids.items():
        cmd += ['--cpu-pid', '%s=%d' % (label, pid)]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=timeout * 4 + 600)
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        doc = {'ok': False, 'error': 'no JSON (exit %d): %s' % (
            proc.returncode, proc.stderr[-2000:])}
    if not doc.get('ok'):
        return {'ok': False, 'error': doc.get('error'),
                'stderr': proc.stderr[-2000:]}
    if not measured:
        return {'ok': True}
    out = normalize_run(target.label, doc['runs'][0])
    out['warmup_units'] = sum(w.get('units') or 0
                              for w in doc.get('warmup_runs', []))
    return out


def normalize_run(label: str, run: dict) -> dict:
    """A driver run as the table wants it. The service's CPU (label) is
    the sum of its launchers' process trees."""
    cpu = dict(run.get('cpu_ms_per_unit') or {})
    extra = [k for k in cpu if k.startswith(label + '-launcher-')]
    if extra and label in cpu:
        cpu[label] = round(cpu[label] + sum(cpu.pop(k) for k in extra), 2)
    unit = run.get('unit')
    out = {'ok': True, 'metric': '%ss_per_s' % unit,
           'value': run.get('value'), 'wall_s': run.get('wall_s'),
           'unit': unit, 'units': run.get('units'), 'cpu_ms_per_unit': cpu,
           'wait_ms_per_unit': dict(run.get('wait_ms_per_unit') or {}),
           'host_busy_pct': run.get('host_busy_pct'), 'raw': run}
    for k in ('latency_p50_s', 'latency_p95_s', 'post_p50_s', 'post_p95_s',
              'p50_s', 'p99_s'):
        if k in run:
            out[k] = run[k]
    return out


class ScaleApi:
    def __init__(self, url: str) -> None:
        import requests

        self.url = url.rstrip('/')
        self.s = requests.Session()

    def req(self, method, path, expect=(200,), **kw):
        r = self.s.request(method, self.url + path, timeout=300, **kw)
        if r.status_code not in expect:
            raise RuntimeError('%s %s -> %d %s' % (method, path,
                                                   r.status_code,
                                                   r.text[:500]))
        return r

    def create_wf(self, text: str) -> None:
        self.req('POST', '/workflows', expect=(200, 201), data=text,
                 headers={'Content-Type': 'text/plain'})

    def tasks(self, ex_id: str) -> list[dict]:
        out, marker = [], None
        while True:
            params = {'limit': 1000}
            if marker:
                params['marker'] = marker
            r = self.req('GET', '/executions/%s/tasks' % ex_id,
                         params=params).json()
            page = r.get('tasks', [])
            out += page
            if len(page) < 1000:
                return out
            marker = page[-1]['id']


def wf_scale_withitems(name: str) -> str:
    return '\n'.join([
        '---', "version: '2.0'", '%s:' % name, '  type: direct',
        '  input:', '    - items', '  output:',
        '    results: <% $.results %>', '  tasks:', '    each:',
        '      with-items: i in <% $.items %>',
        '      action: std.echo output=<% $.i %>',
        '      publish:', '        results: <% task().result %>']) + '\n'


def wf_scale_fanout(name: str, w: int) -> str:
    lines = ['---', "version: '2.0'", '%s:' % name, '  type: direct',
             '  output:', '    joined: <% $.joined %>', '  tasks:',
             '    start:', '      action: std.noop', '      on-success:']
    lines += ['        - p%d' % i for i in range(w)]
    for i in range(w):
        lines += ['    p%d:' % i, '      action: std.noop',
                  '      on-success: join']
    lines += ['    join:', '      join: all', '      action: std.noop',
              '      publish:',
              '        joined: <% len(tasks(execution().id)) %>']
    return '\n'.join(lines) + '\n'


# --smoke: every scenario at a size that checks its results in seconds.
SMOKE_SIZES = {'seq-http': ['--n', '3'], 'fanout-http': ['--n', '5'],
               'withitems-http': ['--n', '10'],
               'many-http': ['--n', '5', '--clients', '2'],
               'seq': ['--n', '5'], 'fanout': ['--n', '10'],
               'withitems': ['--n', '20'], 'withitems-c10': ['--n', '20'],
               'many': ['--n', '10'], 'api': ['--n', '5', '--duration', '1']}
SMOKE_SCALE_DIVISOR = 20
_scale_divisor = 1


def run_scale(target: Target, name: str, timeout: float) -> dict:
    """One scale run written directly against the REST API."""
    kind, size, actions = SCALE_SCENARIOS[name]
    size = max(2, size // _scale_divisor)
    api = ScaleApi(target.url)
    wf = 'bench_%s_%s' % (name.replace('-', '_'), uuid.uuid4().hex[:8])
    http_target = None
    if actions == 'http':
        # Every item a std.http call of the benchmark's HTTP target.
        http_target, target_url = driver.start_target()
        api.create_wf(driver.items_wf(wf, driver.Actions('http'), 0))
        wf_input = {'items': list(range(size)), 'target': target_url}
        expect = {'values': list(range(size))}
        n_tasks, units, unit = 1, size, 'item'
    elif kind == 'withitems':
        api.create_wf(wf_scale_withitems(wf))
        wf_input = {'items': list(range(size))}
        expect = {'results': list(range(size))}
        n_tasks, units, unit = 1, size, 'item'
    else:
        api.create_wf(wf_scale_fanout(wf, size))
        wf_input = None
        # tasks() sees every task row when join publishes: start, the W
        # branches and join itself.
        expect = {'joined': size + 2}
        n_tasks, units, unit = size + 2, size + 2, 'task'
    cpu0 = {k: _tree_cpu(p) for k, p in target.cpu_pids().items()}
    watched = {'engine': target.engine_pid()}
    if target.executor_pid() != watched['engine']:
        watched['executor'] = target.executor_pid()
    # Our API starts workflows itself ([api] start_workflows): it does
    # engine work too.
    api_pid = target.component_pids().get('api')
    if api_pid and api_pid not in watched.values():
        watched['api'] = api_pid
    rss = RssSampler(watched)
    ex_id = None
    try:
        with rss:
            t0 = time.monotonic()
            body = {'workflow_name': wf}
            if wf_input is not None:
                body['input'] = json.dumps(wf_input)
            ex_id = api.req('POST', '/executions', expect=(200, 201),
                            json=body).json()['id']
            polls = 0
            interval = 0.05 if size <= 1000 else 0.2
            while True:
                ex = api.req('GET', '/executions/%s' % ex_id).json()
                polls += 1
                if ex['state'] in ('SUCCESS', 'ERROR', 'CANCELLED'):
                    break
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError('%s: execution %s still %s after %.0f '
                                       's' % (name, ex_id, ex['state'],
                                              timeout))
                time.sleep(interval)
            wall = time.monotonic() - t0
        cpu1 = {k: _tree_cpu(p) for k, p in target.cpu_pids().items()}
        # verification, outside the timed interval
        if ex['state'] != 'SUCCESS':
            raise RuntimeError('%s: execution ended %s: %s' % (
                name, ex['state'], ex.get('state_info')))
        out = ex.get('output')
        out = json.loads(out) if isinstance(out, str) else out
        if out != expect:
            raise RuntimeError('%s: unexpected output %s' % (
                name, str(out)[:300]))
        tasks = api.tasks(ex_id)
        bad = [t['name'] for t in tasks if t['state'] != 'SUCCESS']
        if len(tasks) != n_tasks or bad:
            raise RuntimeError('%s: %d task rows (expected %d), not SUCCESS: '
                               '%s' % (name, len(tasks), n_tasks, bad[:5]))
        cpu_ms = {k: round(1000.0 * (cpu1[k] - cpu0[k]) / units, 2)
                  for k in cpu0 if cpu0[k] is not None and cpu1[k] is not None}
        cpu_ms = normalize_run(target.label,
                               {'cpu_ms_per_unit': cpu_ms})['cpu_ms_per_unit']
        return {'ok': True, 'metric': unit + 's_per_s',
                'value': round(units / wall, 2), 'wall_s': round(wall, 3),
                'unit': unit, 'cpu_ms_per_unit': cpu_ms, 'polls': polls,
                'rss': rss.result()}
    except Exception as e:  # noqa: BLE001 -- reported as a failed run
        return {'ok': False, 'error': str(e)[:2000], 'rss': rss.result()}
    finally:
        try:
            if ex_id:
                api.req('DELETE', '/executions/%s' % ex_id,
                        expect=(200, 204, 404, 400, 409),
                        params={'force': 'true'})
            api.req('DELETE', '/workflows/%s' % wf, expect=(200, 204, 404,
                                                              400, 409))
        except Exception:  # noqa: BLE001 -- the DB is dropped anyway
            pass
        if http_target is not None:
            http_target.kill()
            http_target.wait()


def _tree_cpu(pid: int) -> float | None:
    clk = os.sysconf('SC_CLK_TCK')
    total = 0
    found = False
    for p in tree_pids(pid):
        try:
            with open('/proc/%d/stat' % p) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(')') + 2:].split()
        total += sum(int(x) for x in fields[11:15])
        found = True
    return total / clk if found else None


def run_one(target: Target, name: str, rep: int, args, out_dir: str,
            profiler: Profiler | None, sql: SqlCounter | None) -> dict:
    # One warm-up run before the first measured one: first-use costs
    # (imports, YAQL parser tables, action registry) are not steady state.
    # Two engines and two executors need more for each of them to get
    # its share.
    warmup = (2 * getattr(target, 'copies', 1) - 1) if rep == 0 else 0
    if name in SCALE_SCENARIOS:
        warmup = 0
    if warmup and (profiler is not None or sql is not None):
        # Warm up outside the profiled/counted interval: first-use costs
        # (imports, YAQL parser tables, action registry) are not steady state.
        run_driver(target, name, warmup, out_dir, rep, args.timeout,
                   args.size_overrides, measured=0)
        warmup = 0
    if profiler is not None and isinstance(target, Ours):
        pids = {k: v for k, v in target.component_pids().items()
                if k.split('-')[0] in ('engine', 'executor', 'api', 'all')}
        profiler.start('%s-%s-r%d' % (target.label, name, rep), pids)
    if sql is not None and isinstance(target, Ours):
        sql.mark()
    try:
        if name in SCALE_SCENARIOS:
            res = run_scale(target, name, args.timeout)
        else:
            res = run_driver(target, name, warmup, out_dir, rep,
                             args.timeout, args.size_overrides)
    finally:
        if profiler is not None and isinstance(target, Ours):
            files = profiler.stop()
    if profiler is not None and isinstance(target, Ours):
        res['profile'] = {label: dict(summarize_profile(path), file=path)
                          for label, path in files.items()}
    if sql is not None and isinstance(target, Ours):
        counted = sql.collect()
        units = _units(name, res)
        if units:
            # the counted interval includes the warm-up run, if any
            units += res.get('warmup_units') or 0
            counted['units'] = units
            counted['per_unit'] = {k: round(v / units, 2) for k, v in
                                   counted['by_component'].items()}
            counted['per_unit']['total'] = round(counted['total'] / units, 2)
        res['sql'] = counted
    return res


def _units(name: str, res: dict) -> float | None:
    if name in SCALE_SCENARIOS:
        kind, size, _ = SCALE_SCENARIOS[name]
        size = max(2, size // _scale_divisor)
        return size if kind == 'withitems' else size + 2
    return res.get('units')


# --- reporting ---------------------------------------------------------------


def median_of(runs: list[dict], key: str) -> float | None:
    vals = [r[key] for r in runs if r.get('ok') and r.get(key) is not None]
    return round(statistics.median(vals), 3) if vals else None


def median_by_label(runs: list[dict], label: str,
                    key: str = 'cpu_ms_per_unit') -> float | None:
    """Median of ``label``'s value in ``key`` (a per-label dict of each
    run: CPU or run-queue wait per unit)."""
    vals = [r[key][label] for r in runs
            if r.get('ok') and label in (r.get(key) or {})]
    return round(statistics.median(vals), 2) if vals else None


def by_process(runs: list[dict], key: str) -> dict[str, float | None]:
    """Median ``key`` (a per-label dict of each run) per label."""
    return {lab: median_by_label(runs, lab, key)
            for lab in sorted({k for r in runs for k in (r.get(key) or {})})}


def summarize(results: dict, targets: list[Target]) -> list[dict]:
    rows = []
    for name, per_target in results.items():
        row = {'scenario': name}
        for t in targets:
            runs = per_target.get(t.label, [])
            total_label = t.label
            row[t.label] = {
                'runs': len(runs),
                'failed': sum(1 for r in runs if not r.get('ok')),
                'metric': next((r['metric'] for r in runs if r.get('ok')),
                               None),
                'unit': next((r['unit'] for r in runs if r.get('ok')), None),
                'value': median_of(runs, 'value'),
                'values': [r.get('value') for r in runs],
                'wall_s': median_of(runs, 'wall_s'),
                'cpu_ms_per_unit': median_by_label(runs, total_label),
                'cpu_ms_per_unit_by_process': by_process(
                    runs, 'cpu_ms_per_unit'),
                'wait_ms_per_unit_by_process': by_process(
                    runs, 'wait_ms_per_unit'),
            }
            for extra in ('latency_p50_s', 'latency_p95_s', 'post_p50_s',
                          'post_p95_s', 'p50_s', 'p99_s'):
                v = median_of(runs, extra)
                if v is not None:
                    row[t.label][extra] = v
            rss = [r['rss'] for r in runs if r.get('rss')]
            if rss:
                row[t.label]['engine_rss_peak_mb'] = max(
                    x['engine']['rss_peak_sampled_mb'] for x in rss)
                row[t.label]['engine_vmhwm_mb'] = max(
                    x['engine']['vmhwm_mb'] for x in rss)
                for proc in ('engine', 'executor', 'api'):
                    got = [x[proc] for x in rss if proc in x]
                    if got:
                        # Peak over the runs, and the resident set after
                        # the last run against before the first.
                        row[t.label]['%s_rss_mb' % proc] = {
                            'start': got[0]['rss_start_mb'],
                            'peak': max(g['rss_peak_sampled_mb']
                                        for g in got),
                            'end': got[-1]['rss_end_mb']}
        up = row.get('upstream')
        for t in targets:
            a = row[t.label]
            if up is None or t.label == 'upstream':
                continue
            if a['value'] and up['value']:
                a['ratio'] = round(a['value'] / up['value'], 2)
            if a['cpu_ms_per_unit'] and up['cpu_ms_per_unit']:
                a['cpu_ratio'] = round(
                    a['cpu_ms_per_unit'] / up['cpu_ms_per_unit'], 3)
        rows.append(row)
    return rows


def verdicts(rows: list[dict], label: str = 'ours') -> list[dict]:
    """Each target of the performance issue this run can judge."""
    by_name = {r['scenario']: r for r in rows}
    out = []
    for name, want in RATIO_TARGETS.items():
        ratio = (by_name.get(name) or {}).get(label, {}).get('ratio')
        if ratio is not None:
            out.append({'target': '%s >= %dx upstream' % (name, want),
                        'value': ratio, 'met': ratio >= want})
    for (big, small), most in SCALE_TARGETS.items():
        b = (by_name.get(big) or {}).get(label, {}).get('wall_s')
        a = (by_name.get(small) or {}).get(label, {}).get('wall_s')
        if a and b:
            times = round(b / a, 2)
            out.append({'target': '%s <= %dx the time of %s' % (
                big, most, small), 'value': times, 'met': times <= most})
    for name in EXECUTOR_PATH:
        one = (by_name.get(name) or {}).get(label, {}).get('value')
        two = (by_name.get(name) or {}).get('ours-2x', {}).get('value')
        if one and two:
            ratio = round(two / one, 2)
            out.append({'target': '%s: 2 engines + 2 executors >= %.1f x '
                                  'one of each' % (name, SCALE_OUT_FLOOR),
                        'value': ratio, 'met': ratio >= SCALE_OUT_FLOOR})
    for name in ('scale-wi-http-1k', 'scale-wi-1k', 'scale-wi-10k'):
        row = (by_name.get(name) or {}).get(label, {})
        for proc in ('engine', 'executor', 'api'):
            mem = row.get('%s_rss_mb' % proc)
            if not mem:
                continue
            # Flat: no growth that stays (after the runs against before)
            # and a bounded peak.
            drift = round(mem['end'] - mem['start'], 1)
            out.append({'target': '%s: %s RSS after the runs - before < '
                                  '%d MB' % (name, proc, RSS_DRIFT_MB),
                        'value': drift, 'met': drift < RSS_DRIFT_MB})
            out.append({'target': '%s: %s RSS peak < %d MB' % (
                name, proc, RSS_PEAK_MB), 'value': mem['peak'],
                'met': mem['peak'] < RSS_PEAK_MB})
    return out


def print_verdicts(found: list[dict]) -> None:
    if not found:
        return
    print('\ntargets (medians of this run):')
    for v in found:
        print('  %-66s %8s  %s' % (v['target'], _fmt(v['value']),
                                   'met' if v['met'] else 'NOT MET'))


def print_table(rows: list[dict], targets: list[Target]) -> None:
    labels = [t.label for t in targets]
    vs = 'upstream' in labels and len(labels) > 1
    cols = ['scenario', 'server', 'unit', 'per s', 'wall s', 'cpu ms/unit']
    if vs:
        cols += ['x upstream', 'cpu/upstream']
    cols += ['notes']
    table = []
    for row in rows:
        for lab in labels:
            r = row[lab]
            if not r['runs']:
                continue  # (upstream sits the scale runs out)
            notes = []
            if r['failed']:
                notes.append('%d/%d runs FAILED' % (r['failed'], r['runs']))
            if r['runs'] > 1:
                notes.append('runs %s' % ' '.join(_fmt(v) for v in
                                                  r['values']))
            if 'engine_rss_peak_mb' in r:
                notes.append('engine RSS peak %s MB (VmHWM %s)' % (
                    r['engine_rss_peak_mb'], r['engine_vmhwm_mb']))
            if 'latency_p50_s' in r:
                notes.append('p50/p95 %s/%s s' % (r['latency_p50_s'],
                                                  r['latency_p95_s']))
            if 'post_p50_s' in r:
                notes.append('POST p50/p95 %s/%s s' % (r['post_p50_s'],
                                                       r['post_p95_s']))
            if 'p99_s' in r:
                notes.append('p50/p99 %s/%s s' % (r['p50_s'], r['p99_s']))
            by = r['cpu_ms_per_unit_by_process']
            parts = ['%s %s' % (k, _fmt(v)) for k, v in by.items()
                     if k != lab and v is not None]
            if parts:
                notes.append('ms/unit: %s' % ', '.join(parts))
            waits = ['%s %s' % (k, _fmt(v)) for k, v in
                     (r.get('wait_ms_per_unit_by_process') or {}).items()
                     if k != lab and v is not None]
            if waits:
                notes.append('run-queue wait ms/unit: %s' % ', '.join(waits))
            line = [row['scenario'], lab, r.get('unit') or '-',
                    _fmt(r['value']), _fmt(r['wall_s']),
                    _fmt(r['cpu_ms_per_unit'])]
            if vs:
                line += [_fmt(r.get('ratio')), _fmt(r.get('cpu_ratio'))]
            line.append('; '.join(notes))
            table.append(line)
    widths = [max(len(c), *(len(r[i]) for r in table)) if table else len(c)
              for i, c in enumerate(cols)]
    widths[-1] = len(cols[-1])
    fmt = '  '.join('%%-%ds' % w if i in (0, 1, 2, len(cols) - 1) else
                    '%%%ds' % w for i, w in enumerate(widths))
    print(fmt % tuple(cols))
    print(fmt % tuple('-' * w for w in widths))
    for r in table:
        print(fmt % tuple(r))
    print('(medians of the runs; per s = units per second; x upstream = our '
          'throughput / upstream\'s, >1: ours faster; cpu/upstream = server '
          'CPU per unit, ours / upstream\'s, <1: ours cheaper)')


def print_profiles(results: dict, top: int) -> None:
    for name, per_target in results.items():
        for r in [r for lab, runs in per_target.items()
                  if lab.startswith('ours') for r in runs]:
            for label, prof in (r.get('profile') or {}).items():
                if not prof.get('samples'):
                    continue
                print('\n== py-spy %s / %s: %d samples, %d not waiting '
                      '(%s%% of those in DB round trips) (%s)' % (
                          name, label, prof['samples'],
                          prof.get('busy_samples', 0), prof.get('db_share'),
                          prof.get('file')))
                print('   self%   function (leaf frame; waits left out)')
                for fn, p in prof.get('busy_self', [])[:top]:
                    print('  %5.1f   %s' % (p, fn))
                print('   incl%   function (on the stack; waits left out)')
                for fn, p in prof.get('busy_inclusive', [])[:top]:
                    if not fn.startswith(('Thread._bootstrap',
                                          'Thread.run (')):
                        print('  %5.1f   %s' % (p, fn))
                print('   all samples by file of the leaf frame')
                for fn, p in prof['self_by_package'][:8]:
                    print('  %5.1f   %s' % (p, fn))
            sql = r.get('sql')
            if sql:
                print('\n== SQL statements %s: total %d, per unit %s' % (
                    name, sql['total'], sql.get('per_unit')))
                for comp, kinds in sql['by_kind'].items():
                    print('   %-9s %s' % (comp, kinds))
                for comp, tops in sql['top_tables'].items():
                    print('   %-9s top: %s' % (comp, ', '.join(
                        '%s=%d' % kv for kv in tops)))


def _fmt(v) -> str:
    if v is None:
        return '-'
    if isinstance(v, float):
        return ('%.3g' % v) if abs(v) < 10 else ('%.1f' % v)
    return str(v)


# --- main --------------------------------------------------------------------


def parse_scenarios(spec: str) -> list[str]:
    out: list[str] = []
    for part in spec.split(','):
        part = part.strip()
        if not part:
            continue
        names = GROUPS.get(part, [part])
        for n in names:
            if n not in ALL:
                raise SystemExit('unknown scenario %r; choose from %s or '
                                 'groups %s' % (n, ', '.join(ALL),
                                                ', '.join(GROUPS)))
            if n not in out:
                out.append(n)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--scenarios', default='all',
                    help='comma separated: %s; groups: %s (default all)'
                         % (', '.join(ALL), ', '.join(GROUPS)))
    ap.add_argument('--repeat', type=int, default=1,
                    help='measured runs per scenario and server (median '
                         'reported); the first run of each driver scenario '
                         'is preceded by one warm-up run')
    ap.add_argument('--db', default='postgresql',
                    choices=['postgresql', 'mysql'],
                    help='database of our production-shape service')
    ap.add_argument('--embedded', action='store_true',
                    help='ours as the no-config single process (SQLite, '
                         'in-memory transport)')
    ap.add_argument('--vs-upstream', action='store_true',
                    help='also run upstream Mistral 23.0.0 '
                         '(run_upstream.sh), alternating A B A B')
    ap.add_argument('--no-ours', action='store_true',
                    help='only upstream (with --vs-upstream)')
    ap.add_argument('--timeout', type=float, default=900,
                    help='per-run timeout in s (900)')
    ap.add_argument('--profile', action='store_true',
                    help='py-spy record engine/executor/api of ours during '
                         'every run; prints the hotspots')
    ap.add_argument('--profile-top', type=int, default=20)
    ap.add_argument('--profile-rate', type=int, default=100,
                    help='py-spy samples per second (default 100; more '
                    'for short scenarios)')
    ap.add_argument('--profile-gil', action='store_true',
                    help='with --profile: sample only the thread holding '
                         'the GIL (where the Python CPU time goes)')
    ap.add_argument('--sql-log', action='store_true',
                    help='count SQL statements per scenario and component '
                         '(PostgreSQL log_statement=all on our database; '
                         'needs read access to %s)' % PG_LOG)
    ap.add_argument('--out', default=None,
                    help='directory for JSON results and profiles '
                         '(default: a new tmp dir)')
    ap.add_argument('--keep-logs', action='store_true',
                    help='keep server config and log files')
    ap.add_argument('--ref', default='HEAD',
                    help='git ref of our code to run (exported to a tmp dir; '
                         'default HEAD, i.e. the last commit, without '
                         'uncommitted changes), or "worktree" for the '
                         'working tree as is')
    ap.add_argument('--conf', action='append', default=[],
                    metavar='SECTION.OPTION=VALUE',
                    help='option for our service (repeatable), e.g. '
                         'engine.workers=32')
    ap.add_argument('--no-inline', action='store_true',
                    help='ours with [engine] inline_builtin_actions=false: '
                         'std.noop/std.echo go through the executor like '
                         'any other action (as upstream does)')
    ap.add_argument('--also-no-inline', action='store_true',
                    help='run a second copy of ours, "ours-noinline", with '
                         '[engine] inline_builtin_actions=false, in the same '
                         'rotation')
    ap.add_argument('--n', action='append', default=[],
                    metavar='SCENARIO=N',
                    help='size of a driver scenario (driver --n), e.g. '
                         'seq=500')
    ap.add_argument('--clients', action='append', default=[],
                    metavar='SCENARIO=C',
                    help='driver --clients for a scenario, e.g. many=8 '
                         '(seq/fanout/withitems: executions started at '
                         'once)')
    ap.add_argument('--poll', type=float, default=None,
                    help='seconds between the driver\'s looks at a running '
                         'execution (default: the driver\'s 0.05, as the '
                         'shared kit\'s wfbench.py). A run is seen to end '
                         'at the first look after it ended, so short runs '
                         'are measured in steps of about this much; a '
                         'smaller value measures them more closely and '
                         'costs both servers more API requests')
    ap.add_argument('--scale-out', action='store_true',
                    help='also run "ours-2x": two engines and two executors '
                         '(a second mistral-server --server engine,executor)'
                         ', in the same rotation; its throughput must not '
                         'fall below that of one of each')
    ap.add_argument('--smoke', action='store_true',
                    help='every scenario at a tiny size, once, results '
                         'checked: a quick correctness run (CI), not a '
                         'measurement')
    args = ap.parse_args(argv)
    args.size_overrides = {}
    if args.smoke:
        global _scale_divisor
        _scale_divisor = SMOKE_SCALE_DIVISOR
        args.repeat = 1
        for name, extra in SMOKE_SIZES.items():
            args.size_overrides[name] = list(extra)
    for spec, flag in [(x, '--n') for x in args.n] + \
            [(x, '--clients') for x in args.clients]:
        name, _, val = spec.partition('=')
        if name not in DRIVER_SCENARIOS or not val.isdigit():
            raise SystemExit('%s wants SCENARIO=N with a driver scenario '
                             '(%s), not %r' % (flag, ', '.join(
                                 DRIVER_SCENARIOS), spec))
        args.size_overrides.setdefault(name, []).extend([flag, val])
    if args.poll is not None:
        for name in DRIVER_SCENARIOS:
            args.size_overrides.setdefault(name, []).extend(
                ['--poll', repr(args.poll)])
    conf: dict[str, dict[str, str]] = {}
    for spec in args.conf + (['engine.inline_builtin_actions=false']
                             if args.no_inline else []):
        key, _, val = spec.partition('=')
        section, _, opt = key.rpartition('.')
        if not section or not opt or not _:
            raise SystemExit('--conf wants SECTION.OPTION=VALUE, not %r'
                             % spec)
        conf.setdefault(section, {})[opt] = val
    scenarios = parse_scenarios(args.scenarios)
    out_dir = os.path.abspath(args.out or tempfile.mkdtemp(
        prefix='mistral-bench-out-'))
    os.makedirs(out_dir, exist_ok=True)
    # mistral-server starts its components with ``python -m``, which puts
    # the current directory first on sys.path: run from the repository and
    # they would import its working tree instead of --ref.
    os.chdir(out_dir)

    targets: list[Target] = []
    if not args.no_ours:
        targets.append(Ours(db=args.db, embedded=args.embedded,
                            keep_logs=args.keep_logs, sql_log=args.sql_log,
                            conf=conf))
        if args.scale_out:
            if args.embedded:
                raise SystemExit('--scale-out needs the production shape')
            targets.append(Ours(db=args.db, keep_logs=args.keep_logs,
                                sql_log=args.sql_log, conf=conf,
                                label='ours-2x', copies=2))
        if args.also_no_inline:
            conf2 = {k: dict(v) for k, v in conf.items()}
            conf2.setdefault('engine', {})['inline_builtin_actions'] = 'false'
            targets.append(Ours(db=args.db, embedded=args.embedded,
                                keep_logs=args.keep_logs,
                                sql_log=args.sql_log, conf=conf2,
                                label='ours-noinline'))
    if args.vs_upstream:
        targets.append(Upstream(keep_logs=args.keep_logs))
    if not targets:
        raise SystemExit('nothing to run')

    old = {s: signal.signal(s, _raise_interrupted)
           for s in (signal.SIGTERM, signal.SIGHUP)}
    # A shell without job control starts background jobs with SIGINT
    # ignored; Ctrl-C / kill -INT must still clean up.
    old[signal.SIGINT] = signal.signal(signal.SIGINT,
                                       signal.default_int_handler)
    results: dict[str, dict[str, list]] = {}
    doc = {'tool': 'tools/bench/run.py', 'started_at': time.strftime(
        '%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        'host': {'nproc': os.cpu_count(), 'uname': ' '.join(os.uname()),
                 'loadavg_start': os.getloadavg()},
        'args': vars(args), 'scenarios': scenarios, 'targets': [],
        'results': results, 'summary': []}
    rc = 0
    profiler = Profiler(os.path.join(out_dir, 'profiles'),
                        rate=args.profile_rate,
                        gil=args.profile_gil) if args.profile else None
    started: list[Target] = []
    source = Source(args.ref, out_dir)
    try:
        if not args.no_ours:
            source.prepare()
            doc['ours_commit'] = source.commit
        # Upstream first: its launcher takes a while, and ours then finds
        # the ports it picks already taken rather than the other way round.
        for t in sorted(targets, key=lambda t: not isinstance(t, Upstream)):
            started.append(t)
            t.start()
            doc['targets'].append({'label': t.label, 'describe': t.describe(),
                                   'url': t.url,
                                   'pids': t.component_pids()})
        sql = {}
        for t in targets:
            if args.sql_log and isinstance(t, Ours):
                sql[t.label] = SqlCounter(t.db_name, {
                    pid: name for name, pid in t.component_pids().items()})
        for name in scenarios:
            # The scale targets compare our runs with each other; upstream
            # would need about an hour for them (10k items at ~36/s, a
            # 1,000-way join at ~2 tasks/s), so it sits them out, and so
            # does the no-inline copy (there for the comparison with it).
            runners = [t for t in targets if not (
                name in SCALE_SCENARIOS and (isinstance(t, Upstream)
                                             or t.label != 'ours'))]
            results[name] = {t.label: [] for t in runners}
            for rep in range(args.repeat):
                for t in runners:   # A B A B: only one server busy at a time
                    log('%s: %s run %d/%d' % (name, t.label, rep + 1,
                                              args.repeat))
                    res = run_one(t, name, rep, args, out_dir, profiler,
                                  sql.get(t.label))
                    results[name][t.label].append(res)
                    if res.get('ok'):
                        log('  %s = %s, wall %s s, cpu ms/%s %s' % (
                            res['metric'], res['value'],
                            res['wall_s'], res['unit'],
                            res.get('cpu_ms_per_unit')))
                    else:
                        rc = 1
                        log('  FAILED: %s' % res.get('error'))
                        log(t.logs_tail())
            _write(out_dir, doc, results, targets)
    except (KeyboardInterrupt, Interrupted) as e:
        log('interrupted (%s); cleaning up' % (e or 'Ctrl-C'))
        rc = 130
    finally:
        for t in reversed(started):
            try:
                t.stop()
            except BaseException as e:  # noqa: BLE001 -- keep cleaning up
                log('stopping %s: %s' % (t.label, e))
        source.cleanup()
        for s, h in old.items():
            signal.signal(s, h)
    rows = _write(out_dir, doc, results, targets)
    print()
    for t in targets:
        print(t.describe())
    if doc.get('ours_commit'):
        print('ours = commit %s' % doc['ours_commit'])
    print('date %s, %d cores, load at start %s' % (
        doc['started_at'], os.cpu_count(),
        ' '.join('%.2f' % x for x in doc['host']['loadavg_start'])))
    print_table(rows, targets)
    print_verdicts(doc.get('verdicts') or [])
    if args.profile or args.sql_log:
        print_profiles(results, args.profile_top)
    print('\nJSON: %s' % os.path.join(out_dir, 'results.json'))
    return rc


def _write(out_dir: str, doc: dict, results: dict,
           targets: list[Target]) -> list[dict]:
    rows = summarize(results, targets)
    doc['summary'] = rows
    doc['verdicts'] = verdicts(rows)
    doc['finished_at'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    with open(os.path.join(out_dir, 'results.json'), 'w') as f:
        json.dump(doc, f, indent=1, default=str)
    return rows


if __name__ == '__main__':
    sys.exit(main())
