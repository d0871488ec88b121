"""What starting and changing an execution answers, and in which namespace
sub-workflows run: as upstream Mistral 23.0.0 does, on every backend of the
matrix (SQLite in one process; PostgreSQL and MariaDB with RabbitMQ and one
process per component).

Upstream runs actions only after the start transaction commits, so
POST /v2/executions always answers the execution as it was once started:
RUNNING, no output. Ours runs std.echo/std.noop inside that transaction;
the answer must still be the execution as started.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests

WORKFLOWS = """
version: '2.0'
answers_inline:
  input: [a, b: 2]
  output: {r: <% $.r %>}
  tasks:
    t1:
      action: std.echo output=<% $.a %>
      publish: {r: <% task().result %>}
      on-success: t2
    t2:
      action: std.noop
answers_paused:
  output: {r: <% $.r %>}
  tasks:
    t1:
      action: std.echo output=one
      pause-before: true
      publish: {r: <% task().result %>}
answers_async:
  tasks:
    t1:
      action: std.async_noop
answers_failing:
  tasks:
    t1:
      action: std.fail
"""


def _api(deployment: Any, method: str, path: str, **kwargs: Any
         ) -> tuple[int, Any]:
    r = requests.request(method, deployment.api_url + path, timeout=60,
                         **kwargs)
    return r.status_code, r.json() if r.content else None


def _start(deployment: Any, name: str, **body: Any) -> tuple[int, Any]:
    return _api(deployment, 'POST', '/executions',
                json={'workflow_name': name, **body})


def _put_state(deployment: Any, ex_id: str, state: str
               ) -> tuple[int, Any]:
    return _api(deployment, 'PUT', '/executions/%s' % ex_id,
                json={'state': state})


def _wait_task(deployment: Any, ex_id: str, name: str, state: str
               ) -> None:
    client = deployment.client()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [t for t in client.tasks.list(workflow_execution_id=ex_id)
                 if t.name == name]
        if found and found[-1].state == state:
            return
        time.sleep(0.1)
    raise AssertionError('task %s of %s never %s' % (name, ex_id, state))


def _define(deployment: Any) -> None:
    client = deployment.client()
    if not [w for w in client.workflows.list() if w.name == 'answers_inline']:
        client.workflows.create(WORKFLOWS)


def test_start_answers_the_execution_as_started(deployment: Any) -> None:
    _define(deployment)
    code, ex = _start(deployment, 'answers_inline',
                      input=json.dumps({'a': 'x'}))
    assert code == 201, ex
    # Its actions run inline and may have finished it already: the answer
    # is the execution as it was once started.
    assert ex['state'] == 'RUNNING'
    assert ex['output'] == '{}'
    assert ex['state_info'] is None
    assert ex['task_execution_id'] is None
    assert ex['root_execution_id'] is None
    assert json.loads(ex['input']) == {'a': 'x', 'b': 2}
    # Upstream's order of the keys: namespace first, then the env.
    assert list(json.loads(ex['params'])) == ['namespace', 'env']
    assert json.loads(ex['params']) == {'namespace': '', 'env': {}}
    assert ex['updated_at'] and ex['created_at']
    done = deployment.wait_execution(ex['id'])
    assert done.state == 'SUCCESS', done.state_info
    assert json.loads(done.output) == {'r': 'x'}

    # An env given comes first: it was in params before the namespace.
    code, ex = _start(deployment, 'answers_inline',
                      input=json.dumps({'a': 'y'}),
                      params=json.dumps({'env': {'k': 'v'}}))
    assert code == 201, ex
    assert (ex['state'], ex['output']) == ('RUNNING', '{}')
    assert list(json.loads(ex['params'])) == ['env', 'namespace']

    # A start based on another execution answers the same way.
    code, again = _api(deployment, 'POST', '/executions',
                       json={'source_execution_id': ex['id'],
                             'description': 'again'})
    assert code == 201, again
    assert (again['state'], again['output']) == ('RUNNING', '{}')
    assert again['description'] == (
        "again Based on the execution '%s'" % ex['id'])
    assert deployment.wait_execution(again['id']).state == 'SUCCESS'


def test_pause_before_and_resume_answer_running(deployment: Any) -> None:
    _define(deployment)
    code, ex = _start(deployment, 'answers_paused')
    assert code == 201, ex
    # pause-before holds the first task later on: the start answers
    # RUNNING, as upstream's does.
    assert (ex['state'], ex['output']) == ('RUNNING', '{}')
    deployment.wait_execution(ex['id'], states=('PAUSED',))
    code, resumed = _put_state(deployment, ex['id'], 'RUNNING')
    assert code == 200, resumed
    # The resume answers the execution as resumed, before its task ran.
    assert (resumed['state'], resumed['output']) == ('RUNNING', '{}')
    done = deployment.wait_execution(ex['id'])
    assert done.state == 'SUCCESS', done.state_info
    assert json.loads(done.output) == {'r': 'one'}


def test_state_changes_of_finished_executions_change_nothing(
        deployment: Any) -> None:
    _define(deployment)
    _, ok = _start(deployment, 'answers_inline', input=json.dumps({'a': 1}))
    assert deployment.wait_execution(ok['id']).state == 'SUCCESS'
    for target in ('ERROR', 'CANCELLED', 'RUNNING', 'SUCCESS'):
        code, got = _put_state(deployment, ok['id'], target)
        assert code == 200, (target, got)
        assert got['state'] == 'SUCCESS', target
        assert json.loads(got['output']) == {'r': 1}
    # A finished execution cannot pause (as upstream: 400).
    code, got = _put_state(deployment, ok['id'], 'PAUSED')
    assert code == 400 and 'SUCCESS to PAUSED' in got['faultstring']

    _, failed = _start(deployment, 'answers_failing')
    assert deployment.wait_execution(failed['id']).state == 'ERROR'
    for target in ('CANCELLED', 'RUNNING', 'ERROR'):
        code, got = _put_state(deployment, failed['id'], target)
        assert (code, got['state']) == (200, 'ERROR'), (target, got)
    code, got = _put_state(deployment, failed['id'], 'SUCCESS')
    assert code == 400, got

    _, cancelled = _start(deployment, 'answers_async')
    _wait_task(deployment, cancelled['id'], 't1', 'RUNNING')
    code, got = _put_state(deployment, cancelled['id'], 'CANCELLED')
    assert (code, got['state']) == (200, 'CANCELLED'), got
    # A cancelled execution does not go back to RUNNING.
    for target in ('RUNNING', 'ERROR'):
        code, got = _put_state(deployment, cancelled['id'], target)
        assert (code, got['state']) == (200, 'CANCELLED'), (target, got)
    code, got = _api(deployment, 'GET', '/executions/%s' % cancelled['id'])
    assert got['state'] == 'CANCELLED'


NS_TOP = """
version: '2.0'
ns_top:
  output: {mid: <% $.mid %>}
  tasks:
    call:
      workflow: ns_mid
      publish: {mid: <% task().result %>}
