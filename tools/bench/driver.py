#!/usr/bin/env python3
"""The benchmark's scenario driver: workflows through the REST API.

Talks only to the public Mistral v2 REST API (what python-mistralclient
sends), so the same run measures this project and upstream OpenStack
Mistral alike. Needs ``requests``. Every run is checked: final state
``SUCCESS``, the expected output, and the expected task rows, all
``SUCCESS``; a run that does not check out fails the driver.

Scenarios (``--scenario``; ``--n`` sets the size):

``seq``
    one execution of a chain of N tasks (default 50); tasks/s.
``fanout``
    one task, then N parallel tasks (default 100), then a ``join: all``
    task; tasks/s (N + 2 tasks).
``withitems``
    one task with-items over N items (default 500), with ``concurrency:
    K`` if ``--item-concurrency K``; items/s.
``many``
    N small executions (default 200; a chain of three tasks whose first
    returns the execution's input), started by ``--clients`` threads
    (default 8) as fast as they go; executions/s, and the latency from
    each POST to its completion seen by the poller (p50/p95).
``api``
    ``--clients`` threads (default 4) alternate ``GET
    /executions?limit=100`` and ``GET /workflows/<name>`` for
    ``--duration`` seconds (default 10), after N finished executions
    (default 100) were stored; requests/s, latency p50/p99.

Actions (``--actions``):

``inline``
    ``std.noop`` and ``std.echo``. This project's engine runs these
    inside its own transaction (``[engine] inline_builtin_actions``), so
    no executor is involved; upstream sends them to an executor.
``http``
    every action is a ``std.http`` GET of a small local server
    (``tools/bench/http_target.py``, started by the driver in a process
    of its own, or ``--http-target URL``) that answers the value it is
    given: the path real actions take, through an executor. The server
    under test must let ``std.http`` reach 127.0.0.1 (for this project:
    ``[action_std_http] allowed_hosts = 127.0.0.1``).

``--clients C`` with ``seq``, ``fanout`` or ``withitems`` starts C
identical executions at once; the run ends when the last is done.

Completion is observed by polling (``--poll``, default 0.05 s):
``GET /executions/<id>`` for single executions, one list call of the
scenario's executions for ``many``. A run's wall time therefore includes
up to one poll interval of observation delay, the same for any server.

CPU (same host only): ``--cpu-pid LABEL=PID`` (repeatable) adds the
user+system CPU of that process and its descendants over each measured
run, and the time its threads waited for a CPU while ready to run (the
run queue, ``/proc/<pid>/task/*/schedstat``); the host's busy share comes
from ``/proc/stat``. With any ``--cpu-pid``, the driver's own process tree
(with the HTTP target it starts) is measured too, as ``client``.

Output: a table on stderr and one JSON document (``--json-out``, or
stdout): ``ok``, ``error``, ``runs`` (one object per measured run:
``value`` units per second, ``unit``, ``units``, ``wall_s``,
``cpu_ms_per_unit`` and ``wait_ms_per_unit`` per label,
``host_busy_pct``, and per scenario
latencies) and ``warmup_runs``.

Everything created (executions, then workflows; names
``bench_<scenario>_<random>``) is deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, Callable, Iterator

TERMINAL = ('SUCCESS', 'ERROR', 'CANCELLED')
DEFAULT_N = {'seq': 50, 'fanout': 100, 'withitems': 500, 'many': 200,
             'api': 100}
DEFAULT_CLIENTS = {'many': 8, 'api': 4}
UNITS = {'seq': 'task', 'fanout': 'task', 'withitems': 'item',
         'many': 'execution', 'api': 'request'}
HERE = os.path.dirname(os.path.abspath(__file__))


class CheckFailed(Exception):
    """A run did not end as it must (state, output, task rows)."""


# --- workflow definitions -------------------------------------------------


class Actions:
    """How a definition spells "do nothing" and "return this value"."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def nothing(self, pad: str) -> list[str]:
        if self.mode == 'http':
            return [pad + 'action: std.http',
                    pad + 'input:',
                    pad + '  url: <% $.target %>']
        return [pad + 'action: std.noop']

    def value(self, pad: str, expr: str) -> list[str]:
        """An action whose result is the YAQL ``expr``'s value."""
        if self.mode == 'http':
            return [pad + 'action: std.http',
                    pad + 'input:',
                    pad + "  url: <%% $.target + '?v=' + str(%s) %%>" % expr]
        return [pad + 'action: std.echo output=<%% %s %%>' % expr]

    def result(self, expr: str = 'task().result') -> str:
        """The value inside a result of :meth:`value`."""
        return expr + '.content' if self.mode == 'http' else expr

    def results(self) -> str:
        """The values inside a with-items task's results."""
        if self.mode == 'http':
            return 'task().result.select($.content)'
        return 'task().result'


