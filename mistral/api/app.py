"""The WSGI application of the REST API."""

from __future__ import annotations

from typing import Any, Callable

import pecan
from oslo_config import cfg
from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi

from mistral import config as _config  # noqa: F401  (options)
from mistral.api import console
from mistral.api import errors
from mistral.api import faults
from mistral.api import hooks
from mistral.api import pecan_speedups

CONF = cfg.CONF


def _pecan_config() -> dict[str, Any]:
    return {
        'app': {
            'root': CONF.pecan.root,
            'modules': CONF.pecan.modules,
            'debug': CONF.pecan.debug,
        },
        'wsme': {'debug': False},
    }


def _keystone(app: Callable[..., Any],
              conf: cfg.ConfigOpts | None = None) -> Callable[..., Any]:
    """keystonemiddleware in front of ``app``; StartupError when
    ``[keystone_authtoken]`` cannot validate tokens."""
    from keystonemiddleware import auth_token

    from mistral.auth import checks

    checks.check_keystone(conf)
    try:
        # The token is validated by the middleware; ContextHook decides, so
        # the unauthenticated paths (version discovery) still answer.
        return auth_token.AuthProtocol(app, {
            'oslo_config_config': conf or CONF,
            'delay_auth_decision': True,
        })
    except Exception as e:  # a bad auth plugin or missing plugin options
        raise checks.wrap_auth_error(e) from e


def _authenticated(app: Callable[..., Any]) -> Callable[..., Any]:
    """``app`` behind the configured authentication. A configuration
    that could not validate any token raises StartupError (one line that
    names the fixes) instead of answering every request with a 500."""
    if CONF.auth_type == 'keycloak-oidc':
        from mistral.auth import checks
        from mistral.auth import keycloak

        checks.check_auth()
        return keycloak.KeycloakAuth(app)
    return _keystone(app)


def check_authentication() -> None:
    """Build the authentication middleware once, without serving, so
    that a configuration it cannot work with stops the process at start
    (StartupError) rather than failing every request."""
    if CONF.pecan.auth_enable:
        _authenticated(lambda environ, start_response: [])


def _profiling() -> bool:
    try:
        return bool(CONF.profiler.enabled)
    except cfg.NoSuchOptError:  # osprofiler is not installed
        return False


class _WhenEnabled:
    """Route through an oslo.middleware filter only while it has work.

    Those filters inspect their own ``process_response`` signature on every
    request, a cost worth skipping while they are switched off (CORS with
    no allowed origin, proxy headers not trusted)."""

    def __init__(self, app: Callable[..., Any], middleware: Callable[..., Any],
                 enabled: Callable[[], bool]) -> None:
        self._app = app
        self._middleware = middleware
        self._enabled = enabled

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        if self._enabled():
            return self._middleware(environ, start_response)
        return self._app(environ, start_response)


def setup_app(config: dict[str, Any] | None = None) -> Callable[..., Any]:
    """Build the API WSGI application from ``CONF``."""
    pecan_speedups.install()
    conf = pecan.configuration.conf_from_dict(config or _pecan_config())
    app_conf = dict(conf.app)
    app = pecan.make_app(
        app_conf.pop('root'),
        hooks=[hooks.RejectXmlHook(), hooks.ContextHook(),
               hooks.MaintenanceHook(), hooks.JsonBodyHook(),
               faults.BodyTypesHook()],
        logging=False,
        guess_content_type_from_ext=False,
        request_cls=pecan_speedups.Request,  # reads the body once
        **{k: v for k, v in app_conf.items() if k in ('debug',)},
    )
    app = faults.JsonFaults(app)  # pecan's own errors as JSON too
    app = console.mount_private(app)  # /ui/api/*, authenticated
    # WSME reads its own options from pecan.conf.
    pecan.conf.update({'wsme': {'debug': False}})
    if CONF.pecan.auth_enable:
        app = _authenticated(app)
    # CORS does nothing until [cors] allowed_origin is set; proxy headers
    # (X-Forwarded-*) are honoured with [oslo_middleware]
    # enable_proxy_headers_parsing, so next links show the public URL.
    if _profiling():
        from osprofiler import web as osprofiler_web

        # Requests signed with one of the HMAC keys (X-Trace-Info,
        # X-Trace-HMAC) are traced; others pass untouched.
        app = osprofiler_web.WsgiMiddleware(
            app, hmac_keys=CONF.profiler.hmac_keys, enabled=True)
    cors_mw = cors.CORS(app, CONF)
    app = _WhenEnabled(app, cors_mw, lambda: bool(cors_mw.allowed_origins))
    proxy_mw = http_proxy_to_wsgi.HTTPProxyToWSGI(app, CONF)
    app = _WhenEnabled(
        app, proxy_mw,
        lambda: bool(CONF.oslo_middleware.enable_proxy_headers_parsing))
    if CONF.healthcheck.enabled:
        from mistral.api import healthcheck

        # Outside authentication: load balancers probe it anonymously.
        app = healthcheck.mount(app)
    if CONF.metrics.enabled:
        from mistral.metrics import exposition

        app = exposition.mount(app)  # unauthenticated, like healthcheck
    app = console.mount_public(app)  # /ui/: the web console
    return errors.AccessLogMiddleware(errors.CatchAllMiddleware(app))
