"""A dynamic action runs in a workflow: API -> engine -> executor.

Everything goes through the REST API (code source, dynamic action,
workflow, execution) against an in-process engine and executor on each
database backend.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import webtest
from oslo_config import cfg

from mistral.actions import dynamic
from mistral.actions import registry
from mistral.api import app as api_app
from mistral.tests.functional.engine import conftest as engine_conftest
from mistral.tests.unit.api.conftest import headers

CONF = cfg.CONF

# The in-process engine and executor, on each backend.
engine_env = engine_conftest.engine_env

ADMIN = headers('adm', 'admin')
TEXT = {'Content-Type': 'text/plain', **ADMIN}

MODULE = '''
from mistral_lib import actions


class Multiply(actions.Action):
    def __init__(self, a, b=2):
        self.a = a
        self.b = b

    def run(self, context):
        return {'product': self.a * self.b,
                'execution': context.execution.workflow_name}


class Broken(actions.Action):
    def run(self, context):
        raise RuntimeError('broken on purpose')
'''

WF = '''
version: '2.0'
calc:
  input:
    - x
  output:
    product: <% $.product %>
    wf: <% $.wf %>
  tasks:
    mul:
      action: multiply a=<% $.x %> b=3
      publish:
        product: <% task().result.product %>
        wf: <% task().result.execution %>
broken:
  tasks:
    b:
      action: broken
'''


@pytest.fixture
def api(engine_env: Any, monkeypatch: Any) -> Iterator[webtest.TestApp]:
    CONF.set_override('auth_enable', True, group='pecan')
    monkeypatch.setattr(api_app, '_keystone', lambda app: app)
    registry.reset()
    dynamic.reset()
    try:
        yield webtest.TestApp(api_app.setup_app())
    finally:
        CONF.clear_override('auth_enable', group='pecan')
        registry.reset()
        dynamic.reset()


def _wait(api: webtest.TestApp, engine_env: Any, ex_id: str) -> Any:
    engine_env.wait(ex_id)
    return api.get('/v2/executions/%s' % ex_id, headers=ADMIN).json


def test_dynamic_action_in_a_workflow(api: Any, engine_env: Any) -> None:
    import json

    api.post('/v2/code_sources?name=calc_%s' % engine_env.backend, MODULE,
             headers=TEXT, status=201)
    for name, cls in (('multiply', 'Multiply'), ('broken', 'Broken')):
        api.post_json('/v2/dynamic_actions',
                      {'name': name, 'class_name': cls,
                       'code_source_name': 'calc_%s' % engine_env.backend},
                      headers=ADMIN, status=201)
    api.post('/v2/workflows', WF, headers=TEXT, status=201)
    ex = api.post_json('/v2/executions',
                       {'workflow_name': 'calc', 'input': {'x': 7}},
                       headers=ADMIN, status=201).json
    done = _wait(api, engine_env, ex['id'])
    assert done['state'] == 'SUCCESS', done['state_info']
    assert json.loads(done['output']) == {'product': 21, 'wf': 'calc'}
    # An exception of the class fails the task with its message.
    ex = api.post_json('/v2/executions', {'workflow_name': 'broken'},
                       headers=ADMIN, status=201).json
    done = _wait(api, engine_env, ex['id'])
    assert done['state'] == 'ERROR'
    assert 'broken on purpose' in done['state_info']
    # A new version of the code source is used by the next execution.
    api.put('/v2/code_sources?identifier=calc_%s' % engine_env.backend,
            MODULE.replace('self.a * self.b', 'self.a + self.b'),
            headers=TEXT, status=200)
    ex = api.post_json('/v2/executions',
                       {'workflow_name': 'calc', 'input': {'x': 7}},
                       headers=ADMIN, status=201).json
    done = _wait(api, engine_env, ex['id'])
    assert json.loads(done['output'])['product'] == 10

    # Cleanup for the next test and backend (same names).
    api.delete('/v2/workflows/calc', headers=ADMIN, status=204)
    api.delete('/v2/workflows/broken', headers=ADMIN, status=204)
    api.delete('/v2/code_sources/calc_%s' % engine_env.backend,
               headers=ADMIN, status=204)


def test_dynamic_action_run_alone(api: Any, engine_env: Any) -> None:
    import json

    api.post('/v2/code_sources?name=alone', MODULE, headers=TEXT,
             status=201)
    api.post_json('/v2/dynamic_actions',
                  {'name': 'multiply', 'class_name': 'Multiply',
                   'code_source_name': 'alone'}, headers=ADMIN, status=201)
    try:
        r = api.post_json('/v2/action_executions',
                          {'name': 'multiply', 'input': {'a': 2}},
                          headers=ADMIN, status=201).json
        assert json.loads(r['output'])['result']['product'] == 4
    finally:
        api.delete('/v2/code_sources/alone', headers=ADMIN, status=204)
