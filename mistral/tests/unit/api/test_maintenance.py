"""/maintenance: pausing the service and refusing changes meanwhile."""

from __future__ import annotations

import time
from typing import Any

import pytest

from mistral.db import api as db_api
from mistral.db import models
from mistral.services import maintenance
from mistral.tests.unit.api import conftest as c

ADMIN = c.headers('adm', 'admin')
MEMBER = c.headers('adm')
TEXT = {'Content-Type': 'text/plain', **ADMIN}


@pytest.fixture(autouse=True)
def fast_poll(monkeypatch: Any) -> None:
    monkeypatch.setattr(maintenance, 'POLL_INTERVAL', 0.05)


def _wait_status(app: Any, status: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while app.get('/maintenance', headers=ADMIN).json['status'] != status:
        assert time.monotonic() < deadline, 'never became %s' % status
        time.sleep(0.05)


def _set_task_state(task_id: str, state: str) -> None:
    with db_api.transaction() as s:
        s.get(models.TaskExecution, task_id).state = state


def test_pause_refuse_and_resume(auth_app: Any, engine: Any) -> None:
    assert auth_app.get('/maintenance', headers=MEMBER).json == {
        'status': 'RUNNING'}
    auth_app.post('/v2/workflows', c.WF, headers=TEXT, status=201)
    ex = auth_app.post_json('/v2/executions', {'workflow_name': 'wf1'},
                            headers=ADMIN, status=201).json
    task_id = c.add_task(ex['id'], state='RUNNING')
    # Only admins change it.
    auth_app.put_json('/maintenance', {'status': 'PAUSED'}, headers=MEMBER,
                      status=403)
    r = auth_app.put_json('/maintenance', {'status': 'PAUSED'},
                          headers=ADMIN)
    assert r.json == {'status': 'PAUSING'}
    deadline = time.monotonic() + 10
    while ('pause_workflow', (ex['id'],), {}) not in engine.calls:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # A task still runs: the service stays PAUSING.
    time.sleep(0.3)
    assert auth_app.get('/maintenance',
                        headers=ADMIN).json['status'] == 'PAUSING'
    r = auth_app.post('/v2/workflows', c.WF.replace('wf1', 'wf2'),
                      headers=TEXT, status=423)
    assert 'maintenance' in r.headers['Server-Error-Message']
    # Reads still work.
    auth_app.get('/v2/workflows', headers=ADMIN, status=200)
    _set_task_state(task_id, 'SUCCESS')
    _wait_status(auth_app, 'PAUSED')
    auth_app.post_json('/v2/executions', {'workflow_name': 'wf1'},
                       headers=ADMIN, status=423)
    auth_app.delete('/v2/workflows/wf1', headers=ADMIN, status=423)
    # Cancelling is allowed.
    r = auth_app.put_json('/v2/executions/%s' % ex['id'],
                          {'state': 'CANCELLED'}, headers=ADMIN)
    assert r.json['state'] == 'CANCELLED'
    # Asking again keeps the state.
    assert auth_app.put_json('/maintenance', {'status': 'PAUSED'},
                             headers=ADMIN).json == {'status': 'PAUSED'}
    auth_app.put_json('/maintenance', {'status': 'PAUSING'}, headers=ADMIN,
                      status=400)
    r = auth_app.put_json('/maintenance', {'status': 'RUNNING'},
                          headers=ADMIN)
    assert r.json == {'status': 'RUNNING'}
    auth_app.post('/v2/workflows', c.WF.replace('wf1', 'wf2'),
                  headers=TEXT, status=201)


def test_resume_and_action_results_while_pausing(auth_app: Any,
                                                 engine: Any) -> None:
    auth_app.post('/v2/workflows', c.WF, headers=TEXT, status=201)
    ex = auth_app.post_json('/v2/executions', {'workflow_name': 'wf1'},
                            headers=ADMIN, status=201).json
    task_id = c.add_task(ex['id'], state='RUNNING', results=['x'])
    ax = auth_app.post_json('/v2/action_executions',
                            {'name': 'std.async_noop',
                             'params': {'save_result': True}},
                            headers=ADMIN, status=201).json
    auth_app.put_json('/maintenance', {'status': 'PAUSED'}, headers=ADMIN)
    # Action results are accepted while pausing.
    r = auth_app.put_json('/v2/action_executions/%s' % ax['id'],
                          {'state': 'SUCCESS', 'output': '1'},
                          headers=ADMIN)
    assert r.json['state'] == 'SUCCESS'
    _set_task_state(task_id, 'SUCCESS')
    _wait_status(auth_app, 'PAUSED')
    r = auth_app.put_json('/v2/action_executions/%s' % ax['id'],
                          {'state': 'SUCCESS', 'output': '1'},
                          headers=ADMIN, status=423)
    auth_app.put_json('/maintenance', {'status': 'RUNNING'}, headers=ADMIN)
    assert ('resume_workflow', (ex['id'],), {'env': None}) in engine.calls


def test_a_late_pausing_job_does_not_undo_running(db: Any,
                                                  engine: Any) -> None:
    assert maintenance.set_status('PAUSED', background=False) == 'PAUSED'
    assert maintenance.set_status('RUNNING') == 'RUNNING'
    # A job that ends after RUNNING was set again changes nothing.
    assert maintenance.pause_all() is False
    assert maintenance.get_status() == 'RUNNING'
