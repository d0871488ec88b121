"""Reports and sub-execution trees."""

from __future__ import annotations

from typing import Any

from mistral.db import api as db_api
from mistral.db import models
from mistral.tests.unit.api import conftest as c
from mistral.utils import timeutils


def _tree(app: Any) -> dict[str, str]:
    """parent -> task t1 (SUCCESS) -> child -> task c1 (ERROR)."""
    c.create_wf(app)
    parent = app.post_json('/v2/executions', {'workflow_name': 'wf1'}).json
    t1 = c.add_task(parent['id'], name='t1', results=['a'])
    with db_api.transaction() as session:
        child = models.WorkflowExecution(
            name='wf1', workflow_name='wf1', workflow_id=parent[
                'workflow_id'], workflow_namespace='', state='ERROR',
            task_execution_id=t1, root_execution_id=parent['id'],
            project_id='<default-project>', input={}, output={'o': 1},
            params={'index': 0}, created_at=timeutils.utcnow())
        session.add(child)
        session.flush()
        child_id = child.id
    c1 = c.add_task(child_id, name='c1', state='ERROR', results=['bad'])
    return {'parent': parent['id'], 't1': t1, 'child': child_id, 'c1': c1}


def test_report(app: Any) -> None:
    ids = _tree(app)
    r = app.get('/v2/executions/%s/report' % ids['parent']).json
    assert r['statistics'] == {
        'total_tasks_count': 2, 'running_tasks_count': 0,
        'success_tasks_count': 1, 'error_tasks_count': 1,
        'idle_tasks_count': 0, 'paused_tasks_count': 0,
        'estimated_time': -1}
    root = r['root_workflow_execution']
    assert root['id'] == ids['parent'] and root['name'] == 'wf1'
    [task] = root['task_executions']
    assert task['name'] == 't1' and task['id'] == ids['t1']
    assert [a['name'] for a in task['action_executions']] == ['std.echo']
    assert set(task['action_executions'][0]) == {
        'id', 'name', 'created_at', 'updated_at', 'state', 'state_info',
        'accepted', 'last_heartbeat'}
    [sub] = task['workflow_executions']
    assert sub['id'] == ids['child']
    assert [t['name'] for t in sub['task_executions']] == ['c1']
    r = app.get('/v2/executions/%s/report?statistics_only=true'
                % ids['parent']).json
    assert list(r) == ['statistics']
    r = app.get('/v2/executions/%s/report?max_depth=0' % ids['parent'])
    assert list(r.json) == ['statistics']
    assert r.json['statistics']['total_tasks_count'] == 1
    r = app.get('/v2/executions/%s/report?errors_only=true'
                % ids['parent']).json
    assert r['root_workflow_execution']['task_executions'] == []
    r = app.get('/v2/executions/missing/report', status=404)
    assert r.json['faultcode'] == 'Client'


def test_sub_executions(app: Any) -> None:
    ids = _tree(app)
    r = app.get('/v2/executions/%s/executions' % ids['parent']).json
    assert [e['id'] for e in r['executions']] == [ids['parent'],
                                                  ids['child']]
    assert 'output' not in r['executions'][1]
    r = app.get('/v2/executions/%s/executions?errors_only=true&'
                'include_output=true' % ids['parent']).json
    assert [e['id'] for e in r['executions']] == [ids['child']]
    assert r['executions'][0]['output'] == '{"o": 1}'
    r = app.get('/v2/executions/%s/executions?max_depth=0'
                % ids['parent']).json
    assert [e['id'] for e in r['executions']] == [ids['parent']]
    r = app.get('/v2/tasks/%s/executions' % ids['t1']).json
    assert [e['id'] for e in r['executions']] == [ids['child']]
    r = app.get('/v2/tasks/%s/workflow_executions' % ids['t1']).json
    assert [e['id'] for e in r['executions']] == [ids['child']]
    # As upstream's rows here: no input, params or output.
    assert not {'input', 'params', 'output'} & set(r['executions'][0])
    r = app.get('/v2/tasks/%s/workflow_executions?fields=params'
                % ids['t1']).json
    assert r['executions'][0]['params'] == '{"index": 0}'
    assert app.get('/v2/tasks/%s' % ids['t1']).json['result'] == \
        '{"o": 1}'
    app.get('/v2/executions/missing/executions', status=404)
    app.get('/v2/tasks/missing/executions', status=404)


def test_report_gives_retry_count_of_retried_tasks(app: Any) -> None:
    # Upstream's report entry of a task the retry policy re-ran carries
    # retry_count (its runtime_context's retry_no); other tasks have none.
    ids = _tree(app)
    with db_api.transaction() as session:
        task = session.get(models.TaskExecution, ids['c1'])
        task.runtime_context = {'retry_task_policy': {'retry_no': 2}}
    r = app.get('/v2/executions/%s/report' % ids['parent']).json
    [t1] = r['root_workflow_execution']['task_executions']
    assert 'retry_count' not in t1
    [c1] = t1['workflow_executions'][0]['task_executions']
    assert c1['retry_count'] == 2
    assert list(c1)[:3] == ['action_executions', 'workflow_executions',
                            'retry_count']
