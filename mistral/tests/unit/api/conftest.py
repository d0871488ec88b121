"""Fixtures: a real SQLite database, the API app and a fake engine."""

from __future__ import annotations

import datetime
import os
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
import webtest
from oslo_config import cfg

from mistral import config  # noqa: F401  (registers the options)
from mistral import exceptions as exc
from mistral.api import app as api_app
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.rpc import clients
from mistral.utils import timeutils

CONF = cfg.CONF

WF = """---
version: '2.0'

wf1:
  description: sample
  tags: [t1]
  input:
    - name
    - greeting: Hello
  output:
    msg: <% $.msg %>
  tasks:
    t1:
      action: std.echo output="<% $.greeting %>, <% $.name %>"
      publish:
        msg: <% task().result %>
"""


def _wire(value: Any) -> Any:
    return timeutils.to_wire(value) if isinstance(
        value, datetime.datetime) else value


class FakeEngine:
    """Records calls and writes rows the way the engine would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def _wf_dict(self, session: Any, wf_ex_id: str) -> dict[str, Any]:
        row = session.get(models.WorkflowExecution, wf_ex_id)
        cols = ('id', 'name', 'description', 'workflow_name',
                'workflow_namespace', 'workflow_id', 'state', 'state_info',
                'tags', 'input', 'output', 'params', 'task_execution_id',
                'root_execution_id', 'project_id', 'scope', 'created_at',
                'updated_at')
        return {c: _wire(getattr(row, c)) for c in cols}

    def start_workflow(self, ctx: MistralContext, wf_identifier: str,
                       wf_namespace: str = '', wf_ex_id: str | None = None,
                       wf_input: dict | None = None, description: str = '',
                       **params: Any) -> dict[str, Any]:
        self.calls.append(('start_workflow', (wf_identifier,), dict(
            wf_namespace=wf_namespace, wf_ex_id=wf_ex_id, wf_input=wf_input,
            description=description, params=params)))
        with db_api.transaction() as session:
            wf = session.execute(sa.select(models.WorkflowDefinition).where(
                sa.or_(models.WorkflowDefinition.id == wf_identifier,
                       models.WorkflowDefinition.name == wf_identifier))
            ).scalar()
            if wf is None:
                raise exc.DBEntityNotFoundError(
                    'Workflow not found [workflow_identifier=%s, '
                    'namespace=%s]' % (wf_identifier, wf_namespace))
            now = timeutils.utcnow()
            params = dict(params)
            params.setdefault('namespace', wf_namespace)
            params.setdefault('env', {})
            row = models.WorkflowExecution(
                id=wf_ex_id or str(uuid.uuid4()), name=wf.name,
                workflow_name=wf.name, workflow_id=wf.id,
                workflow_namespace=wf.namespace, description=description,
                state='RUNNING', tags=wf.tags, input=wf_input or {},
                output={}, params=params, project_id=ctx.project_id,
                spec=wf.spec, context={}, created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            return self._wf_dict(session, row.id)

    def _set_state(self, wf_ex_id: str, state: str) -> dict[str, Any]:
        with db_api.transaction() as session:
            row = session.get(models.WorkflowExecution, wf_ex_id)
            row.state = state
            session.flush()
            return self._wf_dict(session, wf_ex_id)

    def pause_workflow(self, ctx: Any, wf_ex_id: str) -> dict[str, Any]:
        self.calls.append(('pause_workflow', (wf_ex_id,), {}))
        return self._set_state(wf_ex_id, 'PAUSED')

    def resume_workflow(self, ctx: Any, wf_ex_id: str,
                        env: dict | None = None) -> dict[str, Any]:
        self.calls.append(('resume_workflow', (wf_ex_id,), {'env': env}))
        return self._set_state(wf_ex_id, 'RUNNING')

    def stop_workflow(self, ctx: Any, wf_ex_id: str, state: str,
                      message: str | None = None) -> dict[str, Any]:
        self.calls.append(('stop_workflow', (wf_ex_id, state),
                           {'message': message}))
        return self._set_state(wf_ex_id, state)

    def rerun_workflow(self, ctx: Any, task_ex_id: str, reset: bool = True,
                       skip: bool = False, env: dict | None = None
                       ) -> dict[str, Any]:
        self.calls.append(('rerun_workflow', (task_ex_id,),
                           {'reset': reset, 'skip': skip, 'env': env}))
        with db_api.transaction() as session:
            task = session.get(models.TaskExecution, task_ex_id)
            task.state = 'SKIPPED' if skip else 'RUNNING'
            session.flush()
            return self._wf_dict(session, task.workflow_execution_id)

    def start_action(self, ctx: Any, action_name: str,
                     action_input: dict | None = None,
                     description: str = '', namespace: str = '',
                     **params: Any) -> dict[str, Any]:
        self.calls.append(('start_action', (action_name,), dict(
            action_input=action_input, description=description,
            namespace=namespace, params=params)))
        if not params.get('save_result'):
            return {'id': None, 'name': action_name, 'state': 'SUCCESS',
                    'workflow_namespace': namespace,
                    'input': action_input,
                    'output': {'result': (action_input or {}).get(
                        'output')}}
        with db_api.transaction() as session:
            row = models.ActionExecution(
                name=action_name, state='RUNNING', input=action_input,
                description=description, project_id=ctx.project_id,
                workflow_namespace=namespace, accepted=False,
                created_at=timeutils.utcnow())
            session.add(row)
            session.flush()
            return {c.key: _wire(getattr(row, c.key))
                    for c in models.ActionExecution.__table__.columns}

    def on_action_complete(self, ctx: Any, action_ex_id: str,
                           result: dict[str, Any], wf_action: bool = False
                           ) -> dict[str, Any]:
        self.calls.append(('on_action_complete', (action_ex_id,),
                           {'result': result}))
        with db_api.transaction() as session:
            row = session.get(models.ActionExecution, action_ex_id)
            if result.get('cancel'):
                row.state = 'CANCELLED'
            elif 'error' in result:
                row.state = 'ERROR'
                row.output = {'result': result['error']}
            else:
                row.state = 'SUCCESS'
                row.output = {'result': result.get('data')}
            row.accepted = True
            session.flush()
            return {c.key: _wire(getattr(row, c.key))
                    for c in models.ActionExecution.__table__.columns}

    def on_action_update(self, ctx: Any, action_ex_id: str, state: str,
                         wf_action: bool = False) -> dict[str, Any]:
        self.calls.append(('on_action_update', (action_ex_id, state), {}))
        with db_api.transaction() as session:
            row = session.get(models.ActionExecution, action_ex_id)
            row.state = state
            session.flush()
            return {c.key: _wire(getattr(row, c.key))
                    for c in models.ActionExecution.__table__.columns}


@pytest.fixture
def db(request: Any, tmp_path: Any) -> Any:
    """A fresh database: SQLite unless a test module parametrizes it
    (indirect) with "postgresql" or "mysql" (servers of the functional
    test harness); MISTRAL_API_TEST_DB changes the default."""
    from mistral.tests.functional import harness

    default = os.environ.get('MISTRAL_API_TEST_DB', 'sqlite')
    database = harness.make_database(getattr(request, 'param', default),
                                     str(tmp_path))
    database.create()
    CONF.set_override('connection', database.url, group='database')
    CONF.set_override('auth_enable', False, group='pecan')
    db_api.dispose()
    models.Base.metadata.create_all(db_api.get_engine())
    yield
    db_api.dispose()
    database.drop()
    CONF.clear_override('connection', group='database')
    CONF.clear_override('auth_enable', group='pecan')


@pytest.fixture
def engine(monkeypatch: Any) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setattr(clients, 'engine', lambda: fake)
    return fake


@pytest.fixture
def app(db: Any, engine: FakeEngine) -> webtest.TestApp:
    return webtest.TestApp(api_app.setup_app())


def create_wf(app: webtest.TestApp, text: str = WF, **params: str) -> Any:
    query = '&'.join('%s=%s' % kv for kv in params.items())
    return app.post('/v2/workflows' + ('?' + query if query else ''),
                    text, headers={'Content-Type': 'text/plain'})


def add_task(wf_ex_id: str, name: str = 't1', state: str = 'SUCCESS',
             runtime_context: Any = None, results: Any = (),
             **kw: Any) -> str:
    """A task with accepted action executions holding ``results``."""
    with db_api.transaction() as session:
        wf_ex = session.get(models.WorkflowExecution, wf_ex_id)
        now = timeutils.utcnow()
        task = models.TaskExecution(
            name=name, state=state, workflow_execution_id=wf_ex_id,
            workflow_name=wf_ex.workflow_name,
            workflow_id=wf_ex.workflow_id, workflow_namespace='',
            project_id=wf_ex.project_id, runtime_context=runtime_context
            or {}, published={'msg': 'x'}, tags=[], processed=True,
            created_at=now, started_at=now, finished_at=now, **kw)
        session.add(task)
        session.flush()
        for i, value in enumerate(results):
            session.add(models.ActionExecution(
                name='std.echo', state='SUCCESS', accepted=True,
                task_execution_id=task.id, workflow_execution_id=wf_ex_id,
                workflow_name=wf_ex.workflow_name, workflow_namespace='',
                project_id=wf_ex.project_id, input={'output': value},
                output={'result': value}, runtime_context={'index': i},
                description='', created_at=now))
        return task.id


def headers(project: str, roles: str = 'member') -> dict[str, str]:
    """What keystonemiddleware sets for a confirmed token."""
    return {'X-Identity-Status': 'Confirmed', 'X-Project-Id': project,
            'X-User-Id': 'u-' + project, 'X-Roles': roles,
            'X-Auth-Token': 'tok'}


@pytest.fixture
def auth_app(db: Any, engine: FakeEngine, monkeypatch: Any
             ) -> webtest.TestApp:
    """The API with authentication on; tests send the identity headers
    keystonemiddleware would have set (see :func:`headers`)."""
    CONF.set_override('auth_enable', True, group='pecan')
    monkeypatch.setattr(api_app, '_keystone', lambda app: app)
    yield webtest.TestApp(api_app.setup_app())
    CONF.set_override('auth_enable', False, group='pecan')
