"""Cron firing: one execution per firing, on every backend."""

from __future__ import annotations

import datetime
import json
import threading

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db import models
from mistral.services import triggers
from mistral.utils import timeutils

pytestmark = pytest.mark.parametrize(
    'db', ['sqlite', 'postgresql', 'mysql'], indirect=True)


def _trigger(pattern='*/5 * * * *', remaining=None, next_at=None,
             name='ct'):
    now = timeutils.utcnow()
    with db_api.transaction() as s:
        wf = models.WorkflowDefinition(
            name='wf-' + name, namespace='', definition='', spec={},
            tags=[], project_id='p1', created_at=now)
        s.add(wf)
        s.flush()
        row = models.CronTrigger(
            name=name, pattern=pattern, workflow_name=wf.name,
            workflow_id=wf.id, workflow_input={'a': 1},
            workflow_params={'env': {}}, remaining_executions=remaining,
            next_execution_time=next_at or now - datetime.timedelta(
                seconds=1), project_id='p1', created_at=now)
        s.add(row)
        s.flush()
        return row.id, row.next_execution_time


def _row(trigger_id):
    with db_api.read_session() as s:
        row = s.get(models.CronTrigger, trigger_id)
        if row is not None:
            s.expunge(row)
        return row


def test_fire_writes_one_start_and_advances(db, sent):
    tid, due = _trigger(remaining=3)
    assert triggers.fire_due() == 1
    starts = sent.of('start_workflow')
    assert len(starts) == 1
    start = starts[0]
    assert start['wf_ex_id'] == triggers.firing_id(tid, due)
    assert start['wf_input'] == {'a': 1}
    assert start['params'] == {'env': {}}
    assert json.loads(start['description']) == {
        'description': "Workflow execution created by cron trigger "
                       "'(%s)'." % tid,
        'triggered_by': {'type': 'cron_trigger', 'id': tid}}
    row = _row(tid)
    assert row.remaining_executions == 2
    assert row.next_execution_time > timeutils.utcnow()
    assert row.next_execution_time.minute % 5 == 0
    # Nothing is due any more.
    assert triggers.fire_due() == 0
    assert len(sent.of('start_workflow')) == 1


def test_last_execution_deletes_the_trigger(db, sent):
    tid, _ = _trigger(remaining=1)
    triggers.fire_due()
    assert _row(tid) is None
    assert len(sent.of('start_workflow')) == 1


def test_one_time_trigger_fires_once(db, sent):
    # A trigger given only a first time has upstream's "never" pattern
    # (which croniter reads as Sundays of February) and one execution:
    # it fires at its first time and is gone.
    tid, _ = _trigger(pattern=triggers.ONE_TIME_PATTERN, remaining=1)
    assert triggers.fire_due() == 1
    assert _row(tid) is None
    assert len(sent.of('start_workflow')) == 1
    assert triggers.fire_due() == 0


def test_missed_slots_fire_once(db, sent):
    # Down for an hour with a per-minute pattern: one firing, then the
    # next slot after now.
    now = timeutils.utcnow()
    tid, _ = _trigger(pattern='* * * * *',
                      next_at=now - datetime.timedelta(hours=1))
    while triggers.fire_due():
        pass
    assert len(sent.of('start_workflow')) == 1
    nxt = _row(tid).next_execution_time
    assert now < nxt <= now + datetime.timedelta(seconds=61)


def test_concurrent_schedulers_fire_each_slot_once(db, sent):
    ids = [_trigger(name='ct%d' % i)[0] for i in range(20)]
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            barrier.wait()
            for _ in range(5):
                triggers.fire_due(limit=3)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    while triggers.fire_due():
        pass
    fired = sorted(s['wf_ex_id'] for s in sent.of('start_workflow'))
    assert len(fired) == len(ids) == len(set(fired))
    # Each start request went through the outbox in the firing's
    # transaction.
    with db_api.read_session() as s:
        assert s.execute(sa.select(sa.func.count()).where(
            models.CronTrigger.next_execution_time
            <= timeutils.utcnow()).select_from(
                models.CronTrigger)).scalar() == 0


def test_no_firing_during_maintenance(db, sent, conf):
    from mistral.scheduler import scheduler
    from mistral.services import maintenance

    conf('max_sleep', 7, group='scheduler')
    tid, due = _trigger(remaining=2)
    assert maintenance._set(maintenance.PAUSED)
    assert triggers.fire_due() == 0
    assert sent.of('start_workflow') == []
    assert _row(tid).next_execution_time == due
    # The scheduler does not spin on the held-back trigger.
    before = timeutils.utcnow()
    next_at = scheduler.Scheduler().run_once()
    assert next_at >= before + datetime.timedelta(seconds=6)
    assert maintenance._set(maintenance.RUNNING)
    assert triggers.fire_due() == 1
    assert len(sent.of('start_workflow')) == 1
