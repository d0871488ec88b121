"""mistral-server's API starts workflows itself (``[api] start_workflows``).

PostgreSQL and RabbitMQ; the API and an executor run in their own
processes and there is no engine process at all. ``POST /v2/executions``
still starts a workflow whose actions run on the executor: the API runs
the engine's start in its own transaction and sends the first action to
the executor, which claims it, applies its result and runs the rest. The
answer is the engine's, errors included. With ``start_workflows =
engine`` the same API asks an engine over RPC, so without one it answers
503 once ``rpc_response_timeout`` has passed (the RPC path in detail:
test_api_rpc_bounded).
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import requests
import sqlalchemy as sa

from mistral.tests.functional.harness import Deployment
from mistral.tests.functional.harness import wait_for

pytestmark = pytest.mark.functional

WF = """
version: '2.0'
started_by_api:
  input: [x]
  output:
    r: <% $.r %>
  tasks:
    first:
      action: std.sleep seconds=0
      on-success: [second]
    second:
      action: std.echo output=<% $.x %>
      publish:
        r: <% task().result %>
"""
TEXT = {'Content-Type': 'text/plain'}


@pytest.fixture(scope='module')
def dep() -> Iterator[Deployment]:
    # std.echo goes to the executor too: every action crosses the broker
    # or is adopted by the executor, none runs in the API's transaction.
    with Deployment(db='postgresql', transport='rabbit',
                    processes=[['api'], ['executor']],
                    conf_overrides={
                        'DEFAULT': {'rpc_response_timeout': 3},
                        'engine': {'inline_builtin_actions': False}}) as d:
        r = requests.post(d.api_url + '/workflows', data=WF, headers=TEXT,
                          timeout=60)
        assert r.status_code == 201, r.text
        yield d


def _execution(dep: Deployment, ex_id: str) -> dict[str, Any]:
    r = requests.get(dep.api_url + '/executions/' + ex_id, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_api_starts_a_workflow_with_no_engine_process(dep: Deployment
                                                          ) -> None:
    r = requests.post(dep.api_url + '/executions', timeout=60, json={
        'workflow_name': 'started_by_api', 'input': '{"x": "hello"}',
        'description': 'no engine'})
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer['state'] == 'RUNNING'
    assert answer['workflow_name'] == 'started_by_api'
    assert answer['description'] == 'no engine'
    assert answer['input'] == '{"x": "hello"}'
    ex_id = answer['id']

    wait_for(lambda: _execution(dep, ex_id)['state'] == 'SUCCESS', 60,
             'the execution to succeed', logs=dep.logs)
    assert _execution(dep, ex_id)['output'] == '{"r": "hello"}'
    db = sa.create_engine(dep.db_url, poolclass=sa.pool.NullPool)
    try:
        with db.connect() as c:
            ran_by = c.execute(sa.text(
                'SELECT t.name, a.executor_id FROM action_executions_v2 a '
                'JOIN task_executions_v2 t ON t.id = a.task_execution_id '
                'WHERE t.workflow_execution_id = :wf ORDER BY t.name'),
                {'wf': ex_id}).all()
    finally:
        db.dispose()
    # The harness names each process's host after its index: the
    # executor is p1.
    assert [name for name, _ in ran_by] == ['first', 'second']
    assert all(by and by.endswith('@p1') for _, by in ran_by), ran_by


def test_a_start_that_fails_answers_as_the_engine_would(dep: Deployment
                                                        ) -> None:
    r = requests.post(dep.api_url + '/executions', timeout=60,
                      json={'workflow_name': 'no_such_workflow'})
    assert r.status_code == 404, r.text
    assert 'no_such_workflow' in r.json()['faultstring']
    r = requests.post(dep.api_url + '/executions', timeout=60, json={
        'workflow_name': 'started_by_api', 'input': '{"y": 1}'})
    assert r.status_code == 400, r.text
    assert 'Traceback' not in r.text


def test_start_workflows_engine_asks_an_engine(dep: Deployment) -> None:
    with Deployment(db='postgresql', transport='rabbit',
                    processes=[['api']],
                    conf_overrides={
                        'DEFAULT': {'rpc_response_timeout': 3},
                        'api': {'start_workflows': 'engine'}}) as alone:
        r = requests.post(alone.api_url + '/workflows', data=WF,
                          headers=TEXT, timeout=60)
        assert r.status_code == 201, r.text
        r = requests.post(alone.api_url + '/executions', timeout=60, json={
            'workflow_name': 'started_by_api', 'input': '{"x": 1}'})
        assert r.status_code == 503, r.text
        assert 'The request took longer than 3 seconds' in \
            r.json()['faultstring']
