"""/healthcheck: database and message bus checks, no authentication."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import webtest
from oslo_config import cfg

from mistral.api import app as api_app
from mistral.db import api as db_api

CONF = cfg.CONF


def _refuse_all(app: Any) -> Any:
    """An authentication layer that lets nothing through."""
    def refuse(environ: dict, start_response: Any) -> Any:
        start_response('401 Unauthorized', [('Content-Type', 'text/plain')])
        return [b'no']
    return refuse


@pytest.fixture
def health_app(db: Any, engine: Any, monkeypatch: Any) -> Any:
    CONF.set_override('enabled', True, group='healthcheck')
    CONF.set_override('auth_enable', True, group='pecan')
    # The check is outside authentication: it answers even though the
    # authentication layer refuses every request.
    monkeypatch.setattr(api_app, '_keystone', _refuse_all)
    yield lambda: webtest.TestApp(api_app.setup_app())
    CONF.clear_override('enabled', group='healthcheck')
    CONF.set_override('auth_enable', False, group='pecan')
    CONF.clear_override('transport_url')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_disabled_by_default(app: Any) -> None:
    app.get('/healthcheck', status=404)


def test_healthy_with_fake_transport(health_app: Any) -> None:
    CONF.set_override('transport_url', 'fake:/')
    app = health_app()
    r = app.get('/healthcheck', headers={'Accept': 'application/json'})
    assert r.status_int == 200
    assert set(r.json['reasons']) == {'Database OK', 'Message bus OK'}
    # Everything else still goes through authentication.
    assert app.get('/v2/workflows', status=401).text == 'no'
    assert app.head('/healthcheck').status_int == 204


def test_real_rabbitmq_is_reachable(health_app: Any) -> None:
    CONF.set_override('transport_url', 'rabbit://guest:guest@127.0.0.1:5672/')
    assert health_app().get('/healthcheck').status_int == 200


def test_unreachable_bus_is_503(health_app: Any) -> None:
    CONF.set_override('transport_url',
                      'rabbit://guest:guest@127.0.0.1:%d/' % _free_port())
    r = health_app().get('/healthcheck', status=503)
    assert 'Message bus unreachable' in r.text
    # Wrong credentials are a failure too.
    CONF.set_override('transport_url', 'rabbit://guest:nope@127.0.0.1:5672/')
    health_app().get('/healthcheck', status=503)


def test_unreachable_database_is_503(health_app: Any) -> None:
    CONF.set_override('transport_url', 'fake:/')
    app = health_app()
    CONF.set_override(
        'connection',
        'postgresql://postgres@127.0.0.1:%d/nodb' % _free_port(),
        group='database')
    db_api.dispose()
    try:
        r = app.get('/healthcheck', status=503)
        assert 'Database unreachable' in r.text
    finally:
        db_api.dispose()


def test_tls_brokers_are_reached_with_tls() -> None:
    import oslo_messaging

    from mistral.api import healthcheck

    def parse(url: str) -> Any:
        return oslo_messaging.TransportURL.parse(CONF, url)

    assert healthcheck._rabbit_ssl(parse('rabbit://u:p@h:5671/?ssl=1'))
    assert not healthcheck._rabbit_ssl(parse('rabbit://u:p@h:5672/'))
