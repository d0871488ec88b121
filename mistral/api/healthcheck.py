"""/healthcheck: oslo.middleware's healthcheck with database and bus checks.

Mounted at exactly ``/healthcheck`` when ``[healthcheck] enabled``,
outside authentication. Two backends (entry point
``oslo.middleware.healthcheck``) are on by default:

* ``mistral_database``: ``SELECT 1`` on the configured database;
* ``mistral_messaging``: the message bus of ``transport_url`` accepts a
  connection (a login for RabbitMQ, a TCP connection for other drivers;
  the in-memory ``fake`` transport is always reachable).

Any failing backend makes the answer 503.
"""

from __future__ import annotations

import socket
from typing import Any, Callable

from oslo_config import cfg
from oslo_middleware import healthcheck
from oslo_middleware.healthcheck import opts as middleware_opts
from oslo_middleware.healthcheck import pluginbase

CONF = cfg.CONF

PATH = '/healthcheck'
DEFAULT_BACKENDS = ['mistral_database', 'mistral_messaging']

# Seconds a check may take before the component counts as unreachable.
TIMEOUT = 3.0


class DatabaseCheck(pluginbase.HealthcheckBaseExtension):
    """The database answers ``SELECT 1``."""

    def healthcheck(self, server_port: int) -> pluginbase.HealthcheckResult:
        import sqlalchemy as sa

        from mistral.db import api as db_api

        try:
            with db_api.get_engine().connect() as conn:
                conn.execute(sa.text('SELECT 1')).scalar()
        except Exception as e:
            return pluginbase.HealthcheckResult(
                available=False, reason='Database unreachable',
                details=str(e))
        return pluginbase.HealthcheckResult(available=True,
                                            reason='Database OK')


def _rabbit_ssl(url: Any) -> bool:
    """Whether the broker is reached over TLS (URL query or options)."""
    if str(url.query.get('ssl', '')).lower() in ('1', 'true', 'yes'):
        return True
    try:
        return bool(CONF.oslo_messaging_rabbit.ssl)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return False


def _rabbit_reachable(host: Any, url: Any) -> None:
    # kombu.connection, where Connection is defined (kombu re-exports it
    # lazily; the same class).
    import kombu.connection

    conn = kombu.connection.Connection(
        hostname=host.hostname or 'localhost', port=host.port or 5672,
        userid=host.username or 'guest', password=host.password or 'guest',
        virtual_host=url.virtual_host or '/', connect_timeout=TIMEOUT,
        ssl=_rabbit_ssl(url), transport='pyamqp')
    try:
        conn.connect()
    finally:
        conn.release()


def _tcp_reachable(host: Any, default_port: int) -> None:
    with socket.create_connection((host.hostname or 'localhost',
                                   host.port or default_port),
                                  timeout=TIMEOUT):
        pass


def bus_problem() -> str | None:
    """Why no broker of ``transport_url`` is reachable, or None."""
    import oslo_messaging

    url = oslo_messaging.TransportURL.parse(CONF, CONF.transport_url)
    if url.transport in (None, 'fake'):
        return None
    errors = []
    for host in url.hosts or []:
        try:
            if url.transport in ('rabbit', 'kombu', 'amqp'):
                _rabbit_reachable(host, url)
            else:
                _tcp_reachable(host, 5672)
            return None
        except Exception as e:
            errors.append('%s:%s: %s' % (host.hostname, host.port, e))
    return '; '.join(errors) or 'no broker host configured'


class MessagingCheck(pluginbase.HealthcheckBaseExtension):
    """A broker of the message bus accepts a connection."""

    def healthcheck(self, server_port: int) -> pluginbase.HealthcheckResult:
        try:
            problem = bus_problem()
        except Exception as e:
            problem = str(e)
        if problem:
            return pluginbase.HealthcheckResult(
                available=False, reason='Message bus unreachable',
                details=problem)
        return pluginbase.HealthcheckResult(available=True,
                                            reason='Message bus OK')


def _register_opts() -> None:
    CONF.register_opts(middleware_opts.HEALTHCHECK_OPTS,
                       group='healthcheck')
    # Our checks are on unless the operator chose the backends.
    CONF.set_default('backends', DEFAULT_BACKENDS, group='healthcheck')


class HealthcheckDispatcher:
    """Serve ``/healthcheck`` by oslo.middleware, the rest by ``app``."""

    def __init__(self, app: Callable[..., Any]) -> None:
        _register_opts()
        self.app = app
        self.check = healthcheck.Healthcheck(
            None, {'oslo_config_config': CONF})

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if environ.get('PATH_INFO', '').rstrip('/') == PATH:
            return self.check(environ, start_response)
        return self.app(environ, start_response)


def mount(app: Callable[..., Any]) -> Callable[..., Any]:
    return HealthcheckDispatcher(app)
