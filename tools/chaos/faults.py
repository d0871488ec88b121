"""Faults injected while workflows run.

* :class:`Monkey` kills a random engine, executor, scheduler or api
  process with SIGKILL every few seconds and restarts it; it can also
  restart RabbitMQ and the database server once each.
* :class:`Duplicator` injects duplicated and reordered messages in two
  ways that cross process boundaries without touching the service's code:
  a database trigger copies every outbox row as it is written, and copies
  are later put back into ``outbox`` with an expired lease (and their old
  ``due_at``, so they sort before newer rows), for the relays to send
  again; and ``run_action(s)`` / ``on_action_complete`` /
  ``on_action_results`` casts for actions that already ran are sent
  straight to the deployment's vhost.
"""

from __future__ import annotations

import datetime
import logging
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from typing import Any, Sequence

import sqlalchemy as sa

LOG = logging.getLogger('chaos.faults')

COPY_TABLE = 'chaos_outbox_copy'
OUTBOX_COLUMNS = ('id', 'target', 'method', 'payload', 'server', 'due_at',
                  'owner', 'lease_until', 'created_at')

# The servers' restarts. The defaults restart this machine's servers; to
# run on private ones (so that other users of the shared servers are not
# disturbed), point the functional-test harness at them
# (MISTRAL_TEST_POSTGRESQL, MISTRAL_TEST_RABBIT, MISTRAL_TEST_RABBITMQCTL)
# and give their restart commands here.
PG_RESTART = os.environ.get(
    'MISTRAL_CHAOS_PG_RESTART', 'pg_ctlcluster --skip-systemctl-redirect '
    '$(ls /etc/postgresql) main restart')
MARIADB_STOP = 'start-stop-daemon --stop --exec /usr/sbin/mariadbd'
MARIADB_START = ('start-stop-daemon --start --oknodo --background '
                 '--exec /usr/sbin/mariadbd')
RABBIT_RESTART = os.environ.get(
    'MISTRAL_CHAOS_RABBIT_RESTART',
    'rabbitmqctl stop_app && rabbitmqctl start_app')


def _port(env: str, default: int) -> int:
    """The port of the server the harness uses (``MISTRAL_TEST_*``)."""
    value = os.environ.get(env, '')
    if not value:
        return default
    if '://' in value:
        return sa.engine.make_url(value).port or default
    return int(value.rpartition(':')[2] or default)


def _sh(cmd: str, timeout: float = 180) -> None:
    subprocess.run(['bash', '-c', cmd], check=True, timeout=timeout,
                   stdin=subprocess.DEVNULL, capture_output=True)


def _wait_tcp(port: int, timeout: float = 120) -> None:
    import socket

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(('127.0.0.1', port), 2).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError('port %d did not come back' % port)


def restart_rabbit() -> None:
    _sh(RABBIT_RESTART)
    _wait_tcp(_port('MISTRAL_TEST_RABBIT', 5672))


def restart_database(db: str) -> None:
    if db == 'mysql':
        _sh(MARIADB_STOP)
        # mariadbd takes a moment to exit; start refuses while it runs.
        time.sleep(3)
        _sh(MARIADB_START)
        _wait_tcp(3306)
    else:
        _sh(PG_RESTART)
        _wait_tcp(_port('MISTRAL_TEST_POSTGRESQL', 5432))