def _head(name: str, inputs: list[str], outputs: dict[str, str]
          ) -> list[str]:
    lines = ['---', "version: '2.0'", '%s:' % name, '  type: direct']
    lines += ['  input:'] + ['    - %s' % i for i in inputs]
    lines += ['  output:'] + ['    %s: %s' % kv for kv in outputs.items()]
    return lines + ['  tasks:']


def chain_wf(name: str, acts: Actions, n: int) -> str:
    lines = _head(name, ['target: null'], {'reached': '<% $.reached %>'})
    for i in range(1, n + 1):
        lines += ['    step%d:' % i] + acts.nothing('      ')
        if i < n:
            lines.append('      on-success: step%d' % (i + 1))
        else:
            lines += ['      publish:', '        reached: step%d' % i]
    return '\n'.join(lines) + '\n'


def fanout_wf(name: str, acts: Actions, n: int) -> str:
    lines = _head(name, ['target: null'], {'width': '<% $.width %>'})
    lines += ['    spread:'] + acts.nothing('      ') + ['      on-success:']
    lines += ['        - branch%d' % i for i in range(1, n + 1)]
    for i in range(1, n + 1):
        lines += ['    branch%d:' % i] + acts.nothing('      ')
        lines.append('      on-success: gather')
    lines += ['    gather:', '      join: all'] + acts.nothing('      ')
    lines += ['      publish:', '        width: %d' % n]
    return '\n'.join(lines) + '\n'


def items_wf(name: str, acts: Actions, concurrency: int) -> str:
    lines = _head(name, ['items', 'target: null'],
                  {'values': '<% $.values %>'})
    lines += ['    each:', '      with-items: x in <% $.items %>']
    lines += acts.value('      ', '$.x')
    if concurrency:
        lines.append('      concurrency: %d' % concurrency)
    lines += ['      publish:', '        values: <%% %s %%>' % acts.results()]
    return '\n'.join(lines) + '\n'


def small_wf(name: str, acts: Actions) -> str:
    lines = _head(name, ['n', 'target: null'], {'r': '<% $.r %>'})
    lines += ['    first:'] + acts.value('      ', '$.n')
    lines += ['      publish:', '        r: <%% %s %%>' % acts.result(),
              '      on-success: second']
    lines += ['    second:'] + acts.nothing('      ')
    lines += ['      on-success: third']
    lines += ['    third:'] + acts.nothing('      ')
    return '\n'.join(lines) + '\n'


# --- REST client ----------------------------------------------------------


