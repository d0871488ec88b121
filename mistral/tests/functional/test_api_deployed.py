"""The new APIs in the production shape: PostgreSQL, RabbitMQ and one
process per component.

A dynamic action runs in the executor process (the provider comes from
the entry point there), the maintenance status is shared by processes
through the database, and /healthcheck sees the real database and broker.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from mistralclient.api import base as client_base

MODULE = '''
from mistral_lib import actions


class Hostname(actions.Action):
    def __init__(self, prefix=''):
        self.prefix = prefix

    def run(self, context):
        import os
        return '%s%d' % (self.prefix, os.getpid())
'''

WF = '''
version: '2.0'
pid_wf:
  output:
    pid: <% $.pid %>
  tasks:
    t:
      action: where_am_i prefix=pid-
      publish:
        pid: <% task().result %>
'''

# Code sources, dynamic actions and maintenance are admin-only; the
# deployment runs without authentication, so its policy file opens them.
POLICY = '\n'.join('"%s:%s": ""' % (res, op)
                   for res in ('code_sources', 'dynamic_actions')
                   for op in ('create', 'update', 'delete', 'get', 'list')
                   ) + '\n"maintenance:update": ""\n'


def _ancestors(pid: int) -> set[int]:
    """``pid`` and its parent processes."""
    found = set()
    while pid > 1 and pid not in found:
        found.add(pid)
        with open('/proc/%d/status' % pid) as f:
            pid = int(next(line for line in f
                           if line.startswith('PPid:')).split()[1])
    return found


@pytest.fixture
def dep(deploy: Any, tmp_path: Any) -> Any:
    policy = tmp_path / 'policy.yaml'
    policy.write_text(POLICY)
    return deploy(db='postgresql', transport='rabbit',
                  processes=[['api'], ['engine'], ['executor']],
                  conf_overrides={'healthcheck': {'enabled': True},
                                  'oslo_policy': {
                                      'policy_file': str(policy)}})


def test_deployed(dep: Any) -> None:
    root = dep.api_url[:-len('/v2')]
    r = requests.get(root + '/healthcheck', timeout=30)
    assert r.status_code == 200, r.text
    client = dep.client()
    client.code_sources.create('where', MODULE)
    client.dynamic_actions.create('where_am_i', 'Hostname', 'where')
    client.workflows.create(WF)
    ex = client.executions.create('pid_wf')
    done = dep.wait_execution(ex.id)
    assert done.state == 'SUCCESS', done.state_info
    pid = json.loads(done.output)['pid']
    assert pid.startswith('pid-')
    # The action ran in the executor process (or a child of it).
    executor = [p.pid for p in dep.processes if 'executor' in p.names]
    assert _ancestors(int(pid[4:])) & set(executor), (pid, executor)
    # Maintenance is one status for every process.
    r = requests.put(root + '/maintenance', json={'status': 'PAUSED'},
                     timeout=30)
    assert r.status_code == 200 and r.json()['status'] in ('PAUSING',
                                                           'PAUSED')
    try:
        with pytest.raises(client_base.APIException) as e:
            client.executions.create('pid_wf')
        assert e.value.error_code == 423
    finally:
        r = requests.put(root + '/maintenance', json={'status': 'RUNNING'},
                         timeout=30)
        assert r.json() == {'status': 'RUNNING'}
    assert dep.wait_execution(client.executions.create('pid_wf').id
                              ).state == 'SUCCESS'
