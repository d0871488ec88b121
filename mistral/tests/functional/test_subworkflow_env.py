"""The environment of sub-workflows, as upstream Mistral 23.0.0 has it
(each exchange observed on a live upstream), on every backend of the
matrix (SQLite in one process; PostgreSQL and MariaDB with RabbitMQ and
one process per component).

A tree of executions has one environment, the root's ``params.env``:
sub-workflows store ``"env": {}`` in their params and ``env()`` reads the
root's, so an env changed on the paused root (PUT, or a resume with env)
reaches sub-workflows that are already running. An env update merges
nested values.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from mistral.tests.functional.harness import wait_for

WORKFLOWS = """
version: '2.0'
env_child:
  tasks:
    first:
      action: std.echo output=<% env().k %>
      publish:
        a: <% task().result %>
      on-success: [wait]
    wait:
      action: std.async_noop
      on-success: [second]
    second:
      action: std.echo output=<% env().k %>
      publish:
        b: <% task().result %>
    defaults:
      action: std.echo
      publish:
        d: <% task().result %>
  output:
    a: <% $.a %>
    b: <% $.b %>
    d: <% $.d %>
    env: <% env() %>
env_top:
  tasks:
    call:
      workflow: env_child
      publish:
        child: <% task().result %>
  output:
    child: <% $.child %>
    env: <% env() %>
"""

ENV = {'k': 'v1', 'nested': {'x': 1, 'deep': {'p': 1}},
       '__actions': {'std.echo': {'output': 'from-defaults'}}}


def _api(deployment: Any, method: str, path: str, **kwargs: Any
         ) -> tuple[int, Any]:
    r = requests.request(method, deployment.api_url + path, timeout=60,
                         **kwargs)
    return r.status_code, r.json() if r.content else None


def _get(deployment: Any, path: str) -> Any:
    status, body = _api(deployment, 'GET', path)
    assert status == 200, body
    return body


def _define(deployment: Any) -> None:
    status, body = _api(deployment, 'GET', '/workflows/env_top')
    if status == 404:
        status, body = _api(deployment, 'POST', '/workflows',
                            data=WORKFLOWS,
                            headers={'Content-Type': 'text/plain'})
        assert status == 201, body


def _start(deployment: Any) -> tuple[str, dict[str, Any], str]:
    """(root id, child execution, id of the child's waiting action)."""
    _define(deployment)
    status, top = _api(deployment, 'POST', '/executions',
                       json={'workflow_name': 'env_top',
                             'params': {'env': ENV}})
    assert status == 201, top

    def child() -> Any:
        found = _get(deployment, '/executions?root_execution_id=%s'
                     % top['id'])['executions']
        return found[0] if found else None

    sub = wait_for(child, 60, 'the sub-workflow to start')

    def waiting() -> Any:
        for task in _get(deployment, '/executions/%s/tasks'
                         % sub['id'])['tasks']:
            if task['name'] == 'wait':
                aes = _get(deployment, '/tasks/%s/action_executions'
                           % task['id'])['action_executions']
                if aes and aes[0]['state'] == 'RUNNING':
                    return aes[0]['id']
        return None

    return top['id'], sub, wait_for(waiting, 60, 'the async action')


def _complete(deployment: Any, action_id: str) -> None:
    status, body = _api(deployment, 'PUT', '/action_executions/%s'
                        % action_id,
                        json={'state': 'SUCCESS', 'output': '{"r": 1}'})
    assert status == 200, body


def _pause(deployment: Any, ex_id: str, child_id: str) -> None:
    status, body = _api(deployment, 'PUT', '/executions/%s' % ex_id,
                        json={'state': 'PAUSED'})
    assert status == 200 and body['state'] == 'PAUSED', body
    # Sub-workflows pause after their parent.
    wait_for(lambda: _get(deployment, '/executions/%s' % child_id)[
        'state'] == 'PAUSED', 60, 'the sub-workflow to pause')


def _finish(deployment: Any, ex_id: str) -> tuple[dict, dict]:
    def done() -> Any:
        ex = _get(deployment, '/executions/%s' % ex_id)
        return ex if ex['state'] in ('SUCCESS', 'ERROR') else None

    top = wait_for(done, 90, 'the execution to finish')
    assert top['state'] == 'SUCCESS', top['state_info']
    [child] = _get(deployment, '/executions?root_execution_id=%s'
                   % ex_id)['executions']
    return top, _get(deployment, '/executions/%s' % child['id'])


def test_sub_workflows_read_the_roots_env(deployment: Any) -> None:
    ex_id, sub, action = _start(deployment)
    params = json.loads(_get(deployment, '/executions/%s'
                             % sub['id'])['params'])
    assert params['env'] == {}
    assert params['root_execution_id'] == ex_id
    assert json.loads(sub['params'])['env'] == {}  # the list too
    _complete(deployment, action)
    top, child = _finish(deployment, ex_id)
    assert json.loads(top['params'])['env'] == ENV
    assert json.loads(child['params'])['env'] == {}
    out = json.loads(child['output'])
    # env() and the action defaults (__actions) are the root's.
    assert out == {'a': 'v1', 'b': 'v1', 'd': 'from-defaults', 'env': ENV}
    assert json.loads(top['output']) == {'child': out, 'env': ENV}


def test_an_env_put_on_the_paused_root_reaches_running_children(
        deployment: Any) -> None:
    ex_id, sub, action = _start(deployment)
    _pause(deployment, ex_id, sub['id'])
    status, body = _api(deployment, 'PUT', '/executions/%s' % ex_id,
                        json={'params': {'env': {
                            'k': 'v2', 'nested': {'y': 2,
                                                  'deep': {'q': 2}}}}})
    assert status == 200, body
    merged = {'k': 'v2', 'nested': {'x': 1, 'y': 2,
                                    'deep': {'p': 1, 'q': 2}},
              '__actions': ENV['__actions']}
    assert json.loads(body['params'])['env'] == merged
    _complete(deployment, action)
    time.sleep(1)  # nothing may go on while paused
    status, body = _api(deployment, 'PUT', '/executions/%s' % ex_id,
                        json={'state': 'RUNNING'})
    assert status == 200, body
    top, child = _finish(deployment, ex_id)
    out = json.loads(child['output'])
    assert (out['a'], out['b']) == ('v1', 'v2')
    assert out['env'] == merged
    assert json.loads(child['params'])['env'] == {}


def test_a_resume_with_env_reaches_running_children(deployment: Any
                                                    ) -> None:
    ex_id, sub, action = _start(deployment)
    _pause(deployment, ex_id, sub['id'])
    _complete(deployment, action)
    status, body = _api(deployment, 'PUT', '/executions/%s' % ex_id,
                        json={'state': 'RUNNING',
                              'params': {'env': {'k': 'v3'}}})
    assert status == 200, body
    assert json.loads(body['params'])['env']['k'] == 'v3'
    top, child = _finish(deployment, ex_id)
    out = json.loads(child['output'])
    assert (out['a'], out['b']) == ('v1', 'v3')
    assert out['env']['nested'] == ENV['nested']