class Client:
    def __init__(self, url: str, timeout: float) -> None:
        import requests

        self.url = url.rstrip('/')
        self.timeout = timeout
        self._requests = requests
        self._local = threading.local()

    @property
    def session(self) -> Any:
        s = getattr(self._local, 'session', None)
        if s is None:
            s = self._local.session = self._requests.Session()
        return s

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200,),
             **kw: Any) -> Any:
        r = self.session.request(method, self.url + path,
                                 timeout=self.timeout, **kw)
        if r.status_code not in expect:
            raise CheckFailed('%s %s answered %d: %s' % (
                method, path, r.status_code, r.text[:500]))
        return r.json() if r.content else None

    def create_workflow(self, text: str) -> None:
        self.call('POST', '/workflows', expect=(200, 201), data=text,
                  headers={'Content-Type': 'text/plain'})

    def start(self, wf: str, wf_input: dict[str, Any]) -> dict[str, Any]:
        return self.call('POST', '/executions', expect=(200, 201),
                         json={'workflow_name': wf,
                               'input': json.dumps(wf_input)})

    def execution(self, ex_id: str) -> dict[str, Any]:
        return self.call('GET', '/executions/%s' % ex_id)

    def pages(self, path: str, key: str, params: dict[str, Any]
              ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        params = dict(params)
        limit = int(params.setdefault('limit', 1000))
        while True:
            page = self.call('GET', path, params=params).get(key) or []
            out += page
            if len(page) < limit:
                return out
            params['marker'] = page[-1]['id']


def decode(value: Any) -> Any:
    """Fields the API sends as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# --- CPU ------------------------------------------------------------------


def proc_table(proc: str = '/proc') -> dict[int, tuple[str, int]]:
    """{pid: (name, parent pid)} of every process, from one scan of
    ``proc``."""
    table: dict[int, tuple[str, int]] = {}
    for d in os.listdir(proc):
        if not d.isdigit():
            continue
        try:
            with open(os.path.join(proc, d, 'stat')) as f:
                data = f.read()
            # "pid (name) state ppid ...": the name may hold spaces.
            end = data.rindex(')')
            table[int(d)] = (data[data.index('(') + 1:end],
                             int(data[end + 2:].split()[1]))
        except (OSError, ValueError, IndexError):
            continue
    return table


def proc_cmdline(pid: int, proc: str = '/proc') -> list[str] | None:
    """The argv of ``pid`` (None: gone, or not ours to read)."""
    try:
        with open(os.path.join(proc, str(pid), 'cmdline'), 'rb') as f:
            data = f.read()
    except OSError:
        return None
    return [a for a in data.decode(errors='replace').split('\0') if a]


def proc_children() -> dict[int, list[int]]:
    """{parent pid: [child pid, ...]} of every process, from one scan of
    /proc."""
    kids: dict[int, list[int]] = {}
    for pid, (_name, ppid) in proc_table().items():
        kids.setdefault(ppid, []).append(pid)
    return kids


def tree(root: int, kids: dict[int, list[int]]) -> Iterator[int]:
    """``root`` and its descendants (from ``proc_children``)."""
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(kids.get(pid, ()))
        yield pid


def tree_cpu(root: int, kids: dict[int, list[int]]) -> float | None:
    """User+system seconds of ``root`` and its live descendants."""
    clk = os.sysconf('SC_CLK_TCK')
    total, found = 0, False
    for pid in tree(root, kids):
        try:
            with open('/proc/%d/stat' % pid) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(')') + 2:].split()
        total += int(fields[11]) + int(fields[12])
        found = True
    return total / clk if found else None


def tree_wait(root: int, kids: dict[int, list[int]]) -> float | None:
    """Seconds the threads of ``root`` and its live descendants spent
    ready to run but waiting for a CPU (``/proc/<pid>/task/*/schedstat``,
    second field): how much a process was held back by the others on its
    CPU, which its own CPU time does not show. None without schedstat."""
    total, found = 0, False
    for pid in tree(root, kids):
        try:
            tids = os.listdir('/proc/%d/task' % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open('/proc/%d/task/%s/schedstat' % (pid, tid)) as f:
                    total += int(f.read().split()[1])
                found = True
            except (OSError, ValueError, IndexError):
                continue  # ended meanwhile, or no schedstat here
    return total / 1e9 if found else None


def host_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole host."""
    with open('/proc/stat') as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts) - idle, sum(parts)


class CpuMeter:
    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def snap(self) -> dict[str, Any]:
        kids = proc_children()
        return {'t': time.monotonic(), 'host': host_ticks(),
                'proc': {k: tree_cpu(p, kids) for k, p in self.pids.items()},
                'wait': {k: tree_wait(p, kids)
                         for k, p in self.pids.items()}}

    @staticmethod
    def per_unit(a: dict[str, Any], b: dict[str, Any], units: float
                 ) -> dict[str, Any]:
        busy = b['host'][0] - a['host'][0]
        total = b['host'][1] - a['host'][1]
        out: dict[str, Any] = {
            'host_busy_pct': round(100.0 * busy / total, 1) if total else None,
            'cpu_s': {}, 'cpu_ms_per_unit': {}}
        for k, v0 in a['proc'].items():
            v1 = b['proc'].get(k)
            if v0 is None or v1 is None:
                continue
            out['cpu_s'][k] = round(v1 - v0, 3)
            out['cpu_ms_per_unit'][k] = round(1000.0 * (v1 - v0) / units, 2)
        waits = {}
        for k, w0 in (a.get('wait') or {}).items():
            w1 = (b.get('wait') or {}).get(k)
            if w0 is not None and w1 is not None:
                # A thread that ended meanwhile takes its wait with it.
                waits[k] = round(1000.0 * max(w1 - w0, 0.0) / units, 2)
        out['wait_ms_per_unit'] = waits
        return out


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return round(s[k], 4)


# --- the runs -------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, target_url: str) -> None:
        self.a = args
        self.api = Client(args.url, args.http_timeout)
        self.acts = Actions(args.actions)
        self.target = target_url
        self.tag = uuid.uuid4().hex[:8]
        self.workflows: list[str] = []
        self.executions: list[str] = []
        self.cpu = CpuMeter(args.cpu_pid)
        self.say: Callable[..., None] = (
            (lambda *m: None) if args.quiet else
            (lambda *m: print('[driver]', *m, file=sys.stderr, flush=True)))

    def workflow(self, text_of: Callable[[str], str]) -> str:
        name = 'bench_%s_%s_%d' % (self.a.scenario, self.tag,
                                   len(self.workflows))
        self.api.create_workflow(text_of(name))
        self.workflows.append(name)
        return name

    def inputs(self, **more: Any) -> dict[str, Any]:
        return dict(more, target=self.target)

    # -- one or a few executions, polled one by one

    def single(self, wf: str, wf_input: dict[str, Any], units: int,
               expect: dict[str, Any], task_rows: int) -> dict[str, Any]:
        copies = max(1, self.a.clients or 1)
        snap = self.cpu.snap()
        t0 = time.monotonic()
        ids = []
        for _ in range(copies):
            ex_id = self.api.start(wf, wf_input)['id']
            ids.append(ex_id)
            self.executions.append(ex_id)
        ends: dict[str, tuple[float, dict[str, Any]]] = {}
        polls = 0
        while len(ends) < len(ids):
            for ex_id in ids:
                if ex_id in ends:
                    continue
                ex = self.api.execution(ex_id)
                polls += 1
                if ex.get('state') in TERMINAL:
                    ends[ex_id] = (time.monotonic(), ex)
            if len(ends) == len(ids):
                break
            if time.monotonic() - t0 > self.a.timeout:
                raise CheckFailed('%d execution(s) not done after %.0f s'
                                  % (len(ids) - len(ends), self.a.timeout))
            time.sleep(self.a.poll)
        wall = max(t for t, _ in ends.values()) - t0
        cpu = CpuMeter.per_unit(snap, self.cpu.snap(), units * copies)
        for _ex_id, (_, ex) in ends.items():
            self.check(ex, expect, task_rows)
        return dict(cpu, wall_s=round(wall, 4), units=units * copies,
                    value=round(units * copies / wall, 2), polls=polls)

    def check(self, ex: dict[str, Any], expect: dict[str, Any],
              task_rows: int) -> None:
        if ex.get('state') != 'SUCCESS':
            raise CheckFailed('execution %s ended %s: %s' % (
                ex['id'], ex.get('state'), ex.get('state_info')))
        out = decode(ex.get('output'))
        if out != expect:
            raise CheckFailed('execution %s: output %s, expected %s' % (
                ex['id'], str(out)[:300], str(expect)[:300]))
        if self.a.no_task_check:
            return
        rows = self.api.pages('/executions/%s/tasks' % ex['id'], 'tasks', {})
        bad = [(t.get('name'), t.get('state')) for t in rows
               if t.get('state') != 'SUCCESS']
        if len(rows) != task_rows or bad:
            raise CheckFailed('execution %s: %d task rows (expected %d), '
                              'not SUCCESS: %s' % (ex['id'], len(rows),
                                                   task_rows, bad[:5]))

    def seq(self, n: int) -> Callable[[], dict[str, Any]]:
        wf = self.workflow(lambda name: chain_wf(name, self.acts, n))
        return lambda: self.single(wf, self.inputs(), n,
                                   {'reached': 'step%d' % n}, n)

    def fanout(self, n: int) -> Callable[[], dict[str, Any]]:
        wf = self.workflow(lambda name: fanout_wf(name, self.acts, n))
        return lambda: self.single(wf, self.inputs(), n + 2,
                                   {'width': n}, n + 2)

    def withitems(self, n: int) -> Callable[[], dict[str, Any]]:
        wf = self.workflow(lambda name: items_wf(name, self.acts,
                                                 self.a.item_concurrency))
        items = list(range(n))
        return lambda: self.single(wf, self.inputs(items=items), n,
                                   {'values': items}, 1)

    # -- many small executions, observed through one list call

    def many(self, n: int) -> Callable[[], dict[str, Any]]:
        clients = self.a.clients or DEFAULT_CLIENTS['many']

        def once(size: int = n) -> dict[str, Any]:
            # A workflow per run: the poller's list is this run's only.
            wf = self.workflow(lambda name: small_wf(name, self.acts))
            return self._many(wf, size, clients)
        return once

    def _many(self, wf: str, n: int, clients: int) -> dict[str, Any]:
        lock = threading.Lock()
        todo = iter(range(n))
        started: dict[str, tuple[float, int]] = {}
        # Seconds each POST took to answer (a client waits for it before
        # its next one, so it bounds what the clients can start).
        posts: list[float] = []
        seen: dict[str, tuple[float, str]] = {}
        errors: list[BaseException] = []
        posted = threading.Event()

        def submit() -> None:
            try:
                while True:
                    with lock:
                        i = next(todo, None)
                    if i is None:
                        return
                    t = time.monotonic()
                    ex_id = self.api.start(wf, self.inputs(n=i))['id']
                    answered = time.monotonic() - t
                    with lock:
                        started[ex_id] = (t, i)
                        posts.append(answered)
                        self.executions.append(ex_id)
            except BaseException as e:  # noqa: BLE001 -- reported below
                errors.append(e)

        def watch(deadline: float) -> None:
            params = {'workflow_name': wf, 'fields': 'id,state'}
            try:
                while not errors:
                    rows = self.api.pages('/executions', 'executions', params)
                    now = time.monotonic()
                    with lock:
                        for row in rows:
                            if row.get('state') in TERMINAL and \
                                    row['id'] not in seen:
                                seen[row['id']] = (now, row['state'])
                        if posted.is_set() and all(i in seen
                                                   for i in started):
                            return
                    if now > deadline:
                        raise CheckFailed('%d of %d executions not done '
                                          'after %.0f s' % (
                                              n - len(seen), n,
                                              self.a.timeout))
                    time.sleep(self.a.poll)
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        snap = self.cpu.snap()
        t0 = time.monotonic()
        workers = [threading.Thread(target=submit, daemon=True)
                   for _ in range(clients)]
        watcher = threading.Thread(target=watch,
                                   args=(t0 + self.a.timeout,), daemon=True)
        for t in workers:
            t.start()
        watcher.start()
        for t in workers:
            t.join()
        posted.set()
        watcher.join()
        cpu = CpuMeter.per_unit(snap, self.cpu.snap(), n)
        if errors:
            e = errors[0]
            raise e if isinstance(e, CheckFailed) else CheckFailed(
                'many: %r' % e)
        if len(started) != n:
            raise CheckFailed('many: %d of %d started' % (len(started), n))
        bad = [i for i, (_, st) in seen.items() if st != 'SUCCESS']
        if bad:
            raise CheckFailed('many: %d executions not SUCCESS, e.g. %s: %s'
                              % (len(bad), bad[0], self.api.execution(
                                  bad[0]).get('state_info')))
        outputs = {row['id']: decode(row.get('output')) for row in
                   self.api.pages('/executions', 'executions', {
                       'workflow_name': wf, 'include_output': 'true'})}
        for ex_id, (_, i) in started.items():
            if outputs.get(ex_id) != {'r': i}:
                raise CheckFailed('many: execution %s output %s, expected %s'
                                  % (ex_id, outputs.get(ex_id), {'r': i}))
        latency = [seen[i][0] - started[i][0] for i in started]
        first = min(t for t, _ in started.values())
        wall = max(t for t, _ in seen.values()) - first
        return dict(cpu, wall_s=round(wall, 4), units=n,
                    value=round(n / wall, 2),
                    latency_p50_s=percentile(latency, 50),
                    latency_p95_s=percentile(latency, 95),
                    post_p50_s=percentile(posts, 50),
                    post_p95_s=percentile(posts, 95))

    # -- reads

    def api_reads(self, n_seed: int) -> Callable[..., dict[str, Any]]:
        clients = self.a.clients or DEFAULT_CLIENTS['api']
        wf = self.workflow(lambda name: small_wf(name, self.acts))
        self.say('api: storing %d executions of %s' % (n_seed, wf))
        ids = []
        for i in range(n_seed):
            ex_id = self.api.start(wf, self.inputs(n=i))['id']
            ids.append(ex_id)
            self.executions.append(ex_id)
        deadline = time.monotonic() + self.a.timeout
        for ex_id in ids:
            while self.api.execution(ex_id).get('state') not in TERMINAL:
                if time.monotonic() > deadline:
                    raise CheckFailed('api: seeded executions not done')
                time.sleep(self.a.poll)

        def once(duration: float | None = None) -> dict[str, Any]:
            duration = duration or self.a.duration
            latencies: list[list[float]] = [[] for _ in range(clients)]
            errors: list[BaseException] = []
            stop = time.monotonic() + duration

            def reader(k: int) -> None:
                try:
                    i = 0
                    while time.monotonic() < stop:
                        t = time.monotonic()
                        if i % 2:
                            self.api.call('GET', '/workflows/%s' % wf)
                        else:
                            self.api.call('GET', '/executions',
                                          params={'limit': 100})
                        latencies[k].append(time.monotonic() - t)
                        i += 1
                except BaseException as e:  # noqa: BLE001
                    errors.append(e)

            snap = self.cpu.snap()
            t0 = time.monotonic()
            threads = [threading.Thread(target=reader, args=(k,),
                                        daemon=True) for k in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.monotonic() - t0
            done = [x for lat in latencies for x in lat]
            cpu = CpuMeter.per_unit(snap, self.cpu.snap(), max(len(done), 1))
            if errors:
                raise CheckFailed('api: %r' % errors[0])
            return dict(cpu, wall_s=round(wall, 4), units=len(done),
                        value=round(len(done) / wall, 2),
                        p50_s=percentile(done, 50), p99_s=percentile(done, 99))
        return once

    # -- cleanup

    def cleanup(self) -> None:
        for ex_id in self.executions:
            try:
                self.api.call('DELETE', '/executions/%s' % ex_id,
                              expect=(200, 204, 404, 400, 409),
                              params={'force': 'true'})
            except Exception:  # noqa: BLE001 -- best effort
                pass
        for wf in self.workflows:
            try:
                self.api.call('DELETE', '/workflows/%s' % wf,
                              expect=(200, 204, 404, 400, 409))
            except Exception:  # noqa: BLE001
                pass


# --- main -----------------------------------------------------------------


def start_target() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, 'http_target.py'), '--port',
         '0'], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline() if proc.stdout else ''
    if not line.startswith('port '):
        proc.kill()
        raise SystemExit('the HTTP target did not start')
    return proc, 'http://127.0.0.1:%s/' % line.split()[1]


def _cpu_pid(spec: str) -> tuple[str, int]:
    label, _, pid = spec.partition('=')
    if pid.startswith('@'):
        with open(pid[1:]) as f:
            pid = f.read().strip()
    if not label or not pid.isdigit():
        raise argparse.ArgumentTypeError('LABEL=PID or LABEL=@PIDFILE')
    return label, int(pid)


def summary_line(name: str, runs: list[dict[str, Any]]) -> str:
    values = [r['value'] for r in runs]
    med = statistics.median(values) if values else None
    return '%s: %s %ss/s (runs %s)' % (
        name, med, UNITS[name], ', '.join(str(v) for v in values))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--url', required=True,
                    help='API base, e.g. http://127.0.0.1:8989/v2')
    ap.add_argument('--scenario', required=True, choices=sorted(DEFAULT_N))
    ap.add_argument('--n', type=int, default=None, help='size (see above)')
    ap.add_argument('--clients', type=int, default=None,
                    help='many: submitting threads (8); api: reading '
                         'threads (4); seq/fanout/withitems: executions '
                         'started at once (1)')
    ap.add_argument('--item-concurrency', type=int, default=0,
                    help="withitems: the task's concurrency (0: none)")
    ap.add_argument('--actions', choices=['inline', 'http'],
                    default='inline')
    ap.add_argument('--http-target', default=None,
                    help='URL of a running tools/bench/http_target.py '
                         '(default: start one)')
    ap.add_argument('--duration', type=float, default=10.0,
                    help='api: seconds per run')
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1,
                    help='unmeasured runs first (many: of at most 20 '
                         'executions; api: 2 s)')
    ap.add_argument('--poll', type=float, default=0.05)
    ap.add_argument('--timeout', type=float, default=900.0)
    ap.add_argument('--http-timeout', type=float, default=120.0)
    ap.add_argument('--cpu-pid', action='append', default=[], type=_cpu_pid,
                    metavar='LABEL=PID')
    ap.add_argument('--no-task-check', action='store_true')
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--quiet', action='store_true')
    ap.add_argument('--json-out', default=None)
    a = ap.parse_args(argv)
    a.cpu_pid = dict(a.cpu_pid)
    if a.cpu_pid:
        # The client's own share of the host (with the HTTP target it
        # starts): the service's CPU is only part of what a run costs.
        a.cpu_pid.setdefault('client', os.getpid())
    n = a.n or DEFAULT_N[a.scenario]
    doc: dict[str, Any] = {'ok': False, 'scenario': a.scenario, 'n': n,
                           'actions': a.actions, 'unit': UNITS[a.scenario],
                           'runs': [], 'warmup_runs': []}
    target_proc = None
    target = a.http_target or ''
    bench = None
    try:
        if a.actions == 'http' and not target:
            target_proc, target = start_target()
        bench = Bench(a, target)
        if a.scenario == 'api':
            once = bench.api_reads(n)
            warm = lambda: once(2.0)  # noqa: E731
        elif a.scenario == 'many':
            once = bench.many(n)
            warm = lambda: once(min(n, 20))  # noqa: E731
        else:
            once = getattr(bench, a.scenario)(n)
            warm = once
        for i in range(a.warmup):
            bench.say('%s warm-up %d' % (a.scenario, i + 1))
            doc['warmup_runs'].append(warm())
        for i in range(a.repeat):
            run = once()
            run['unit'] = UNITS[a.scenario]
            doc['runs'].append(run)
            bench.say('%s run %d: %s %ss/s, wall %s s, cpu ms/%s %s' % (
                a.scenario, i + 1, run['value'], UNITS[a.scenario],
                run['wall_s'], UNITS[a.scenario], run['cpu_ms_per_unit']))
        doc['ok'] = True
    except (CheckFailed, Exception) as e:  # noqa: BLE001 -- reported
        doc['error'] = '%s: %s' % (type(e).__name__, e)
        print('FAIL %s' % doc['error'], file=sys.stderr)
    finally:
        if bench is not None and not a.keep:
            bench.cleanup()
        if target_proc is not None:
            target_proc.kill()
            target_proc.wait()
    if doc['runs']:
        print(summary_line(a.scenario, doc['runs']), file=sys.stderr)
    text = json.dumps(doc, indent=1)
    if a.json_out:
        with open(a.json_out, 'w') as f:
            f.write(text)
    else:
        print(text)
    return 0 if doc['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
