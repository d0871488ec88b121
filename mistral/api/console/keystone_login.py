"""The console's login form, for deployments that use Keystone.

The browser cannot be assumed to reach Keystone (another host, no CORS),
so the console posts the form to its own server, which asks the identity
endpoint the API is configured with (``[keystone_authtoken]
www_authenticate_uri``) for a project-scoped token and hands it back.
Nothing is stored: the browser then sends the token with every API call,
and keystonemiddleware validates it as for any other client.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from oslo_config import cfg

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Seconds Keystone has to answer a login.
TIMEOUT = 15


class LoginError(Exception):
    """A login that failed; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _authtoken_option(name: str) -> Any:
    # keystonemiddleware registers its options when auth_token is imported;
    # auth_url belongs to the auth plugin and may not be registered at all.
    from keystonemiddleware import auth_token  # noqa: F401

    try:
        return getattr(CONF.keystone_authtoken, name)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return None


def identity_url() -> str | None:
    """The Keystone v3 endpoint users log in to, or None if unknown."""
    for name in ('www_authenticate_uri', 'auth_uri', 'auth_url'):
        url = _authtoken_option(name)
        if url:
            url = str(url).rstrip('/')
            return url if url.endswith('/v3') else url + '/v3'
    return None


def _tls() -> dict[str, Any]:
    if _authtoken_option('insecure'):
        return {'verify': False}
    cafile = _authtoken_option('cafile')
    return {'verify': cafile or True}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ''
    if not isinstance(value, str):
        raise LoginError(400, 'The login field %s must be a string.' % key)
    return value.strip() if key != 'password' else value


def login(body: Any) -> dict[str, Any]:
    """Exchange ``{username, password, project, domain}`` for a token.

    Returns ``{token, expires_at, user, project, roles}``; raises
    :class:`LoginError` with the status and message for the browser.
    """
    if not isinstance(body, dict):
        raise LoginError(400, 'The login request must be a JSON object.')
    username = _text(body, 'username')
    password = _text(body, 'password')
    project = _text(body, 'project')
    domain = _text(body, 'domain') or 'Default'
    missing = [k for k, v in (('username', username), ('password', password),
                              ('project', project)) if not v]
    if missing:
        raise LoginError(400, 'Missing login field(s): %s.'
                         % ', '.join(missing))
    url = identity_url()
    if not url:
        raise LoginError(
            501, 'No identity endpoint is configured: set [keystone_authtoken]'
                 ' www_authenticate_uri to log in with a password.')
    request: dict[str, Any] = {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': username, 'domain': {'name': domain},
            'password': password}}},
        'scope': {'project': {'name': project, 'domain': {'name': domain}}},
    }}
    try:
        resp = requests.post(url + '/auth/tokens', json=request,
                             timeout=TIMEOUT, **_tls())
    except requests.RequestException as e:
        LOG.warning('Console login: identity endpoint %s failed: %s', url, e)
        raise LoginError(502, 'The identity service did not answer (%s).'
                         % type(e).__name__) from e
    if resp.status_code in (401, 404):
        # Keystone answers 401 for a wrong password and unknown user or
        # project alike; it tells nobody which one.
        raise LoginError(401, 'Login failed: the user name, password, '
                              'project or domain is wrong.')
    if resp.status_code != 201:
        raise LoginError(502, 'The identity service refused the login '
                              '(HTTP %d).' % resp.status_code)
    token = resp.headers.get('X-Subject-Token')
    try:
        data = resp.json()['token']
    except (ValueError, KeyError, TypeError):
        data = None
    if not token or not isinstance(data, dict):
        raise LoginError(502, 'The identity service answered without a '
                              'token.')
    return {
        'token': token,
        'expires_at': data.get('expires_at'),
        'user': {k: (data.get('user') or {}).get(k) for k in ('id', 'name')},
        'project': {k: (data.get('project') or {}).get(k)
                    for k in ('id', 'name')},
        'roles': sorted(r.get('name') for r in data.get('roles') or []
                        if isinstance(r, dict) and r.get('name')),
    }
