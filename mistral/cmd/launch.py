"""mistral-server: run one or more service components.

With a real transport every component named by ``--server`` runs in its own
OS process (children of this one, restarted if they die). With the
in-memory transport they must share a process, so ``all`` runs every
component in this one. SIGTERM or SIGINT stops everything cleanly.
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

import mistral  # noqa: F401  (process-wide setup: no eventlet, threads)
from oslo_config import cfg
from oslo_log import log as logging
import sqlalchemy as sa

from mistral import config

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _setup_logging() -> None:
    logging.setup(CONF, 'mistral')
    # Library chatter that would drown our own lines at INFO.
    for noisy in ('oslo_messaging', 'amqp', 'kombu', 'urllib3',
                  'stevedore', 'alembic'):
        std_logging.getLogger(noisy).setLevel(std_logging.WARNING)


def _upgrade_embedded_db() -> None:
    """The embedded default (SQLite) brings its schema up to date itself;
    other databases are upgraded by the operator with mistral-db-manage."""
    url = sa.engine.make_url(CONF.database.connection)
    if url.get_backend_name() == 'sqlite':
        from mistral.db.migration import cli

        cli.upgrade('head')


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


def run_in_process(names: list[str]) -> int:
    from mistral.service import components

    stopper = _Stopper()
    stopper.install()
    started = []
    try:
        for name in names:
            comp = components.build(name)
            comp.start()
            started.append(comp)
        tune_gc()
        LOG.info('mistral-server ready: %s', ', '.join(names))
        while not stopper.event.wait(1.0):
            pass
    finally:
        for comp in reversed(started):
            try:
                comp.stop()
            except Exception:
                LOG.exception('Stopping %s failed', comp.name)
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
    return [sys.executable, '-m', 'mistral.cmd.launch', *args,
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


def run_children(names: list[str]) -> int:
    """One OS process per component; restart a child that dies."""
    stopper = _Stopper()
    stopper.install()
    children: dict[str, subprocess.Popen] = {}

    def spawn(name: str) -> None:
        children[name] = subprocess.Popen(_child_argv(name),
                                          preexec_fn=_die_with_parent)
        LOG.info('Started %s as pid %s', name, children[name].pid)

    for name in names:
        spawn(name)
    while not stopper.event.wait(0.5):
        for name, proc in list(children.items()):
            code = proc.poll()
            if code is not None:
                LOG.error('%s (pid %s) exited with %s; restarting', name,
                          proc.pid, code)
                time.sleep(1.0)
                spawn(name)
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for proc in children.values():
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        config.parse_args(sys.argv[1:] if argv is None else argv)
        names = config.servers()
    except (ValueError, cfg.Error) as e:
        print('mistral-server: %s' % e, file=sys.stderr)
        return 2
    _setup_logging()
    fake = CONF.transport_url.startswith('fake')
    if len(names) == 1 or fake:
        _upgrade_embedded_db()
        return run_in_process(names)
    _upgrade_embedded_db()
    LOG.info('mistral-server %s: one process per component',
             os.getpid())
    return run_children(names)


if __name__ == '__main__':
    sys.exit(main())
