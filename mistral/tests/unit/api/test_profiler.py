"""osprofiler's WSGI middleware wraps the API when [profiler] enabled."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import webtest
from oslo_config import cfg
from osprofiler import notifier
from osprofiler import profiler
from osprofiler import web

from mistral.api import app as api_app

CONF = cfg.CONF


@pytest.fixture
def traces(db: Any, engine: Any):
    seen: list[dict[str, Any]] = []
    lock = threading.Lock()

    def collect(info: dict[str, Any], **kwargs: Any) -> None:
        with lock:
            seen.append(info)

    notifier.set(collect)
    try:
        yield seen
    finally:
        notifier.set(notifier._noop_notifier)
        profiler.clean()


def _app(enabled: bool) -> webtest.TestApp:
    CONF.set_override('enabled', enabled, group='profiler')
    CONF.set_override('hmac_keys', 'sekrit', group='profiler')
    return webtest.TestApp(api_app.setup_app())


def test_signed_requests_are_traced(traces):
    app = _app(True)
    profiler.init('sekrit')
    headers = web.get_trace_id_headers()
    base_id = profiler.get().get_base_id()
    profiler.clean()
    assert 'X-Trace-Info' in headers
    app.get('/v2/workflows', headers=headers)
    names = [t.get('name') for t in traces]
    assert 'wsgi-start' in names and 'wsgi-stop' in names
    start = [t for t in traces if t.get('name') == 'wsgi-start'][0]
    assert start['base_id'] == base_id
    assert start['info']['request']['path'] == '/v2/workflows'


def test_unsigned_or_badly_signed_requests_are_not(traces):
    app = _app(True)
    app.get('/v2/workflows')
    profiler.init('another-key')
    headers = web.get_trace_id_headers()
    profiler.clean()
    app.get('/v2/workflows', headers=headers)
    assert traces == []


def test_off_by_default(traces):
    CONF.clear_override('enabled', group='profiler')
    assert CONF.profiler.enabled is False
    app = _app(False)
    profiler.init('sekrit')
    headers = web.get_trace_id_headers()
    profiler.clean()
    app.get('/v2/workflows', headers=headers)
    assert traces == []
