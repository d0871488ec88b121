"""Keeping a component process on one CPU (Linux).

The threads of one process share one interpreter lock and let go of it at
every call that waits: a database query, a broker message, an action's
socket (``std.http``, ``std.ssh``, ...). Spread over several CPUs, each
hand-over wakes a thread on another CPU, and those wake-ups and the cache
misses that follow cost about as much CPU as the work itself: 64 threads
calling ``std.http`` on a local server spent 0.56 ms of CPU per call on
two CPUs and 0.33 ms confined to one. One process cannot run Python on two
CPUs at once anyway, so a component loses little by staying on one; more
processes use more CPUs.

``[DEFAULT] cpu_affinity``:

``auto`` (the default)
    :class:`Keeper` confines the process to one CPU ``FIRST_LOOK`` seconds
    after start: the launcher's hint (``mistral-server`` numbers the
    components it starts, see ``ORDER``, so that they start on different
    CPUs; a process started after another of the same component and
    deployment on this host goes one CPU further, passing over the CPU of
    the deployment's API), or else the least busy CPU it may use
    (ties broken at random). Every ``RECHECK`` seconds or so (with jitter,
    so that two processes rarely decide at the same moment) it looks again
    and moves when another CPU was less busy than its own, not counting
    its own use, by more than ``MARGIN`` of a CPU: two busy processes that
    share a CPU part, and one that shares its CPU with a busy database
    moves away when another CPU has room.
``off``
    the kernel places the threads, as for any process.
a list of CPU numbers (``0,2``)
    the process stays on those CPUs.

Only a process that runs one component is confined: one that runs several
(``--server all`` on the in-memory transport) is left to the kernel, as is
a launcher, which only watches its components.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import AbstractSet, Callable, Iterator

from oslo_config import cfg

from mistral.exceptions import StartupError

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Seconds after start before the first choice (the process is busy
# starting before that; what the other CPUs do then says little).
FIRST_LOOK = 1.0
# Seconds between looks (each wait is drawn between this and twice this).
RECHECK = 3.0
# Further looks a later process of a component waits, FIRST_LOOK apart,
# for the deployment's API to take its CPU before it chooses its own.
API_WAITS = 3
# Share of a CPU by which another CPU must be less busy to move there.
MARGIN = 0.25
# Share of a CPU a process must have used over a look to move at all: an
# idle process loses nothing where it is, and what the other CPUs did
# meanwhile (another server's load) says nothing about its own work.
MIN_OWN = 0.1

# The launcher's hint for a component it starts: a number, its rank in
# ORDER; see _hinted for the CPU it gives.
SLOT_ENV = 'MISTRAL_CPU_SLOT'
# The order in which a launcher hands out CPUs, one after the other, round
# and round: the executor, which keeps a CPU busiest while actions run,
# then the API, so that on two CPUs the API's answers do not wait behind
# the executor's bursts (withitems-http over 100 items: 668-682 items/s
# against 605-607 with the engine second), then the engine, which is busy
# when the other two are not. (The executor alone on one CPU and the API
# and the engine sharing the other helped many-http, 52-56 against 47-48
# executions/s, but cost the inline many scenario, many concurrent starts
# with no executor work, 30%: 110 against 152-156.)
ORDER = ('executor', 'api', 'engine', 'scheduler', 'notifier',
         'event-engine')

# (total, idle) time of each CPU, in the kernel's clock ticks.
CpuTimes = dict[int, tuple[int, int]]


def supported() -> bool:
    return hasattr(os, 'sched_setaffinity') and os.path.exists('/proc/stat')


def parse_setting(value: str) -> str | set[int]:
    """``'auto'``, ``'off'`` or a set of CPU numbers; ValueError with what
    is wrong otherwise."""
    text = (value or '').strip().lower()
    if text in ('auto', 'off'):
        return text
    cpus: set[int] = set()
    for part in text.split(','):
        part = part.strip()
        if not part.isdigit():
            raise ValueError('[DEFAULT] cpu_affinity must be auto, off or '
                             'a list of CPU numbers such as 0,2; got %r'
                             % value)
        cpus.add(int(part))
    return cpus


def check() -> None:
    """Refuse a ``cpu_affinity`` that cannot work (StartupError)."""
    try:
        setting = parse_setting(CONF.cpu_affinity)
    except ValueError as e:
        raise StartupError(str(e)) from None
    if isinstance(setting, set) and supported():
        allowed = os.sched_getaffinity(0)
        missing = sorted(setting - allowed)
        if missing:
            raise StartupError(
                '[DEFAULT] cpu_affinity names CPU(s) %s, which this '
                'process may not use (it may use %s)' % (
                    ','.join(map(str, missing)),
                    ','.join(map(str, sorted(allowed)))))


def read_cpu_times(text: str) -> CpuTimes:
    """Per-CPU (total, idle) ticks from the text of ``/proc/stat``."""
    out: CpuTimes = {}
    for line in text.splitlines():
        name, _, rest = line.partition(' ')
        if not name.startswith('cpu') or name == 'cpu':
            continue
        try:
            cpu = int(name[3:])
            ticks = [int(x) for x in rest.split()]
        except ValueError:
            continue
        # user nice system idle iowait irq softirq steal (guest time is
        # counted in user already); waiting for I/O is idle time.
        out[cpu] = (sum(ticks[:8]), ticks[3] + ticks[4])
    return out


def busy_shares(before: CpuTimes, after: CpuTimes) -> dict[int, float]:
    """Share of each CPU's time (0..1) that was busy between two reads."""
    shares = {}
    for cpu, (total, idle) in after.items():
        if cpu not in before:
            continue
        d_total = total - before[cpu][0]
        d_idle = idle - before[cpu][1]
        shares[cpu] = (1.0 - d_idle / d_total) if d_total > 0 else 0.0
    return shares


