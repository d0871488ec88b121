"""What upstream's gate has on its server before Tempest runs.

The gate installs mistral-extra, and its ``mistral-db-manage populate``
adds two public workflows, ``std.create_instance`` and
``std.delete_instance``. Two Tempest tests count on them:
``test_get_list_workflows`` looks for a workflow whose name contains
``create_instance``, and ``test_get_list_workflows_with_pagination`` needs
at least two workflows. Our deployments have no mistral-extra, so two
stand-ins (a no-op task each) are created before the run, as public
workflows of the Keystone admin when there is a Keystone, and deleted
after it.
"""

from __future__ import annotations

import requests

from mistral.tests.functional.harness import DeploymentError
from mistral.tests.functional.upstream_suites.cloud import GateCloud

STANDINS = """---
version: '2.0'

gate_standin.create_instance:
  description: stands in for mistral-extra's std.create_instance
  tasks:
    noop:
      action: std.noop

gate_standin.delete_instance:
  description: stands in for mistral-extra's std.delete_instance
  tasks:
    noop:
      action: std.noop
"""


def _headers(cloud: GateCloud | None) -> dict[str, str]:
    return {'X-Auth-Token': cloud.admin_token()} if cloud else {}


def before(suite: str, mistral_url: str,
           cloud: GateCloud | None) -> list[str]:
    """Create what ``suite`` expects; returns the ids to delete after."""
    if suite != 'tempest':
        return []
    params = {'scope': 'public'} if cloud else {}
    headers = dict(_headers(cloud), **{'Content-Type': 'text/plain'})
    r = requests.post(mistral_url.rstrip('/') + '/workflows', data=STANDINS,
                      params=params, headers=headers, timeout=60)
    if r.status_code != 201:
        raise DeploymentError('creating the stand-in workflows failed: '
                              '%s %s' % (r.status_code, r.text))
    return [wf['id'] for wf in r.json()['workflows']]


def after(ids: list[str], mistral_url: str,
          cloud: GateCloud | None) -> None:
    for wf_id in ids:
        requests.delete('%s/workflows/%s' % (mistral_url.rstrip('/'), wf_id),
                        headers=_headers(cloud), timeout=60)
