"""A third-party action package, pip-installed, works through the API.

``mistral/tests/resources/acme_actions`` is a separate package that knows
only mistral-lib and registers its actions under the ``mistral.actions``
entry point. It is built and installed with pip into a directory put on
the server's PYTHONPATH (not into the shared test virtualenv, so other
tests see the standard action list), then listed and run by a service in
its own process.
"""

from __future__ import annotations

import json
import os

from mistral.tests.functional import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
PACKAGE = os.path.join(ROOT, 'mistral', 'tests', 'resources', 'acme_actions')

WF = """---
version: '2.0'
acme_flow:
  input: [who]
  output:
    greeting: <% $.greeting %>
    shout: <% $.shout %>
  tasks:
    greet:
      action: acme.greet name=<% $.who %>
      publish:
        greeting: <% task().result.greeting %>
        workflow: <% task().result.workflow %>
        seen_id: <% task().result.execution_id %>
      on-success: shout
    shout:
      action: acme.shout text=<% $.greeting %>
      publish:
        shout: <% task().result %>
      on-success: quiet
    quiet:
      action: acme.shout text=""
      on-error: noop
"""


def _install(tmp_path) -> str:
    target = harness.pip_install_target(PACKAGE, str(tmp_path))
    assert os.path.exists(os.path.join(target, 'acme_mistral_actions.py'))
    return target


def test_installed_package_is_listed_and_runs(tmp_path, monkeypatch):
    site = _install(tmp_path)
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
        [site] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    with harness.Deployment(db='sqlite', transport='fake',
                            processes=[['all']]) as dep:
        client = dep.client()
        actions = {a.name: a for a in client.actions.list()}
        assert actions['acme.greet'].input == 'name, punctuation="!"'
        assert actions['acme.greet'].description == 'Greets somebody.'
        assert actions['acme.shout'].input == 'text'
        assert 'std.echo' in actions

        shown = json.loads(dep.cli('action-get', 'acme.greet', '-f',
                                   'json').stdout)
        assert shown['Name'] == 'acme.greet'
        # As upstream shows actions of providers: id = name, not system.
        assert shown['ID'] == 'acme.greet'
        assert shown['Is system'] is False

        client.workflows.create(WF)
        ex = client.executions.create('acme_flow', workflow_input={
            'who': 'Ada'})
        done = dep.wait_execution(ex.id, 60)
        assert done.state == 'SUCCESS', done.state_info
        out = json.loads(client.executions.get(ex.id).output)
        assert out == {'greeting': 'Hello, Ada!', 'shout': 'HELLO, ADA!'}

        tasks = {t.name: t for t in client.tasks.list(ex.id)}
        published = json.loads(tasks['greet'].published)
        # The action got the execution context mistral-lib defines.
        assert published['workflow'] == 'acme_flow'
        assert published['seen_id'] == ex.id
        assert tasks['quiet'].state == 'ERROR'
        assert 'nothing to shout' in tasks['quiet'].state_info