def choose(current: int | None, busy: dict[int, float], own: float,
           margin: float = MARGIN,
           pick: Callable[[list[int]], int] = random.choice) -> int:
    """The CPU to stay on: ``busy`` is each allowed CPU's busy share over
    the last look, this process's own use included; ``own`` is the share
    of one CPU this process used, all of it on ``current`` (None: not
    confined yet, its use is spread). Moves only for more than
    ``margin``, and only a process that used at least ``MIN_OWN`` of a
    CPU; ties go to ``pick``."""
    if current not in busy:  # not confined yet, or a CPU gone from it
        low = min(busy.values())
        return pick(sorted(c for c, b in busy.items() if b - low < margin))
    if own < MIN_OWN:
        return current
    load = dict(busy)
    load[current] = max(busy[current] - own, 0.0)
    best = min(load.values())
    if load[current] - best <= margin:
        return current
    return pick(sorted(c for c, b in load.items()
                       if b - best < margin and c != current))


def confine(cpus: set[int]) -> None:
    """Every thread of this process (and the threads they start) on
    ``cpus``."""
    for tid in os.listdir('/proc/self/task'):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass  # the thread ended meanwhile


def _read_stat() -> CpuTimes:
    with open('/proc/stat') as f:
        return read_cpu_times(f.read())


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system


def slots(names: list[str]) -> dict[str, int]:
    """A launcher's hints: each of ``names`` (components, one process
    each) numbered in ``ORDER``."""
    ranked = sorted(names, key=lambda n: (
        ORDER.index(n) if n in ORDER else len(ORDER), names.index(n)))
    return {name: i for i, name in enumerate(ranked)}


def _hinted(allowed: set[int], rank: int = 0,
            avoid: AbstractSet[int] = frozenset()) -> int | None:
    """The CPU of the launcher's hint; ``rank``: how many processes of
    the same component on this host were started before this one (each
    goes one CPU further, passing over the CPUs of ``avoid``: those of
    the deployment's API)."""
    try:
        slot = int(os.environ.get(SLOT_ENV, ''))
    except ValueError:
        return None
    cpus = sorted(allowed)
    order = [cpus[(slot + i) % len(cpus)] for i in range(len(cpus))]
    if rank:
        order = order[:1] + [c for c in order[1:] if c not in avoid]
    return order[rank % len(order)]


def config_args(args: list[str]) -> tuple[str, ...]:
    """The configuration a command line names (``--config-file`` and
    ``--config-dir``, in order, in either form): processes that share a
    file or directory of it (or both name none) are taken to be one
    deployment, since each process of a deployment may add a file of its
    own to the shared one."""
    out: list[str] = []
    for i, arg in enumerate(args):
        for opt in ('--config-file', '--config-dir'):
            if arg == opt and i + 1 < len(args):
                out.append('%s=%s' % (opt, args[i + 1]))
            elif arg.startswith(opt + '='):
                out.append(arg)
    return tuple(out)


def _cmdline(proc: str, pid: str) -> list[str] | None:
    try:
        with open(os.path.join(proc, pid, 'cmdline'), 'rb') as f:
            return f.read().decode(errors='replace').split('\0')
    except OSError:
        return None  # gone, or not ours to read


