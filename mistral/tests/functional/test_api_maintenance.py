"""Maintenance mode against a real engine and executor, on each backend.

PAUSED pauses the running executions and waits for running tasks to end
(their action results are still accepted meanwhile); RUNNING resumes
them and they finish.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import pytest
import webtest
from oslo_config import cfg

from mistral.api import app as api_app
from mistral.services import maintenance
from mistral.tests.functional.engine import conftest as engine_conftest
from mistral.tests.unit.api.conftest import headers

CONF = cfg.CONF

# The in-process engine and executor, on each backend.
engine_env = engine_conftest.engine_env

ADMIN = headers('adm', 'admin')

WF = '''
version: '2.0'
waits:
  output:
    r: <% $.r %>
  tasks:
    a:
      action: std.async_noop
      on-success: b
    b:
      action: std.echo output=done
      publish:
        r: <% task().result %>
'''


@pytest.fixture
def api(engine_env: Any, monkeypatch: Any) -> Iterator[webtest.TestApp]:
    CONF.set_override('auth_enable', True, group='pecan')
    monkeypatch.setattr(api_app, '_keystone', lambda app: app)
    monkeypatch.setattr(maintenance, 'POLL_INTERVAL', 0.05)
    try:
        yield webtest.TestApp(api_app.setup_app())
    finally:
        maintenance.set_status('RUNNING')
        CONF.clear_override('auth_enable', group='pecan')


def _until(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.05)


def _status(api: Any) -> str:
    return api.get('/maintenance', headers=ADMIN).json['status']


def test_pause_wait_and_resume(api: Any, engine_env: Any) -> None:
    api.post('/v2/workflows', WF, headers={'Content-Type': 'text/plain',
                                           **ADMIN}, status=201)
    ex = api.post_json('/v2/executions', {'workflow_name': 'waits'},
                       headers=ADMIN, status=201).json

    def running_action() -> Any:
        tasks = api.get('/v2/executions/%s/tasks' % ex['id'],
                        headers=ADMIN).json['tasks']
        if not tasks:
            return None
        actions = api.get('/v2/tasks/%s/action_executions' % tasks[0]['id'],
                          headers=ADMIN).json['action_executions']
        return actions[0] if actions and \
            actions[0]['state'] == 'RUNNING' else None

    action = _until(running_action)
    r = api.put_json('/maintenance', {'status': 'PAUSED'}, headers=ADMIN)
    assert r.json['status'] == 'PAUSING'
    _until(lambda: api.get('/v2/executions/%s' % ex['id'], headers=ADMIN)
           .json['state'] == 'PAUSED')
    # Task "a" still runs: pausing goes on, new work is refused.
    time.sleep(0.3)
    assert _status(api) == 'PAUSING'
    api.post_json('/v2/executions', {'workflow_name': 'waits'},
                  headers=ADMIN, status=423)
    # The running action may still deliver its result.
    api.put_json('/v2/action_executions/%s' % action['id'],
                 {'state': 'SUCCESS', 'output': '{"x": 1}'}, headers=ADMIN)
    _until(lambda: _status(api) == 'PAUSED')
    time.sleep(0.3)
    got = api.get('/v2/executions/%s' % ex['id'], headers=ADMIN).json
    assert got['state'] == 'PAUSED'
    assert api.put_json('/maintenance', {'status': 'RUNNING'},
                        headers=ADMIN).json['status'] == 'RUNNING'
    done = engine_env.wait(ex['id'])
    assert done.state == 'SUCCESS', done.state_info
    out = api.get('/v2/executions/%s' % ex['id'], headers=ADMIN).json
    assert json.loads(out['output']) == {'r': 'done'}
    api.delete('/v2/executions/%s' % ex['id'], headers=ADMIN, status=204)
    api.delete('/v2/workflows/waits', headers=ADMIN, status=204)
