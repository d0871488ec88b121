"""Fixtures: a real database with the schema, the API app, recorded casts.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest
import webtest
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db import models
from mistral.handoff import outbox

CONF = cfg.CONF

WF = """---
version: '2.0'

wf1:
  input:
    - name
    - greeting: Hello
  tasks:
    t1:
      action: std.echo output="<% $.greeting %>, <% $.name %>"
"""


@pytest.fixture
def db(request: Any, tmp_path: Any) -> Iterator[None]:
    """A fresh database: SQLite unless the test parametrizes it
    (indirect) with "postgresql" or "mysql"."""
    from mistral.tests.functional import harness

    default = os.environ.get('MISTRAL_API_TEST_DB', 'sqlite')
    database = harness.make_database(getattr(request, 'param', default),
                                     str(tmp_path))
    database.create()
    CONF.set_override('connection', database.url, group='database')
    CONF.set_override('auth_enable', False, group='pecan')
    db_api.dispose()
    models.Base.metadata.create_all(db_api.get_engine())
    try:
        yield
    finally:
        db_api.dispose()
        database.drop()


class Recorder:
    """Stands in for RPC clients and relay senders: records every send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def sender(self, target: str):
        def send(ctx: Any, method: str, server: Any, payload: dict) -> None:
            self.sent.append((target, method, {**payload, '_ctx': ctx}))
        return send

    def of(self, method: str) -> list[dict[str, Any]]:
        return [p for _t, m, p in self.sent if m == method]


@pytest.fixture
def sent(monkeypatch: Any) -> Iterator[Recorder]:
    """Every outbox send, scheduler wake-up and event-engine cast."""
    from mistral.rpc import clients

    rec = Recorder()
    relay = outbox.Relay(senders={t: rec.sender(t) for t in (
        'engine', 'executor', 'notifier', 'event_engine')})
    monkeypatch.setattr(outbox, '_relay', relay)

    class _Cast:
        def __init__(self, target: str) -> None:
            self._target = target

        def cast(self, ctx: Any, method: str, **kwargs: Any) -> None:
            rec.sent.append((self._target, method, kwargs))

    monkeypatch.setattr(clients, 'scheduler', lambda: _Cast('scheduler'))
    monkeypatch.setattr(clients, 'event_engine',
                        lambda: _Cast('event_engine'))
    yield rec
    relay.stop()


@pytest.fixture
def app(db: None, sent: Recorder) -> webtest.TestApp:
    from mistral.api import app as api_app

    return webtest.TestApp(api_app.setup_app())


def create_wf(app: webtest.TestApp, text: str = WF) -> dict[str, Any]:
    resp = app.post('/v2/workflows', text,
                    headers={'Content-Type': 'text/plain'})
    return resp.json['workflows'][0]