def _deployment(proc: str, me: int) -> Iterator[tuple[int, str]]:
    """(pid, ``--server`` value) of the other mistral processes on this
    host of this one's deployment (sharing a configuration file)."""
    mine = config_args(_cmdline(proc, str(me)) or [])
    try:
        entries = os.listdir(proc)
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        args = _cmdline(proc, entry)
        if args is None or not any('mistral' in a for a in args):
            continue
        for i, arg in enumerate(args[:-1]):
            if arg == '--server':
                theirs = config_args(args)
                if theirs == mine or set(theirs) & set(mine):
                    yield int(entry), args[i + 1]
                break


def siblings_before(name: str, proc: str = '/proc',
                    me: int | None = None) -> int:
    """How many other processes on this host run the one component
    ``name`` (``... mistral ... --server NAME``) of the same deployment
    (sharing a configuration file) and were started before this one (a
    lower pid). Launchers number only their own children: a second
    ``mistral-server`` of a deployment numbers its executor as the first
    one did. Another deployment's processes do not count:
    two services on one host (a benchmark's, or a test's) each spread
    their own components."""
    me = os.getpid() if me is None else me
    return sum(1 for pid, server in _deployment(proc, me)
               if pid < me and server == name)


def api_cpus(allowed: set[int], proc: str = '/proc', me: int | None = None,
             affinity: Callable[[int], set[int]] = os.sched_getaffinity
             ) -> set[int] | None:
    """The CPUs the deployment's API processes on this host are confined
    to; None while one of them is not confined yet (to fewer CPUs than
    ``allowed``: it takes its CPU a second after it starts). A later
    executor keeps off them: on two CPUs, a second executor on the API's
    CPU delayed its answers (many-http with one client: 52-57 executions/s
    against 74-85 with both executors on the other CPU, and 76-86 with one
    executor)."""
    me = os.getpid() if me is None else me
    found: set[int] = set()
    settled = True
    for pid, server in _deployment(proc, me):
        if server != 'api':
            continue
        try:
            cpus = set(affinity(pid)) & allowed
        except OSError:
            continue  # gone
        if len(cpus) < len(allowed):
            found |= cpus
        else:
            settled = False
    return found if settled else None


class Keeper:
    """Applies ``[DEFAULT] cpu_affinity`` to this process, which runs the
    component ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.current: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not supported():
            LOG.debug('CPU affinity is not supported here; not applied')
            return
        setting = parse_setting(CONF.cpu_affinity)
        if setting == 'off':
            return
        if isinstance(setting, set):
            confine(setting)
            LOG.info('%s confined to CPU(s) %s', self.name,
                     ','.join(map(str, sorted(setting))))
            return
        if len(os.sched_getaffinity(0)) < 2:
            return  # nothing to choose from
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name='cpu-affinity')
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        allowed = os.sched_getaffinity(0)
        rank = siblings_before(self.name)
        wait = FIRST_LOOK
        # Looks to wait for an API of the deployment started alongside to
        # take its CPU (launchers started together race). Only a process
        # the launcher numbered keeps off it: one without a hint chooses
        # the least busy CPU, which the API's busy one is not.
        api_waits = API_WAITS
        keep_off_api = bool(rank) and self.name != 'api' and \
            bool(os.environ.get(SLOT_ENV))
        while True:
            before, own0, t0 = _read_stat(), _own_seconds(), time.monotonic()
            if self._stop.wait(wait):
                return
            try:
                hint = None
                if self.current is None:
                    avoid = api_cpus(allowed) if keep_off_api else set()
                    if avoid is None and api_waits:
                        api_waits -= 1
                        wait = FIRST_LOOK
                        continue
                    hint = _hinted(allowed, rank, avoid or set())
                if hint is not None:
                    self._move(hint, 'as the launcher numbered it')
                else:
                    self._look(allowed, before, own0, t0)
            except Exception:
                LOG.warning('Choosing a CPU for %s failed', self.name,
                            exc_info=True)
            wait = random.uniform(RECHECK, 2 * RECHECK)

    def _look(self, allowed: set[int], before: CpuTimes, own0: float,
              t0: float) -> None:
        busy = {c: b for c, b in busy_shares(before, _read_stat()).items()
                if c in allowed}
        if not busy:
            return
        elapsed = max(time.monotonic() - t0, 1e-3)
        own = (_own_seconds() - own0) / elapsed
        cpu = choose(self.current, busy, own)
        why = ''
        if cpu != self.current:
            why = 'busy shares over the last %.0f s: %s; its own use %.2f' % (
                elapsed, ', '.join('%d: %.2f' % kv
                                   for kv in sorted(busy.items())), own)
        self._move(cpu, why)

    def _move(self, cpu: int, why: str) -> None:
        if cpu != self.current:
            LOG.info('%s confined to CPU %d (%s)', self.name, cpu, why)
        # Every time: threads started since the last look by a thread that
        # was not confined yet follow too.
        confine({cpu})
        self.current = cpu