class Monkey(threading.Thread):
    """Kills and restarts processes of a deployment until stopped."""

    def __init__(self, dep: Any, targets: Sequence[int], interval: float,
                 seed: int, events: Sequence[tuple[float, str]] = (),
                 db: str = 'postgresql', pause_share: float = 0.0,
                 pause_seconds: float = 10.0) -> None:
        super().__init__(name='chaos-monkey', daemon=True)
        self.dep = dep
        self.targets = list(targets)
        self.interval = interval
        self.rng = random.Random(seed)
        # (seconds after start, 'rabbit' | 'db'), each done once.
        self.events = sorted(events)
        self.db = db
        self.kills: dict[str, int] = {}
        self.pauses: dict[str, int] = {}
        # Share of faults that are pauses instead of kills.
        self.pause_share = pause_share
        self.pause_seconds = pause_seconds
        self.restart_failures = 0
        self.done_events: list[str] = []
        # Single-component groups run in the launcher's process: these are
        # the pids in the executor ids of the actions they held.
        self.killed_pids: set[int] = set()
        self.stop_event = threading.Event()

    def pause_one(self, i: int, seconds: float) -> None:
        """SIGSTOP a process for longer than its leases, then SIGCONT: a
        long GC pause or a network partition. The others must take its
        work over, and what it does when it wakes up must not count."""
        name = ','.join(self.dep.processes[i].names)
        pid = self.dep.processes[i].pid
        LOG.info('SIGSTOP process %d (%s) pid %s for %.1fs', i, name, pid,
                 seconds)
        if pid is not None:
            # For the checks, a paused executor counts as lost.
            self.killed_pids.add(pid)
        self.dep.kill(i, signal.SIGSTOP)
        self.pauses[name] = self.pauses.get(name, 0) + 1
        if self.stop_event.wait(seconds):
            pass  # stopping: wake it up at once
        self.dep.kill(i, signal.SIGCONT)

    def kill_one(self, i: int, down: float = 0.0) -> None:
        name = ','.join(self.dep.processes[i].names)
        LOG.info('kill -9 process %d (%s)', i, name)
        pid = self.dep.processes[i].pid
        if pid is not None:
            self.killed_pids.add(pid)
        LOG.info('pid %s killed', pid)
        self.dep.kill(i, signal.SIGKILL)
        self.kills[name] = self.kills.get(name, 0) + 1
        try:
            self.dep.processes[i].wait(10)  # reap it before restarting
        except Exception:
            LOG.warning('process %d did not die in 10s', i)
        time.sleep(down)
        self.restart(i)

    def restart(self, i: int, wait: bool = False) -> None:
        """Start process ``i`` again. Not waiting for it to be ready lets
        the next kill come sooner, and sometimes hit a process that is
        still starting."""
        for _ in range(5):
            try:
                self.dep.start(i, wait=wait)
                return
            except Exception as e:  # the DB or broker may be down
                LOG.warning('restarting process %d failed: %s', i, e)
                self.restart_failures += 1
                try:
                    self.dep.kill(i, signal.SIGKILL)
                except Exception:
                    LOG.debug('kill after failed start', exc_info=True)
                time.sleep(2)

    def run(self) -> None:
        started = time.monotonic()
        pending = list(self.events)
        while not self.stop_event.wait(
                self.interval * self.rng.uniform(0.5, 1.5)):
            now = time.monotonic() - started
            if pending and pending[0][0] <= now:
                _, what = pending.pop(0)
                self._event(what)
                continue
            target = self.rng.choice(self.targets)
            if self.rng.random() < self.pause_share:
                self.pause_one(target, self.pause_seconds)
            else:
                self.kill_one(target, self.rng.uniform(0.0, 2.0))

    def _event(self, what: str) -> None:
        LOG.info('restarting %s', what)
        try:
            if what == 'rabbit':
                restart_rabbit()
            else:
                restart_database(self.db)
            self.done_events.append(what)
        except Exception:
            LOG.exception('restarting %s failed', what)

    def stop(self) -> None:
        self.stop_event.set()
        self.join()
        # Whatever a failed restart left dead comes back now.
        for i, p in enumerate(self.dep.processes):
            if not p.alive():
                self.restart(i, wait=True)
        self.dep.wait_ready(list(self.dep.processes))


def install_outbox_copy(engine: sa.Engine, db: str) -> None:
    """Copy every outbox row, as it is inserted, into COPY_TABLE."""
    cols = ', '.join(OUTBOX_COLUMNS)
    new = ', '.join('NEW.%s' % c for c in OUTBOX_COLUMNS)
    with engine.begin() as conn:
        if db == 'mysql':
            conn.execute(sa.text('CREATE TABLE %s LIKE outbox' % COPY_TABLE))
            conn.execute(sa.text(
                'CREATE TRIGGER chaos_copy AFTER INSERT ON outbox FOR EACH '
                'ROW INSERT INTO %s (%s) VALUES (%s)' % (COPY_TABLE, cols,
                                                         new)))
        else:
            conn.execute(sa.text('CREATE TABLE %s AS SELECT * FROM outbox '
                                 'WHERE false' % COPY_TABLE))
            conn.execute(sa.text(
                'CREATE FUNCTION chaos_copy() RETURNS trigger AS $$ BEGIN '
                'INSERT INTO %s (%s) VALUES (%s); RETURN NEW; END $$ '
                'LANGUAGE plpgsql' % (COPY_TABLE, cols, new)))
            conn.execute(sa.text(
                'CREATE TRIGGER chaos_copy AFTER INSERT ON outbox FOR EACH '
                'ROW EXECUTE FUNCTION chaos_copy()'))


def remove_outbox_copy(engine: sa.Engine, db: str) -> None:
    """Stop copying (the checks must see only the service's rows)."""
    with engine.begin() as conn:
        if db == 'mysql':
            conn.execute(sa.text('DROP TRIGGER IF EXISTS chaos_copy'))
        else:
            conn.execute(sa.text('DROP TRIGGER IF EXISTS chaos_copy ON '
                                 'outbox'))


