"""Three scheduler processes, 500 jobs due within 2 seconds, on PostgreSQL
and on MariaDB (RabbitMQ): every job runs exactly once, also when one
scheduler is killed with SIGKILL in the middle of the run.

A job is a delayed outbox message to the engine topic, as the engine
writes them for policy delays. No engine runs: this test serves the engine
topic itself and keeps a ledger of the jobs it receives; like the engine,
it acknowledges a job by deleting its row. The lateness of the jobs is
printed (p50/p99), not asserted.
"""

from __future__ import annotations

import collections
import datetime
import signal
import statistics
import threading
import time
import uuid

import oslo_messaging
import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral.db import models
from mistral.tests.functional.harness import wait_for

JOBS = 500
SPREAD = 2.0  # seconds over which the jobs of a batch fall due
LEASE = 8  # [scheduler] job_lease


class Ledger:
    """Stands in for the engine: records each job it gets, and deletes
    the job's row (acknowledges it) soon after, in batches."""

    target = oslo_messaging.Target(version='1.0')

    def __init__(self, db_url: str) -> None:
        self.runs: list[tuple[str, float]] = []
        self._acks: list[str] = []
        self._lock = threading.Lock()
        self._db = sa.create_engine(db_url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ack_loop, daemon=True)
        self._thread.start()

    def run_job(self, ctx, job: str, outbox_id: str | None = None) -> None:
        with self._lock:
            self.runs.append((job, time.time()))
            self._acks.append(outbox_id)

    def _ack_loop(self) -> None:
        table = models.OutboxMessage.__table__
        while not self._stop.wait(0.05):
            with self._lock:
                ids, self._acks = self._acks, []
            if ids:
                with self._db.begin() as conn:
                    conn.execute(sa.delete(table).where(table.c.id.in_(ids)))

    def count(self, prefix: str) -> collections.Counter:
        with self._lock:
            return collections.Counter(j for j, _t in self.runs
                                       if j.startswith(prefix))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._db.dispose()


@pytest.fixture
def bus(request):
    """Serve the engine topic of a deployment; cast to its schedulers."""
    made = []

    def make(deployment):
        # The deployment's own bus: only the URL is taken from it.
        transport = oslo_messaging.get_rpc_transport(
            cfg.CONF, url=deployment.transport_url)
        ledger = Ledger(deployment.db_url)
        server = oslo_messaging.get_rpc_server(
            transport, oslo_messaging.Target(topic='mistral_engine',
                                             server='ledger'),
            [ledger], executor='threading',
            access_policy=oslo_messaging.DefaultRPCAccessPolicy)
        server.start()
        client = oslo_messaging.get_rpc_client(
            transport, oslo_messaging.Target(topic='mistral_scheduler'))
        made.append((server, transport, ledger))
        return ledger, client.prepare(fanout=True)

    yield make
    for server, transport, ledger in made:
        server.stop()
        server.wait()
        transport.cleanup()
        ledger.close()


def _write_jobs(db, prefix: str, start: datetime.datetime,
                orphaned: int = 0) -> dict[str, datetime.datetime]:
    """``JOBS`` delayed messages due from ``start`` over ``SPREAD`` s.

    The first ``orphaned`` are written as a scheduler leaves the jobs it
    claimed and never sent before it died: owned, with a running lease.
    """
    now = datetime.datetime.utcnow()
    due, rows = {}, []
    for i in range(JOBS):
        job = '%s-%03d' % (prefix, i)
        at = start + datetime.timedelta(seconds=SPREAD * i / JOBS)
        due[job] = at
        dead = i < orphaned
        rows.append({
            'id': str(uuid.uuid4()), 'target': 'engine',
            'method': 'run_job', 'payload': {'ctx': {}, 'args': {'job': job}},
            'server': None, 'due_at': at,
            'owner': 'dead-scheduler' if dead else None,
            'lease_until': (now + datetime.timedelta(seconds=LEASE)
                            if dead else at),
            'created_at': now})
    with db.begin() as conn:
        conn.execute(sa.insert(models.OutboxMessage.__table__), rows)
    return due


def _lateness(ledger: Ledger, due: dict[str, datetime.datetime]) -> str:
    first = {}
    for job, t in ledger.runs:
        if job in due and job not in first:
            first[job] = t
    late = sorted(
        (first[j] - due[j].replace(tzinfo=datetime.timezone.utc).timestamp())
        * 1000 for j in first)
    return 'p50 %.0f ms, p99 %.0f ms' % (statistics.median(late),
                                        late[int(len(late) * 0.99) - 1])


def _left(db) -> int:
    with db.connect() as conn:
        return conn.execute(sa.text('SELECT COUNT(*) FROM outbox')).scalar()


@pytest.mark.parametrize('backend', ['postgresql', 'mysql'])
def test_three_schedulers_run_each_job_once(deploy, bus, backend):
    dep = deploy(db=backend, transport='rabbit',
                 processes=[['scheduler'], ['scheduler'], ['scheduler']],
                 conf_overrides={'scheduler': {'job_lease': LEASE}})
    ledger, schedulers = bus(dep)
    db = sa.create_engine(dep.db_url)
    try:
        # 1. All three running.
        start = datetime.datetime.utcnow() + datetime.timedelta(seconds=2)
        due = _write_jobs(db, 'a', start)
        schedulers.cast({}, 'wake', due_at=start.isoformat())
        wait_for(lambda: len(ledger.count('a-')) == JOBS, 120,
                 lambda: '%d of %d jobs to run' % (len(ledger.count('a-')),
                                                   JOBS))
        print('\n%s, 3 schedulers, %d jobs: late by %s'
              % (backend, JOBS, _lateness(ledger, due)))

        # 2. One is killed in the middle of the run; 50 jobs are as it
        # would have left them had it claimed them and died.
        start = datetime.datetime.utcnow() + datetime.timedelta(seconds=2)
        _write_jobs(db, 'b', start, orphaned=50)
        schedulers.cast({}, 'wake', due_at=start.isoformat())
        wait_for(lambda: len(ledger.count('b-')) >= 100, 120,
                 'the second batch to start')
        dep.kill(0, signal.SIGKILL)
        wait_for(lambda: len(ledger.count('b-')) == JOBS, 120,
                 lambda: '%d of %d jobs to run after the kill'
                 % (len(ledger.count('b-')), JOBS))
        # Anything sent twice would show up within a lease.
        time.sleep(LEASE + 2)
        for prefix in ('a-', 'b-'):
            runs = ledger.count(prefix)
            assert len(runs) == JOBS
            assert {n for n in runs.values()} == {1}, [
                j for j, n in runs.items() if n != 1]
        assert _left(db) == 0
    finally:
        db.dispose()
