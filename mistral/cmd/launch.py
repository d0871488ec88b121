"""mistral-server: run one or more service components.

With a real transport every component named by ``--server`` runs in its own
OS process (children of this one, restarted if they die). With the
in-memory transport they must share a process, so ``all`` runs every
component in this one.

Before anything starts, :func:`mistral.service.startup.prepare` checks the
configuration, the database and its schema: what cannot work stops the
process with one line and a non-zero exit code.

SIGTERM or SIGINT stops everything cleanly: components stop taking work,
running actions get ``[DEFAULT] graceful_shutdown_timeout`` seconds to
finish, what is still running then is handed back (see
:meth:`mistral.executor.executor.Executor.drain`) and the process exits.
"""

from __future__ import annotations

import gc
import logging as std_logging
import os
import signal
import subprocess
import sys
import threading
import time

import mistral  # noqa: F401  (first: process-wide setup, no eventlet)

# isort: split
from oslo_config import cfg
from oslo_log import log as logging

from mistral import config
from mistral import exceptions
from mistral.service import cpu_affinity
from mistral.service import startup

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _setup_logging() -> None:
    logging.setup(CONF, 'mistral')
    # Library chatter that would drown our own lines at INFO.
    for noisy in ('oslo_messaging', 'amqp', 'kombu', 'urllib3',
                  'stevedore', 'alembic'):
        std_logging.getLogger(noisy).setLevel(std_logging.WARNING)


class _Stopper:
    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum, _frame) -> None:
        LOG.info('Signal %s received, stopping', signum)
        self.event.set()


# A request or an engine transaction allocates thousands of short-lived
# objects; with CPython's default (700) the youngest generation is
# collected several times within each, mostly finding nothing to free.
_GC_THRESHOLDS = (7000, 20, 20)


def tune_gc() -> None:
    """Called once the components have started. What starting left
    behind (modules, registries, compiled expressions) lives as long as
    the process: frozen, it is no longer rescanned by every full
    collection, which otherwise stalls a busy engine for tens of
    milliseconds each time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


def shutdown_deadline() -> float | None:
    """``time.monotonic()`` by which running actions must be done; None
    when ``graceful_shutdown_timeout`` is 0 (wait for them)."""
    grace = CONF.graceful_shutdown_timeout
    return None if not grace else time.monotonic() + grace


def _exit_now(code: int) -> None:
    """Exit without joining the threads that still run handed-back
    actions (the interpreter would wait for every one of them)."""
    LOG.info('mistral-server exiting; %d thread(s) left running',
             threading.active_count() - 1)
    std_logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_in_process(names: list[str],
                   stopper: _Stopper | None = None) -> int:
    from mistral.service import components

    if stopper is None:
        stopper = _Stopper()
        stopper.install()
    started: list = []
    finished = True
    keeper = None
    try:
        for name in names:
            comp = components.build(name)
            comp.start()
            started.append(comp)
        if len(names) == 1:
            keeper = cpu_affinity.Keeper(names[0])
            keeper.start()
        tune_gc()
        LOG.info('mistral-server ready: %s', ', '.join(names))
        while not stopper.event.wait(1.0):
            pass
    finally:
        if keeper is not None:
            keeper.stop()
        finished = components.stop_all(started, shutdown_deadline())
    if not finished:
        _exit_now(0)
    return 0


def _child_argv(name: str) -> list[str]:
    args: list[str] = []
    skip = False
    for a in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if a == '--server':
            skip = True
            continue
        if a.startswith('--server='):
            continue
        args.append(a)
    # -P: without it ``-m`` puts the working directory first on the
    # component's sys.path, so started from a directory that holds another
    # checkout of mistral (a source tree, a worktree) the component would
    # import that one while its launcher runs this one.
    return [sys.executable, '-P', '-m', 'mistral.cmd.launch', *args,
            '--server', name]


def _die_with_parent() -> None:
    """Linux: a component gets SIGTERM when its launcher dies, even by
    SIGKILL, so no component outlives the process that manages it."""
    try:
        import ctypes

        libc = ctypes.CDLL('libc.so.6', use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the launcher's own shutdown still stops them


def _stop_children(children: dict[str, subprocess.Popen]) -> None:
    """SIGTERM the components, the engines last: executors that drain
    running actions still report to them. Each group gets the grace
    period plus time to stop; what lingers after that is killed."""
    grace = CONF.graceful_shutdown_timeout
    first = [p for n, p in children.items() if n != 'engine']
    engines = [p for n, p in children.items() if n == 'engine']
    for group, timeout in ((first, grace + 30 if grace else None),
                           (engines, 30)):
        for proc in group:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = None if timeout is None else time.monotonic() + timeout
        for proc in group:
            try:
                proc.wait(timeout=None if deadline is None
                          else max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                LOG.warning('pid %s did not stop in time; killing it',
                            proc.pid)
                proc.kill()


def run_children(names: list[str], stopper: _Stopper | None = None) -> int:
    """One OS process per component; restart a child that dies, unless it
    refused to start (exit code 2: its configuration cannot work)."""
    if stopper is None:
        stopper = _Stopper()
        stopper.install()
    children: dict[str, subprocess.Popen] = {}
    code = 0
    # Which CPU each component starts on ([DEFAULT] cpu_affinity = auto).
    slots = cpu_affinity.slots(names)

    def spawn(name: str) -> None:
        env = dict(os.environ, **{cpu_affinity.SLOT_ENV: str(slots[name])})
        children[name] = subprocess.Popen(_child_argv(name), env=env,
                                          preexec_fn=_die_with_parent)
        LOG.info('Started %s as pid %s', name, children[name].pid)

    for name in names:
        spawn(name)
    while not stopper.event.wait(0.5):
        for name, proc in list(children.items()):
            exit_code = proc.poll()
            if exit_code is None:
                continue
            if exit_code == exceptions.EXIT_CONFIG:
                LOG.error('%s (pid %s) refused to start; stopping',
                          name, proc.pid)
                code = exit_code
                stopper.event.set()
                break
            LOG.error('%s (pid %s) exited with %s; restarting', name,
                      proc.pid, exit_code)
            time.sleep(1.0)
            spawn(name)
    _stop_children(children)
    return code


def _refuse(error: exceptions.StartupError) -> int:
    """One line, where the operator looks: the log, and the terminal when
    the log goes to a file."""
    LOG.error('%s', error)
    if CONF.log_file or CONF.log_dir:
        print('mistral-server: %s' % error, file=sys.stderr)
    return error.exit_code


def main(argv: list[str] | None = None) -> int:
    try:
        config.parse_args(sys.argv[1:] if argv is None else argv)
        names = config.servers()
    except (ValueError, cfg.Error) as e:
        print('mistral-server: %s' % e, file=sys.stderr)
        return 2
    _setup_logging()
    stopper = _Stopper()
    stopper.install()
    fake = CONF.transport_url.startswith('fake')
    refused = None
    try:
        startup.prepare(names, stopped=stopper.event)
    except exceptions.StartupError as e:
        refused = e
    if refused is not None:
        # Outside the except block: oslo.log would append the exception
        # to the line.
        return _refuse(refused)
    if stopper.event.is_set():
        return 0
    if len(names) == 1 or fake:
        return run_in_process(names, stopper)
    from mistral.db import api as db_api

    # The children open their own connections.
    db_api.dispose()
    LOG.info('mistral-server %s: one process per component',
             os.getpid())
    return run_children(names, stopper)


if __name__ == '__main__':
    sys.exit(main())