class Duplicator:
    """Re-sends messages that were already sent."""

    def __init__(self, engine: sa.Engine, conf_path: str, seed: int) -> None:
        self.engine = engine
        self.conf_path = conf_path
        self.rng = random.Random(seed)
        self.outbox_copies = 0
        self.rpc_casts = 0
        self.errors = 0
        # Actions a run_action marked redelivered was sent for.
        self.redelivered: set[str] = set()
        self._rpc_ready = False

    def outbox(self, count: int) -> int:
        """Put ``count`` random already-written outbox rows back, with an
        expired lease: a relay sweep sends them again, late and out of
        order."""
        now = datetime.datetime.utcnow()
        cols = ', '.join(OUTBOX_COLUMNS)
        with self.engine.begin() as conn:
            rows = conn.execute(sa.text(
                'SELECT %s FROM %s' % (cols, COPY_TABLE))).all()
            if not rows:
                return 0
            picked = self.rng.sample(rows, min(count, len(rows)))
            for row in picked:
                values = dict(row._mapping)
                values.update(id=str(uuid.uuid4()), owner=None,
                              lease_until=now - datetime.timedelta(
                                  seconds=1))
                values['due_at'] = min(values['due_at'], now)
                conn.execute(sa.text(
                    'INSERT INTO outbox (%s) VALUES (%s)' % (
                        cols, ', '.join(':' + c for c in OUTBOX_COLUMNS))),
                    values)
        self.outbox_copies += len(picked)
        return len(picked)

    def _rpc(self) -> None:
        if not self._rpc_ready:
            from mistral import config

            config.parse_args(['--config-file', self.conf_path])
            self._rpc_ready = True

    def rpc(self, count: int) -> int:
        """Cast ``run_action`` or ``run_actions``, and
        ``on_action_complete`` or ``on_action_results``, again for random
        actions: completed ones (with their recorded result, as a
        redelivered message would carry) and running ones."""
        import json

        self._rpc()
        from mistral import context as mistral_context
        from mistral.rpc import clients

        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(
                'SELECT id, name, state, output, project_id, executor_id, '
                'workflow_execution_id, task_execution_id, workflow_name, '
                'workflow_namespace FROM action_executions_v2 '
                'WHERE workflow_execution_id IS NOT NULL')).all()
        if not rows:
            return 0
        sent = 0
        for ax in self.rng.sample(rows, min(count, len(rows))):
            ctx = mistral_context.MistralContext(
                project_id=ax.project_id, redelivered=True).to_dict()
            try:
                if ax.state in ('SUCCESS', 'ERROR'):
                    out = ax.output
                    if isinstance(out, str):
                        out = json.loads(out)
                    value = (out or {}).get('result')
                    key = 'data' if ax.state == 'SUCCESS' else 'error'
                    if self.rng.random() < 0.5:
                        clients.engine().cast(
                            ctx, 'on_action_complete', action_ex_id=ax.id,
                            result={key: value}, wf_action=False)
                    else:
                        # As an executor sends results (several to a
                        # message, with their workflow execution).
                        clients.engine().cast(
                            ctx, 'on_action_results', results=[{
                                'id': ax.id,
                                'wf': ax.workflow_execution_id,
                                'result': {key: value}}])
                    sent += 1
                if ax.executor_id is None:
                    # Not received by any executor yet: a broker redelivers
                    # only what a consumer got. A duplicate marked
                    # redelivered would be failed (the documented outcome
                    # for an action that is not safe-rerun), so the run
                    # would end in an error the fault did not model.
                    continue
                self.redelivered.add(ax.id)
                action = {
                    'action_ex_id': ax.id, 'action_name': ax.name,
                    'namespace': ax.workflow_namespace or '',
                    'safe_rerun': False, 'exec_ctx': {
                        'workflow_execution_id': ax.workflow_execution_id,
                        'task_execution_id': ax.task_execution_id,
                        'action_execution_id': ax.id,
                        'workflow_name': ax.workflow_name,
                        'callback_url': '/v2/action_executions/%s' % ax.id,
                    }}
                if self.rng.random() < 0.5:
                    clients.executor().run_action(
                        ctx, action.pop('action_ex_id'), **action)
                else:
                    # The message that carries several actions.
                    clients.executor().cast(ctx, 'run_actions',
                                            actions=[action])
                sent += 1
            except Exception:
                LOG.warning('duplicate cast failed', exc_info=True)
                self.errors += 1
        self.rpc_casts += sent
        return sent
