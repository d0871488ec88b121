"""A plugin package written for upstream Mistral works unchanged.

``mistral/tests/resources/globex_plugins`` uses each extension point the
way mistral-extra does (see its pyproject.toml): it is pip-installed into
a directory on the servers' PYTHONPATH (not into the shared virtualenv),
then, on the embedded default and on PostgreSQL + RabbitMQ with an
executor process of its own:

* ``mistral-db-manage populate`` installs the workflows its
  ``mistral.preinstalled_workflows`` entry point lists as file paths;
* its generated action with an empty argument list takes any input (the
  class signature), the other keeps its argument list;
* results that are client objects and generators arrive as JSON (dicts,
  lists) in run-action and in workflows; an object with no JSON form
  fails its task with a clear error and the workflow ends, instead of
  staying RUNNING;
* an action reads the caller from mistral-lib's thread-local application
  context, with ``[keystone_authtoken] www_authenticate_uri`` although
  authentication is off;
* an action module importing ``mistral.workflow.utils.Result`` loads.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from mistral.tests.functional import harness

pytestmark = pytest.mark.functional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
PACKAGE = os.path.join(ROOT, 'mistral', 'tests', 'resources',
                       'globex_plugins')
KEYSTONE = 'http://keystone.example:5000/v3'

DEPLOYMENTS = harness.PLUGIN_DEPLOYMENTS

WF = """---
version: '2.0'
globex_flow:
  output:
    server: <% $.server %>
    names: <% $.names %>
    me: <% $.me %>
    old: <% $.old %>
  tasks:
    get:
      action: globex.get_server name=db
      publish:
        server: <% task().result %>
      on-success: [listing]
    listing:
      action: globex.list_servers count=3
      publish:
        names: <% task().result.select($.name) %>
      on-success: [whoami]
    whoami:
      action: globex.whoami
      publish:
        me: <% task().result %>
      on-success: [old]
    old:
      action: globex.old_style value=kept
      publish:
        old: <% task().result.value %>

globex_opaque:
  tasks:
    opaque:
      action: globex.opaque
"""


def _install(tmp_path: Any) -> str:
    target = harness.pip_install_target(PACKAGE, str(tmp_path))
    assert os.path.exists(os.path.join(
        target, 'globex_mistral', 'resources', 'workflows',
        'globex_provision.yaml'))
    return target


@pytest.fixture(params=sorted(DEPLOYMENTS))
def dep(request: Any, tmp_path: Any, monkeypatch: Any) -> Any:
    site = _install(tmp_path)
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
        [site] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    kwargs = dict(DEPLOYMENTS[request.param])
    kwargs['conf_overrides'] = {
        'keystone_authtoken': {'www_authenticate_uri': KEYSTONE}}
    with harness.Deployment(**kwargs) as deployment:
        yield deployment


def _populate(dep: Any) -> str:
    proc = subprocess.run(
        [harness._script('mistral-db-manage'), '--config-file',
         dep.conf_path, 'populate'], capture_output=True, text=True,
        timeout=120, env=dep._child_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_upstream_style_plugins(dep):
    log = _populate(dep)
    assert 'ERROR' not in log, log
    client = dep.client()
    system = {w.name: w for w in client.workflows.list()}
    for name in ('globex_provision', 'globex_teardown'):
        assert name in system, sorted(system)
        assert system[name].scope == 'public'

    actions = {a.name: a for a in client.actions.list()}
    assert actions['globex.trusts_update'].input == '**kwargs'
    assert actions['globex.trusts_list'].input == 'limit=10'
    assert 'globex.old_style' in actions  # its module imported
    assert 'std.echo' in actions

    # run-action answers the converted result (no 500).
    server = client.action_executions.create(
        'globex.get_server', {'name': 'app'}, save_result=False)
    assert json.loads(server.output) == {'result': {
        'name': 'app', 'status': 'ACTIVE',
        'flavor': {'name': 'm1.small', 'ram': 2048}}}
    update = client.action_executions.create(
        'globex.trusts_update', {'trust_id': 't-9', 'roles': ['r']},
        save_result=False)
    assert json.loads(update.output)['result'] == {
        'method': 'trusts.update',
        'kwargs': {'trust_id': 't-9', 'roles': ['r']}}
    opaque = client.action_executions.create('globex.opaque', {},
                                             save_result=False)
    assert 'cannot be stored as JSON' in opaque.output
    assert 'Opaque' in opaque.output

    client.workflows.create(WF)
    ex = client.executions.create('globex_flow')
    done = dep.wait_execution(ex.id, 90)
    assert done.state == 'SUCCESS', done.state_info
    out = json.loads(client.executions.get(ex.id).output)
    assert out['server'] == {'name': 'db', 'status': 'ACTIVE',
                             'flavor': {'name': 'm1.small', 'ram': 2048}}
    assert out['names'] == ['server-0', 'server-1', 'server-2']
    assert out['me']['auth_uri'] == KEYSTONE
    assert out['me']['project_id'] == '<default-project>'
    assert out['me']['insecure'] is False
    assert out['old'] == 'kept'

    # An unencodable result ends the workflow at once.
    ex = client.executions.create('globex_opaque')
    done = dep.wait_execution(ex.id, 60)
    assert done.state == 'ERROR'
    [task] = client.tasks.list(ex.id)
    assert task.state == 'ERROR'
    assert 'cannot be stored as JSON' in task.state_info

    # The pre-installed workflows run.
    ex = client.executions.create('globex_provision',
                                  workflow_input={'count': 2})
    assert dep.wait_execution(ex.id, 60).state == 'SUCCESS'
    assert json.loads(client.executions.get(ex.id).output) == {
        'names': ['server-0', 'server-1']}
    ex = client.executions.create('globex_teardown')
    assert dep.wait_execution(ex.id, 60).state == 'SUCCESS'
