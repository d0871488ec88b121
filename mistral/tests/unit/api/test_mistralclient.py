"""The unmodified python-mistralclient against an in-thread ApiServer."""

from __future__ import annotations

from typing import Any

import pytest
from mistralclient.api import base as client_base
from mistralclient.api import client as mistral_client

from mistral.api import service
from mistral.tests.unit.api import conftest as c


@pytest.fixture
def client(db: Any, engine: Any) -> Any:
    server = service.ApiServer(host='127.0.0.1', port=0, threads=4)
    server.start()
    try:
        yield mistral_client.client(mistral_url=server.url + '/v2')
    finally:
        server.stop()


def test_workflow_lifecycle(client: Any, tmp_path: Any) -> None:
    path = tmp_path / 'wf.yaml'
    path.write_text(c.WF)
    created = client.workflows.create(c.WF)
    assert [w.name for w in created] == ['wf1']
    assert created[0].input == 'name, greeting="Hello"'
    wf = client.workflows.get('wf1')
    assert wf.id == created[0].id
    assert wf.definition == c.WF
    listed = client.workflows.list()
    assert [w.name for w in listed] == ['wf1']
    assert client.workflows.validate(c.WF) == {'valid': True}
    bad = client.workflows.validate('version: "2.0"\nwf: {tasks: {}}')
    assert bad['valid'] is False and bad['error']
    updated = client.workflows.update(c.WF.replace('sample', 'changed'))
    assert updated[0].id == wf.id
    client.workflows.delete('wf1')
    assert client.workflows.list() == []


def test_errors_reach_the_client(client: Any) -> None:
    with pytest.raises(client_base.APIException) as err:
        client.executions.get('missing')
    assert err.value.error_code == 404
    assert 'WorkflowExecution not found [id=missing]' in \
        err.value.error_message
    client.workflows.create(c.WF)
    with pytest.raises(client_base.APIException) as err:
        client.workflows.create(c.WF)
    assert err.value.error_code == 409
    assert 'Duplicate entry for WorkflowDefinition' in \
        err.value.error_message


def test_execution_flow(client: Any, engine: Any) -> None:
    client.workflows.create(c.WF)
    ex = client.executions.create('wf1', workflow_input={'name': 'Bob'},
                                  description='d1', env={'k': 'v'})
    assert ex.state == 'RUNNING'
    assert ex.workflow_name == 'wf1'
    call = engine.calls[-1]
    assert call[0] == 'start_workflow'
    assert call[2]['wf_input'] == {'name': 'Bob'}
    assert call[2]['params']['env'] == {'k': 'v'}
    got = client.executions.get(ex.id)
    assert got.input == '{"name": "Bob"}'
    listed = client.executions.list()
    assert [e.id for e in listed] == [ex.id]
    paused = client.executions.update(ex.id, 'PAUSED')
    assert paused.state == 'PAUSED'
    resumed = client.executions.update(ex.id, 'RUNNING')
    assert resumed.state == 'RUNNING'
    described = client.executions.update(ex.id, None, description='new')
    assert described.description == 'new'
    task_id = c.add_task(ex.id, results=['Hello, Bob'])
    tasks = client.tasks.list(workflow_execution_id=ex.id)
    assert [t.id for t in tasks] == [task_id]
    task = client.tasks.get(task_id)
    assert task.result == '"Hello, Bob"'
    aexs = client.action_executions.list(task_execution_id=task_id)
    assert [a.name for a in aexs] == ['std.echo']
    stopped = client.executions.update(ex.id, 'CANCELLED')
    assert stopped.state == 'CANCELLED'
    client.executions.delete(ex.id)
    assert client.executions.list() == []
    assert client.tasks.list() == []


def test_run_action(client: Any, engine: Any) -> None:
    transient = client.action_executions.create(
        'std.echo', {'output': 'hi'})
    assert transient.id is None
    assert transient.output == '{"result": "hi"}'
    saved = client.action_executions.create(
        'std.echo', {'output': 'hi'}, save_result=True)
    assert saved.state == 'RUNNING'
    done = client.action_executions.update(saved.id, state='SUCCESS',
                                           output={'x': 1})
    assert done.state == 'SUCCESS'
    assert engine.calls[-1] == ('on_action_complete', (saved.id,),
                                {'result': {'data': {'x': 1}}})
    got = client.action_executions.get(saved.id)
    assert got.output == '{"result": {"x": 1}}'


def test_definitions_through_the_client(client: Any, tmp_path: Any
                                        ) -> None:
    from mistral.tests.unit.api import test_definitions as d

    wb = client.workbooks.create(d.WB)
    assert wb.name == 'wb1'
    assert client.workbooks.get('wb1').definition == d.WB
    assert [w.name for w in client.workbooks.list()] == ['wb1']
    assert client.workbooks.validate(d.WB) == {'valid': True}
    client.workbooks.update(d.WB)
    actions = client.actions.create(d.ACTIONS)
    assert [a.name for a in actions] == ['my_echo']
    assert client.actions.get('my_echo').input == 'text, flag=true'
    assert client.actions.get('std.echo').name == 'std.echo'
    names = [a.name for a in client.actions.list()]
    assert 'std.echo' in names and 'my_echo' in names and \
        'wb1.act1' in names
    client.actions.delete('my_echo')
    client.workbooks.delete('wb1')
    env = client.environments.create(name='env1', description='e',
                                     variables={'a': 1})
    assert env.variables == {'a': 1}
    got = client.environments.get('env1')
    assert got.description == 'e'
    client.environments.update(name='env1', variables={'b': 2})
    assert [e.name for e in client.environments.list()] == ['env1']
    client.environments.delete('env1')
    assert client.environments.list() == []


def test_report_through_the_client(client: Any) -> None:
    client.workflows.create(c.WF)
    ex = client.executions.create('wf1', workflow_input={'name': 'x'})
    c.add_task(ex.id, results=['r'])
    report = client.executions.get_report(ex.id)
    assert report['statistics']['total_tasks_count'] == 1
    subs = client.executions.get_ex_sub_executions(ex.id)
    assert [s.id for s in subs] == [ex.id]
