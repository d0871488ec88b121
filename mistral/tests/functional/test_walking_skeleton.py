"""A workflow end to end through separate processes, driven by the
unmodified python-mistralclient (Python API and CLI).

Deployments: api, engine and executor as separate OS processes on RabbitMQ
with PostgreSQL and with MariaDB, and the embedded ``all`` process on SQLite
with the in-memory transport.
"""

from __future__ import annotations

import json
import os
import tempfile

import pytest
import requests
from mistralclient.api import base as client_base

from mistral.tests.functional import harness

HELLO = """---
version: '2.0'

hello:
  input:
    - name
    - greeting: Hello
  output:
    msg: <% $.msg %>
  vars:
    counter: 0
  tasks:
    say:
      action: std.echo output="<% $.greeting %>, <% $.name %>"
      publish:
        msg: <% task().result %>
      on-success:
        - done
    done:
      action: std.noop
"""

FAILING = """---
version: '2.0'
failing:
  tasks:
    boom:
      action: std.fail error_data="bad thing"
"""

DEPLOYMENTS = {
    'postgresql-rabbit': dict(db='postgresql', transport='rabbit',
                              processes=[['api'], ['engine'], ['executor']]),
    'mariadb-rabbit': dict(db='mysql', transport='rabbit',
                           processes=[['api'], ['engine'], ['executor']]),
    'sqlite-embedded': dict(db='sqlite', transport='fake',
                            processes=[['all']]),
}


@pytest.fixture(scope='module', params=sorted(DEPLOYMENTS))
def dep(request):
    with harness.Deployment(**DEPLOYMENTS[request.param]) as d:
        d.client().workflows.create(HELLO + FAILING.split('---')[1]
                                    .replace("version: '2.0'\n", ''))
        yield d


def test_python_client_runs_a_workflow(dep):
    client = dep.client()
    wf = client.workflows.get('hello')
    assert wf.name == 'hello'
    assert wf.input == 'name, greeting="Hello"'
    assert [w.name for w in client.workflows.list()] == ['hello', 'failing']

    ex = client.executions.create('hello', workflow_input={'name': 'Bob'},
                                  description='from the client')
    assert ex.state in ('RUNNING', 'SUCCESS')
    assert ex.description == 'from the client'
    ex = dep.wait_execution(ex.id)
    assert ex.state == 'SUCCESS', ex.state_info
    assert json.loads(ex.output) == {'msg': 'Hello, Bob'}
    assert json.loads(ex.input) == {'name': 'Bob', 'greeting': 'Hello'}

    tasks = client.tasks.list(workflow_execution_id=ex.id)
    assert sorted((t.name, t.state) for t in tasks) == [
        ('done', 'SUCCESS'), ('say', 'SUCCESS')]
    say = [t for t in tasks if t.name == 'say'][0]
    say = client.tasks.get(say.id)
    assert json.loads(say.result) == 'Hello, Bob'
    assert json.loads(say.published) == {'msg': 'Hello, Bob'}
    [action] = client.action_executions.list(say.id)
    assert action.name == 'std.echo' and action.state == 'SUCCESS'

    ex = client.executions.create('failing')
    ex = dep.wait_execution(ex.id)
    assert ex.state == 'ERROR'
    assert ex.state_info.startswith('Failure caused by error in tasks: boom')


def test_cli_runs_a_workflow(dep):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'cli_hello.yaml')
        with open(path, 'w') as f:
            f.write(HELLO.replace('hello:', 'cli_hello:'))
        out = dep.cli('workflow-create', path, '-f', 'json').stdout
    assert json.loads(out)[0]['Name'] == 'cli_hello'

    out = dep.cli('execution-create', 'cli_hello', '{"name": "CLI"}',
                  '-f', 'json').stdout
    ex_id = json.loads(out)['ID']
    dep.wait_execution(ex_id)
    got = json.loads(dep.cli('execution-get', ex_id, '-f', 'json').stdout)
    assert got['State'] == 'SUCCESS'
    output = dep.cli('execution-get-output', ex_id).stdout
    assert json.loads(output) == {'msg': 'Hello, CLI'}
    tasks = json.loads(dep.cli('task-list', ex_id, '-f', 'json').stdout)
    assert sorted(t['Name'] for t in tasks) == ['done', 'say']
    assert {t['State'] for t in tasks} == {'SUCCESS'}


def _count(dep, path: str, key: str) -> int:
    return len(requests.get(dep.api_url + path, timeout=10).json()[key])


def test_bad_input_is_a_clear_4xx_and_changes_nothing(dep):
    client = dep.client()
    before = (_count(dep, '/workflows', 'workflows'),
              _count(dep, '/executions', 'executions'))

    r = requests.post(dep.api_url + '/workflows', data='version: 2.0\n'
                      'wf: {tasks: [unclosed', timeout=10,
                      headers={'Content-Type': 'text/plain'})
    assert r.status_code == 400
    assert 'faultstring' in r.json() and r.json()['faultstring']

    with pytest.raises(client_base.APIException) as e:
        client.executions.create('no_such_workflow')
    assert 400 <= e.value.error_code < 500
    assert 'no_such_workflow' in e.value.error_message

    with pytest.raises(client_base.APIException) as e:
        client.executions.create('hello', workflow_input={'nom': 'x'})
    assert e.value.error_code == 400
    assert 'name' in e.value.error_message
    assert 'nom' in e.value.error_message

    r = requests.post(dep.api_url + '/executions', timeout=10,
                      json={'workflow_name': 'hello', 'input': [1, 2]})
    assert r.status_code == 400
    body = r.json()
    assert body['faultstring'] and 'Traceback' not in body['faultstring']

    r = requests.post(dep.api_url + '/executions', timeout=10,
                      json={'workflow_name': 'hello', 'bogus': 1})
    assert r.status_code == 400

    after = (_count(dep, '/workflows', 'workflows'),
             _count(dep, '/executions', 'executions'))
    assert after == before
