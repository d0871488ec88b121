"""Delayed outbox rows: the scheduler sends each once, when due."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db import models
from mistral.handoff import outbox
from mistral.scheduler import delayed
from mistral.scheduler import scheduler
from mistral.utils import timeutils

pytestmark = pytest.mark.parametrize(
    'db', ['sqlite', 'postgresql', 'mysql'], indirect=True)


def _write(delays: list[float], method: str = 'continue_task',
           target: str = 'engine') -> list[str]:
    batch = outbox.Batch()
    now = timeutils.utcnow()
    for i, d in enumerate(delays):
        batch.add(target, method, {'task_ex_id': 't%d' % i},
                  due_at=now + datetime.timedelta(seconds=d))
    with db_api.transaction() as s:
        batch.write(s)
    return [r['id'] for r in batch.rows]


def _count() -> int:
    with db_api.read_session() as s:
        return s.execute(sa.select(sa.func.count()).select_from(
            models.OutboxMessage)).scalar()


def test_delayed_rows_are_not_sent_after_commit(db, sent):
    _write([30])
    assert sent.sent == [] or all(m == 'wake' for _t, m, _p in sent.sent)
    assert delayed.claim_due() == []
    nxt = delayed.next_due()
    assert nxt > timeutils.utcnow() + datetime.timedelta(seconds=25)


def test_writer_wakes_schedulers_only_for_soon_rows(db, sent, conf):
    conf('max_sleep', 5, group='scheduler')
    _write([60])
    assert sent.of('wake') == []
    _write([0.5])
    wakes = sent.of('wake')
    assert len(wakes) == 1
    assert datetime.datetime.fromisoformat(wakes[0]['due_at']) > \
        timeutils.utcnow() - datetime.timedelta(seconds=1)


def test_scheduler_sends_when_due_and_deletes(db, sent, conf):
    conf('max_sleep', 30, group='scheduler')
    sched = scheduler.Scheduler()
    sched.start()
    try:
        time.sleep(0.2)  # it is asleep now, for max_sleep
        # Rows the relay deletes itself once sent (engine-bound rows are
        # deleted by the engine when it applies them).
        ids = _write([0.3, 0.6], method='notify', target='notifier')
        # The writer's wake-up is what the RPC endpoint would deliver.
        for w in sent.of('wake'):
            scheduler.SchedulerEndpoint(sched).wake(
                {}, due_at=w['due_at'])
        deadline = time.monotonic() + 10
        while len(sent.of('notify')) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        got = sent.of('notify')
        assert sorted(p['task_ex_id'] for p in got) == ['t0', 't1']
    finally:
        sched.stop()
    outbox.relay().stop()
    with db_api.read_session() as s:
        left = s.execute(sa.select(models.OutboxMessage.id).where(
            models.OutboxMessage.id.in_(ids))).scalars().all()
    assert left == []


def test_many_schedulers_send_each_row_once(db, sent, conf):
    conf('batch_size', 7, group='scheduler')
    _write([0.01 * (i % 10 + 1) for i in range(120)])
    time.sleep(0.2)
    scheds = [scheduler.Scheduler() for _ in range(3)]
    for s in scheds:
        s.start()
    try:
        deadline = time.monotonic() + 30
        while len(sent.of('continue_task')) < 120 and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # a double send would show up by now
    finally:
        for s in scheds:
            s.stop()
    keys = [p['task_ex_id'] for p in sent.of('continue_task')]
    assert len(keys) == 120


def test_a_claim_of_a_dead_scheduler_is_taken_after_its_lease(db, sent,
                                                              conf):
    conf('job_lease', 1, group='scheduler')
    _write([0.01])
    time.sleep(0.05)
    # A scheduler claims the row and dies before sending it.
    assert len(delayed.claim_due()) == 1
    assert delayed.claim_due() == []
    time.sleep(1.1)
    again = delayed.claim_due()
    assert len(again) == 1


def test_wake_only_interrupts_for_an_earlier_time(db):
    sched = scheduler.Scheduler()
    now = timeutils.utcnow()
    sched._planned = now + datetime.timedelta(seconds=10)
    sched.wake(now + datetime.timedelta(seconds=20))
    assert not sched._wake.is_set()
    sched.wake(now + datetime.timedelta(seconds=1))
    assert sched._wake.is_set()


def test_concurrent_claims_never_overlap(db, sent):
    _write([0.01] * 60)
    time.sleep(0.05)
    got: list[str] = []
    lock = threading.Lock()

    def worker():
        while True:
            rows = delayed.claim_due(limit=5)
            if not rows:
                return
            with lock:
                got.extend(r['id'] for r in rows)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 60 == len(set(got))