ns_low:
  output: {who: started namespace}
  tasks:
    t: {action: std.noop}
"""

NS_DEFAULT = """
version: '2.0'
ns_mid:
  output: {low: <% $.low %>}
  tasks:
    call:
      workflow: ns_low
      publish: {low: <% task().result %>}
ns_low:
  output: {who: default namespace}
  tasks:
    t: {action: std.noop}
ns_only_default:
  tasks:
    t: {action: std.noop}
"""


def _children(client: Any, ex_id: str) -> list[Any]:
    [task] = client.tasks.list(workflow_execution_id=ex_id)
    return client.executions.list(task=task.id)


def test_sub_workflows_run_in_the_namespace_asked_for(
        deployment: Any) -> None:
    client = deployment.client()
    ns = 'answers_abc'
    client.workflows.create(NS_TOP, namespace=ns)
    client.workflows.create(NS_DEFAULT)
    code, top = _start(deployment, 'ns_top', workflow_namespace=ns)
    assert code == 201, top
    assert top['workflow_namespace'] == ns
    assert json.loads(top['params'])['namespace'] == ns
    done = deployment.wait_execution(top['id'])
    assert done.state == 'SUCCESS', done.state_info
    # The lowest level runs the definition of the namespace asked for,
    # although its parent's definition is in the default namespace.
    assert json.loads(done.output) == {
        'mid': {'low': {'who': 'started namespace'}}}
    [mid] = _children(client, top['id'])
    assert mid.workflow_namespace == ''
    assert json.loads(mid.params)['namespace'] == ns
    [low] = _children(client, mid.id)
    assert low.workflow_namespace == ns
    assert json.loads(low.params)['namespace'] == ns
    # The params of a sub-workflow in upstream's order.
    assert list(json.loads(low.params)) == [
        'root_execution_id', 'task_execution_id', 'index', 'namespace',
        'env']


def test_a_started_workflow_is_looked_up_in_its_namespace_only(
        deployment: Any) -> None:
    client = deployment.client()
    client.workflows.create(NS_DEFAULT.replace('ns_', 'ns2_'))
    code, got = _start(deployment, 'ns2_only_default',
                       workflow_namespace='answers_other')
    assert code == 404, got
    assert 'Workflow not found' in got['faultstring']
    # A namespace in params only is not where the workflow is looked up:
    # it is kept as the namespace of the tree.
    code, got = _start(deployment, 'ns2_only_default',
                       params=json.dumps({'namespace': 'answers_other'}))
    assert code == 201, got
    assert got['workflow_namespace'] == ''
    assert json.loads(got['params'])['namespace'] == 'answers_other'
    # By id, any namespace asked for is the namespace of the tree.
    [wf] = [w for w in client.workflows.list()
            if w.name == 'ns2_only_default']
    code, got = _api(deployment, 'POST', '/executions',
                     json={'workflow_id': wf.id,
                           'workflow_namespace': 'answers_other'})
    assert code == 201, got
    assert json.loads(got['params'])['namespace'] == 'answers_other'
    code, got = _api(deployment, 'POST', '/executions',
                     json={'workflow_id': wf.id})
    assert code == 201, got
    assert json.loads(got['params'])['namespace'] == ''
