"""Execution expiration policy on every backend."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db import models
from mistral.services import expiration
from mistral.utils import timeutils

pytestmark = pytest.mark.parametrize(
    'db', ['sqlite', 'postgresql', 'mysql'], indirect=True)


def _ex(name, state, age_min, root=None, task=None):
    when = timeutils.utcnow() - datetime.timedelta(minutes=age_min)
    with db_api.transaction() as s:
        row = models.WorkflowExecution(
            name=name, workflow_name=name, state=state, accepted=True,
            root_execution_id=root, task_execution_id=task,
            project_id='p', created_at=when, updated_at=when)
        s.add(row)
        s.flush()
        return row.id


def _task(wf_ex_id, name='t'):
    with db_api.transaction() as s:
        row = models.TaskExecution(
            name=name, state='SUCCESS', workflow_execution_id=wf_ex_id,
            project_id='p', created_at=timeutils.utcnow())
        s.add(row)
        s.flush()
        return row.id


def _names():
    with db_api.read_session() as s:
        return sorted(s.execute(sa.select(
            models.WorkflowExecution.name)).scalars())


def test_off_by_default(db):
    assert expiration.interval() is None


def test_older_than_deletes_finished_roots_and_trees(db, conf):
    conf('evaluation_interval', 1, group='execution_expiration_policy')
    conf('older_than', 60, group='execution_expiration_policy')
    conf('ignored_states', ['ERROR'], group='execution_expiration_policy')
    old = _ex('old', 'SUCCESS', 120)
    task = _task(old)
    _ex('old-child', 'SUCCESS', 120, root=old, task=task)
    _ex('old-running', 'RUNNING', 120)
    _ex('old-error', 'ERROR', 120)
    _ex('new', 'SUCCESS', 5)
    assert expiration.interval() == datetime.timedelta(minutes=1)
    assert expiration.purge() == 1
    assert _names() == ['new', 'old-error', 'old-running']
    with db_api.read_session() as s:
        assert s.get(models.TaskExecution, task) is None


def test_max_finished_keeps_the_newest(db, conf):
    conf('evaluation_interval', 1, group='execution_expiration_policy')
    conf('max_finished_executions', 2,
         group='execution_expiration_policy')
    for i in range(5):
        _ex('e%d' % i, 'SUCCESS', 50 - i)
    _ex('running', 'RUNNING', 100)
    conf('batch_size', 2, group='execution_expiration_policy')
    assert expiration.purge() == 2
    assert expiration.purge() == 1
    assert expiration.purge() == 0
    assert _names() == ['e3', 'e4', 'running']
