"""The authentication and healthcheck options reach the config tooling."""

from __future__ import annotations

import os
import subprocess
import sys

from mistral import config


def test_list_opts_has_the_groups() -> None:
    groups = {group: {o.name for o in opts}
              for group, opts in config.list_opts()}
    assert groups['healthcheck'] == {'enabled'}
    assert {'auth_url', 'certfile', 'keyfile', 'cafile', 'insecure',
            'user_info_endpoint_url', 'public_cert_url',
            'keycloak_iss'} <= groups['keycloak_oidc']


def test_config_generator_lists_them() -> None:
    tool = os.path.join(os.path.dirname(sys.executable),
                        'oslo-config-generator')
    out = subprocess.run([tool, '--namespace', 'mistral.config'],
                         capture_output=True, text=True, timeout=120,
                         cwd='/')
    assert out.returncode == 0, out.stderr
    assert '[keycloak_oidc]' in out.stdout
    assert '#user_info_endpoint_url = /realms/%s/protocol/openid-connect/' \
        'userinfo' in out.stdout
    assert '[healthcheck]' in out.stdout
