"""/metrics on the API and the metrics ports of other components."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import webtest

from mistral.metrics import exposition
from mistral.metrics import hooks
from mistral.tests.functional import harness


def _ok_app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'api']


def test_mount_answers_metrics_and_passes_the_rest():
    hooks.action_done('inline', 0.0, {'data': None})
    app = webtest.TestApp(exposition.mount(_ok_app))
    resp = app.get('/metrics')
    assert resp.content_type == 'text/plain'
    assert '# TYPE mistral_action_latency_seconds histogram' in resp.text
    assert 'mistral_action_latency_seconds_count{mode="inline",' in resp.text
    assert app.get('/v2/').text == 'api'
    assert app.get('/metrics/x').text == 'api'


def _refuse_all(app):
    def refuse(environ, start_response):
        start_response('401 Unauthorized', [('Content-Type', 'text/plain')])
        return [b'no']
    return refuse


def test_api_app_serves_metrics_without_authentication(conf, monkeypatch):
    from mistral.api import app as api_app

    conf('auth_enable', True, group='pecan')
    # An authentication layer that lets nothing through.
    monkeypatch.setattr(api_app, '_keystone', _refuse_all)
    app = webtest.TestApp(api_app.setup_app())
    resp = app.get('/metrics')
    assert resp.status_int == 200
    assert 'mistral_workflow_executions_started_total' in resp.text
    # Everything else still asks for a token.
    assert app.get('/v2/workflows', expect_errors=True).status_int == 401


def test_api_app_without_metrics(conf):
    from mistral.api import app as api_app

    conf('enabled', False, group='metrics')
    app = webtest.TestApp(api_app.setup_app())
    assert app.get('/metrics', expect_errors=True).status_int == 404


@pytest.mark.parametrize('overrides,expected', [
    ({}, {c: None for c in exposition.OFFSETS}),
    ({'port': 9200}, {'engine': 9200, 'executor': 9201, 'scheduler': 9202,
                      'notifier': 9203, 'event-engine': 9204}),
    ({'port': 9200, 'executor_port': 9300},
     {'engine': 9200, 'executor': 9300, 'scheduler': 9202}),
    ({'event_engine_port': 9400},
     {'engine': None, 'event-engine': 9400}),
    ({'port': 9200, 'engine_port': 9100, 'enabled': False},
     {'engine': None, 'executor': None}),
])
def test_port_scheme(conf, overrides, expected):
    for name, value in overrides.items():
        conf(name, value, group='metrics')
    assert {c: exposition.port_for(c) for c in expected} == expected
    assert exposition.port_for('api') is None  # the API has /metrics


def _get(port: int) -> str:
    url = 'http://127.0.0.1:%d/metrics' % port
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode()


def test_components_of_a_process_share_a_port(conf):
    port = harness.free_port()
    conf('engine_port', port, group='metrics')
    conf('scheduler_port', port, group='metrics')
    servers = exposition._Servers()
    assert servers.start('engine') == port
    assert servers.start('scheduler') == port
    assert servers.start('notifier') is None
    try:
        assert 'mistral_outbox_depth' in _get(port)
        servers.stop(port)
        assert 'mistral_outbox_depth' in _get(port)  # scheduler still runs
    finally:
        servers.stop(port)
    with pytest.raises(urllib.error.URLError):
        _get(port)


def test_a_busy_port_does_not_stop_the_component(conf):
    port = harness.free_port()
    conf('executor_port', port, group='metrics')
    first, second = exposition._Servers(), exposition._Servers()
    assert first.start('executor') == port
    try:
        assert second.start('executor') is None  # logged, not raised
    finally:
        first.stop(port)
