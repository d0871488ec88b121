"""What ``PUT /v2/tasks/<id>`` answers to a rerun, on every backend of the
matrix (SQLite in one process; PostgreSQL and MariaDB with RabbitMQ and
one process per component).

Upstream Mistral 23.0.0's rerun only schedules the task's start (a
message sent after its transaction), and its answer is the task reloaded
right away: as it was before the rerun, ``ERROR`` with its old
``state_info`` and result (observed on a live upstream, also for tasks
whose rerun runs only ``std.noop``). Ours starts the task in the rerun's
transaction, where inline actions may finish it; the answer must still
be upstream's. A skip answers the task skipped, as upstream.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from mistral.tests.functional.harness import wait_for

WORKFLOWS = """
version: '2.0'
rerun_answer_one:
  tasks:
    t:
      action: <% env().get(act, 'std.fail') %>
rerun_answer_items:
  tasks:
    t:
      with-items: i in [1, 2]
      action: <% env().get(act, 'std.fail') %>
"""


def _api(deployment: Any, method: str, path: str, **kwargs: Any
         ) -> tuple[int, Any]:
    r = requests.request(method, deployment.api_url + path, timeout=60,
                         **kwargs)
    return r.status_code, r.json() if r.content else None


def _failed_task(deployment: Any, name: str) -> tuple[str, dict]:
    status, body = _api(deployment, 'GET', '/workflows/%s' % name)
    if status == 404:
        status, body = _api(deployment, 'POST', '/workflows',
                            data=WORKFLOWS,
                            headers={'Content-Type': 'text/plain'})
        assert status == 201, body
    status, ex = _api(deployment, 'POST', '/executions',
                      json={'workflow_name': name})
    assert status == 201, ex

    def failed() -> bool:
        return _api(deployment, 'GET', '/executions/%s' % ex['id'])[1][
            'state'] == 'ERROR'

    wait_for(failed, 60, 'the execution to fail')
    [task] = _api(deployment, 'GET', '/executions/%s/tasks'
                  % ex['id'])[1]['tasks']
    return ex['id'], _api(deployment, 'GET', '/tasks/%s' % task['id'])[1]


def _wait_success(deployment: Any, ex_id: str, task_id: str) -> dict:
    def done() -> Any:
        ex = _api(deployment, 'GET', '/executions/%s' % ex_id)[1]
        return ex if ex['state'] in ('SUCCESS', 'ERROR') else None

    assert wait_for(done, 60, 'the rerun to finish')['state'] == 'SUCCESS'
    return _api(deployment, 'GET', '/tasks/%s' % task_id)[1]


def test_rerun_answers_the_task_as_before(deployment: Any) -> None:
    for name, reset, final in (('rerun_answer_one', True, None),
                               ('rerun_answer_items', True, [None, None]),
                               ('rerun_answer_items', False,
                                [None, None])):
        ex_id, before = _failed_task(deployment, name)
        assert before['state'] == 'ERROR'
        status, answer = _api(deployment, 'PUT', '/tasks/%s' % before['id'],
                              json={'state': 'RUNNING', 'reset': reset,
                                    'env': {'act': 'std.noop'}})
        assert status == 200, answer
        for key in ('state', 'state_info', 'result', 'published',
                    'processed', 'finished_at', 'runtime_context'):
            assert answer[key] == before[key], key
        after = _wait_success(deployment, ex_id, before['id'])
        assert after['state'] == 'SUCCESS'
        assert json.loads(after['result']) == final


def test_skip_answers_the_task_skipped(deployment: Any) -> None:
    ex_id, before = _failed_task(deployment, 'rerun_answer_one')
    status, answer = _api(deployment, 'PUT', '/tasks/%s' % before['id'],
                          json={'state': 'SKIPPED'})
    assert status == 200, answer
    assert answer['state'] == 'SKIPPED'
    assert answer['state_info'] == 'Task was skipped.'
    assert answer['result'] == before['result']
