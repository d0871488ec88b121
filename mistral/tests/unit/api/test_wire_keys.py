"""Attribute sets of every resource, as upstream Mistral 23 sends them."""

from __future__ import annotations

from typing import Any

from mistral.tests.unit.api import conftest as c
from mistral.tests.unit.api import test_definitions as d

WORKFLOW = {'id', 'name', 'namespace', 'input', 'interface', 'definition',
            'checksum', 'tags', 'scope', 'project_id', 'created_at'}
EXECUTION = {'id', 'workflow_id', 'workflow_name', 'workflow_namespace',
             'description', 'tags', 'params', 'task_execution_id',
             'root_execution_id', 'state', 'state_info', 'input', 'output',
             'created_at', 'updated_at', 'project_id'}
TASK = {'id', 'name', 'type', 'workflow_name', 'workflow_namespace',
        'workflow_id', 'workflow_execution_id', 'tags', 'state',
        'state_info', 'project_id', 'runtime_context', 'published',
        'processed', 'created_at', 'updated_at', 'started_at',
        'finished_at'}
ACTION_EX = {'id', 'workflow_name', 'workflow_namespace',
             'task_execution_id', 'state', 'state_info', 'tags', 'name',
             'description', 'project_id', 'accepted', 'input', 'created_at',
             'updated_at'}
# A new environment shows description and variables only when given.
ENVIRONMENT = {'id', 'name', 'scope', 'project_id', 'created_at'}
WORKBOOK = {'id', 'name', 'namespace', 'definition', 'tags', 'scope',
            'project_id', 'created_at'}
ACTION = {'id', 'name', 'is_system', 'input', 'description', 'tags',
          'definition', 'scope', 'project_id', 'created_at', 'updated_at',
          'namespace'}


def test_keys(app: Any) -> None:
    wf = c.create_wf(app).json['workflows'][0]
    assert set(wf) == WORKFLOW
    assert set(app.get('/v2/workflows/wf1').json) == WORKFLOW | {
        'updated_at'}
    assert set(app.get('/v2/workflows').json['workflows'][0]) == \
        WORKFLOW | {'updated_at'}

    ex = app.post_json('/v2/executions', {'workflow_name': 'wf1'}).json
    assert set(ex) == EXECUTION
    assert set(app.get('/v2/executions/' + ex['id']).json) == \
        EXECUTION | {'published_global'}
    assert set(app.get('/v2/executions').json['executions'][0]) == \
        EXECUTION - {'output'}

    task_id = c.add_task(ex['id'], results=['x'])
    assert set(app.get('/v2/tasks').json['tasks'][0]) == TASK
    assert set(app.get('/v2/tasks/' + task_id).json) == TASK | {'result'}

    aex = app.get('/v2/tasks/%s/action_executions' % task_id).json[
        'action_executions'][0]
    assert set(aex) == ACTION_EX
    assert set(app.get('/v2/action_executions/' + aex['id']).json) == \
        ACTION_EX | {'output'}
    transient = app.post_json('/v2/action_executions', {
        'name': 'std.echo', 'input': {'output': 1}}).json
    assert set(transient) == ACTION_EX | {'output'}

    env = app.post_json('/v2/environments', {'name': 'e'}).json
    assert set(env) == ENVIRONMENT
    assert set(app.get('/v2/environments/e').json) == ENVIRONMENT | {
        'description', 'variables', 'updated_at'}
    env = app.post_json('/v2/environments', {
        'name': 'e2', 'description': 'd', 'variables': {'a': 1}}).json
    assert set(env) == ENVIRONMENT | {'description', 'variables'}

    wb = app.post('/v2/workbooks', d.WB).json
    assert set(wb) == WORKBOOK
    assert set(app.get('/v2/workbooks/wb1').json) == WORKBOOK | {
        'updated_at'}

    assert set(app.get('/v2/actions/wb1.act1').json) == ACTION
    assert set(app.get('/v2/actions/std.echo').json) == ACTION
