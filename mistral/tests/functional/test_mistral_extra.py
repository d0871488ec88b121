"""mistral-extra 17.0.0 (upstream's 1,200 OpenStack actions) beside the
server, as an operator installs it (see mistral_extra_env), on the
embedded default and on PostgreSQL + RabbitMQ with an executor process:

* ``mistral-db-manage populate`` installs its pre-installed workflows
  (``create_instance``, ``delete_instance``: its entry point returns a
  list of paths);
* its actions are listed and described, generated ones with an empty
  argument list (``keystone.trusts_update``) take input;
* an OpenStack action gets as far as Keystone, run alone and in a
  workflow: there is no cloud here, so it ends with keystoneauth's
  "Cannot authenticate without an auth_url", as upstream 23 does (it
  needs the caller's application context and ``[keystone_authtoken]``,
  without which it failed at once with an empty message);
* a workflow through its ``mistral.*`` actions (python-mistralclient
  against this very API, results that are client objects) finishes.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from mistral.tests.functional import harness
from mistral.tests.functional import mistral_extra_env

pytestmark = pytest.mark.functional

KEYSTONE_END = 'Cannot authenticate without an auth_url'

DEPLOYMENTS = harness.PLUGIN_DEPLOYMENTS

WF = """---
version: '2.0'

extra_nova:
  tasks:
    servers:
      action: nova.servers_list

extra_mistral:
  input:
    - env_name
  output:
    variables: <% $.variables %>
    listed: <% $.listed %>
  tasks:
    create:
      action: mistral.environments_create
      input:
        name: <% $.env_name %>
        variables:
          region: north
          size: 3
      publish:
        created: <% task().result.name %>
      on-success: [get]
    get:
      action: mistral.environments_get name=<% $.env_name %>
      publish:
        variables: <% task().result.variables %>
      on-success: [listing]
    listing:
      action: mistral.environments_list
      publish:
        listed: <% task().result.select($.name) %>
      on-success: [delete]
    delete:
      action: mistral.environments_delete name=<% $.env_name %>
"""


@pytest.fixture(scope='module')
def extra_site() -> str:
    return mistral_extra_env.ensure_site()


@pytest.fixture(params=sorted(DEPLOYMENTS))
def dep(request: Any, extra_site: str, monkeypatch: Any) -> Any:
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
        [extra_site] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    with harness.Deployment(**DEPLOYMENTS[request.param]) as deployment:
        yield deployment


def _populate(dep: Any) -> None:
    proc = subprocess.run(
        [harness._script('mistral-db-manage'), '--config-file',
         dep.conf_path, 'populate'], capture_output=True, text=True,
        timeout=300, env=dep._child_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ' ERROR ' not in proc.stdout + proc.stderr, proc.stderr


def test_mistral_extra(dep):
    _populate(dep)
    client = dep.client()
    workflows = {w.name: w for w in client.workflows.list()}
    for name in ('create_instance', 'delete_instance'):
        assert name in workflows, sorted(workflows)
        assert workflows[name].scope == 'public'

    # Listed and described.
    servers = client.actions.get('nova.servers_list')
    assert 'detailed' in servers.input
    assert servers.description
    assert client.actions.get('neutron.list_networks').name == \
        'neutron.list_networks'
    assert client.actions.get('keystone.trusts_update').input == '**kwargs'
    shown = json.loads(dep.cli('action-get', 'glance.images_list', '-f',
                               'json').stdout)
    assert shown['Name'] == 'glance.images_list'

    # Run alone: as far as Keystone.
    for name, params in (('nova.servers_list', {}),
                         ('keystone.trusts_update', {'trust': 't-1'})):
        ran = client.action_executions.create(name, params,
                                              save_result=False)
        assert KEYSTONE_END in ran.output, (name, ran.output)

    # In a workflow (the executor's path): as far as Keystone.
    client.workflows.create(WF)
    ex = client.executions.create('extra_nova')
    assert dep.wait_execution(ex.id, 90).state == 'ERROR'
    [task] = client.tasks.list(ex.id)
    assert KEYSTONE_END in task.state_info, task.state_info

    # mistral.* actions: python-mistralclient against this API.
    ex = client.executions.create('extra_mistral', workflow_input={
        'env_name': 'extra_env_%s' % os.getpid()})
    done = dep.wait_execution(ex.id, 120)
    assert done.state == 'SUCCESS', done.state_info
    out = json.loads(client.executions.get(ex.id).output)
    assert out['variables'] == {'region': 'north', 'size': 3}
    assert 'extra_env_%s' % os.getpid() in out['listed']
    assert client.environments.list() == []
