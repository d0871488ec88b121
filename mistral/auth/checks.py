"""Start-up checks of the API's authentication.

Authentication that is on but cannot validate any token must stop the
API at start with one line naming the fix (:class:`StartupError`), not
answer every request with a 500. :mod:`mistral.api.app` runs these when
it builds its middleware; they live here, with the authentication, so
that the API needs nothing of the service package that composes it.
"""

from __future__ import annotations

from oslo_config import cfg

from mistral import config
from mistral.exceptions import StartupError

CONF = config.CONF

_AUTH_FIXES = ('or set [pecan] auth_enable = False to run without '
               'authentication')


def check_keystone(conf: cfg.ConfigOpts | None = None) -> None:
    """keystonemiddleware can validate tokens: it has an auth plugin
    (``auth_type`` of ``[keystone_authtoken]`` or of its auth_section).
    Without one it answers every request with a 500."""
    from keystoneauth1 import loading

    conf = conf or CONF
    loading.register_auth_conf_options(conf, 'keystone_authtoken')
    group = conf.keystone_authtoken.auth_section or 'keystone_authtoken'
    loading.register_auth_conf_options(conf, group)
    if not conf[group].auth_type:
        raise StartupError(
            'Authentication is on ([pecan] auth_enable = True, the default '
            'when a configuration file is used) but [%s] has no auth_type, '
            'so no token can be validated: configure [keystone_authtoken] '
            '(auth_type = password, auth_url, username, password, '
            'project_name, www_authenticate_uri, ...) %s'
            % (group, _AUTH_FIXES))


def check_auth() -> None:
    """Authentication, when on, has what it needs to validate tokens."""
    if not CONF.pecan.auth_enable:
        return
    if CONF.auth_type == 'keycloak-oidc':
        if not CONF.keycloak_oidc.auth_url:
            raise StartupError(
                'Authentication is on ([pecan] auth_enable, auth_type = '
                'keycloak-oidc) but [keycloak_oidc] auth_url is not set: '
                'set it to the Keycloak URL, ' + _AUTH_FIXES)
        return
    check_keystone()


def wrap_auth_error(error: Exception) -> StartupError:
    """An error raised while building the authentication middleware."""
    return StartupError(
        'Cannot set up Keystone authentication from [keystone_authtoken] '
        '(%s: %s): fix that section or set [pecan] auth_enable = False'
        % (type(error).__name__, error))
