"""A real Keystone set up the way upstream's gate suites expect a devstack.

The suites run against a devstack in upstream's gate: Tempest creates a
project and users per test class with the Keystone admin account, and
finds Mistral in the catalog (service type ``workflowv2``); the client's
CLI tests log in as the devstack accounts of ``clouds.yaml``
(``devstack-admin``, ``devstack-alt-member``). :class:`GateCloud` gives a
:class:`~mistral.tests.functional.realkeystone.KeystoneServer` the same
shape:

* the bootstrap ``admin`` user, admin of project ``admin``;
* ``demo`` (project ``demo``) and ``alt_demo`` (project ``alt_demo``),
  members of their projects;
* ``mistral``, the API's own service user, in project ``service``;
* the API's endpoint in the catalog.

Our server then runs with ``[pecan] auth_enable = True`` and
``[keystone_authtoken]`` pointing at that Keystone (:meth:`server_conf`).
"""

from __future__ import annotations

from typing import Any

import yaml

from mistral.tests.functional.realkeystone import ADMIN_PASSWORD
from mistral.tests.functional.realkeystone import REGION
from mistral.tests.functional.realkeystone import KeystoneServer

SERVICE_USER, SERVICE_PASSWORD = 'mistral', 'mistral-service-pw'
# user -> (password, project, role); project named as the user, as devstack
# does for its demo accounts.
ACCOUNTS = {
    'demo': ('demo-pw', 'demo', 'member'),
    'alt_demo': ('alt-demo-pw', 'alt_demo', 'member'),
}


class GateCloud:
    """Keystone accounts, catalog and configs for one suite run."""

    def __init__(self, keystone: KeystoneServer) -> None:
        self.keystone = keystone
        self.projects: dict[str, str] = {}
        self._endpoints: set[str] = set()
        for project in ('service',) + tuple(
                p for _, p, _ in ACCOUNTS.values()):
            self.projects[project] = keystone.create_project(project)
        for user, (password, project, role) in ACCOUNTS.items():
            keystone.create_user(user, password, self.projects[project],
                                 role)
        keystone.create_user(SERVICE_USER, SERVICE_PASSWORD,
                             self.projects['service'], 'service')
        self.projects['admin'] = keystone.project_id('admin')

    @property
    def url(self) -> str:
        return self.keystone.url

    def register_api(self, api_url: str) -> None:
        """Put ``api_url`` into the catalog as ``workflowv2`` (once)."""
        if api_url not in self._endpoints:
            self.keystone.register_endpoint('workflowv2', 'mistral',
                                            api_url)
            self._endpoints.add(api_url)

    def server_conf(self, api_port: int) -> dict[str, dict[str, Any]]:
        """Config overrides: our API on ``api_port``, auth by Keystone."""
        self.register_api('http://127.0.0.1:%d/v2' % api_port)
        return {
            'api': {'port': api_port},
            'pecan': {'auth_enable': True},
            'keystone_authtoken': {
                'www_authenticate_uri': self.url,
                'auth_url': self.url,
                'auth_type': 'password',
                'username': SERVICE_USER,
                'password': SERVICE_PASSWORD,
                'project_name': 'service',
                'user_domain_id': 'default',
                'project_domain_id': 'default',
                'interface': 'public',
                'region_name': REGION,
            },
        }

    def admin_token(self) -> str:
        return self.keystone.admin_token()

    def tempest_conf(self) -> dict[str, dict[str, Any]]:
        """The Keystone part of tempest.conf, as a devstack writes it."""
        return {
            'auth': {
                'use_dynamic_credentials': True,
                'admin_username': 'admin',
                'admin_password': ADMIN_PASSWORD,
                'admin_project_name': 'admin',
                'admin_domain_name': 'Default',
            },
            'identity': {
                'uri_v3': self.url,
                'auth_version': 'v3',
                'region': REGION,
                'v3_endpoint_type': 'public',
            },
        }

    def clouds_yaml(self) -> str:
        """clouds.yaml with the clouds the client's CLI tests log in to."""
        def cloud(user: str, password: str, project: str) -> dict:
            return {'region_name': REGION, 'identity_api_version': 3,
                    'auth': {'auth_url': self.url, 'username': user,
                             'password': password, 'project_name': project,
                             'user_domain_id': 'default',
                             'project_domain_id': 'default'}}

        demo_pw, demo_project, _ = ACCOUNTS['demo']
        alt_pw, alt_project, _ = ACCOUNTS['alt_demo']
        return yaml.safe_dump({'clouds': {
            'devstack-admin': cloud('admin', ADMIN_PASSWORD, 'admin'),
            'devstack': cloud('demo', demo_pw, demo_project),
            'devstack-alt-member': cloud('alt_demo', alt_pw, alt_project),
        }})


def noauth_clouds_yaml() -> str:
    """clouds.yaml for the client's no-auth mode.

    Its tests still build a CLI client from ``devstack-admin`` (and
    ``devstack-alt-member``) before each test, so the clouds must exist;
    in no-auth mode their values are never sent anywhere.
    """
    unused = {'auth_url': 'http://127.0.0.1:9/v3', 'username': 'unused',
              'password': 'unused', 'project_name': 'unused',
              'user_domain_id': 'default', 'project_domain_id': 'default'}
    return yaml.safe_dump({'clouds': {
        name: {'auth': unused} for name in (
            'devstack-admin', 'devstack', 'devstack-alt-member')}})
