"""mistral.handoff: the claim helper, the relay's sender registry, hooks,
and the senders a process wires (mistral.service.handoffs)."""

from __future__ import annotations

import datetime
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db import models
from mistral.handoff import hooks
from mistral.handoff import identity
from mistral.handoff import lease
from mistral.handoff import outbox
from mistral.service import handoffs
from mistral.tests.unit.triggers.conftest import db  # noqa: F401
from mistral.utils import timeutils

OB = models.OutboxMessage


def _write(n: int) -> list[str]:
    batch = outbox.Batch()
    soon = timeutils.utcnow() + datetime.timedelta(seconds=1)
    for i in range(n):
        # Delayed rows: nobody owns them; due for the claims below, which
        # look a minute ahead.
        batch.add('engine', 'continue_task', {'i': i}, due_at=soon)
    with db_api.transaction() as s:
        batch.write(s)
    return [r['id'] for r in batch.rows]


def _due(now: datetime.datetime, limit: int = 10) -> Any:
    return (sa.select(OB).where(OB.lease_until <= now)
            .order_by(OB.due_at, OB.id).limit(limit))


@pytest.mark.parametrize('db', ['sqlite', 'postgresql', 'mysql'],
                         indirect=True)
def test_claim_leases_rows_to_this_process(db):  # noqa: F811
    ids = _write(2)
    now = timeutils.utcnow() + datetime.timedelta(seconds=60)
    until = now + datetime.timedelta(seconds=30)
    with db_api.transaction() as s:
        got = lease.claim(s, _due(now), OB, 'lease_until', until)
    assert sorted(r.id for r in got) == sorted(ids)
    with db_api.read_session() as s:
        rows = s.execute(sa.select(OB.owner, OB.lease_until)).all()
    assert {r.owner for r in rows} == {identity.PROCESS_ID}
    assert all(abs((r.lease_until - until).total_seconds()) < 1
               for r in rows)
    with db_api.transaction() as s:
        assert lease.claim(s, _due(now), OB, 'lease_until', until) == []


@pytest.mark.parametrize('db', ['postgresql', 'mysql'], indirect=True)
def test_concurrent_claimers_skip_each_others_rows(db):  # noqa: F811
    _write(3)
    now = timeutils.utcnow() + datetime.timedelta(seconds=60)
    until = now + datetime.timedelta(seconds=30)
    holding = threading.Event()
    release = threading.Event()
    first: list[str] = []

    def claimer() -> None:
        with db_api.transaction() as s:
            first.extend(r.id for r in lease.claim(
                s, _due(now, limit=1), OB, 'lease_until', until))
            holding.set()
            release.wait(30)

    t = threading.Thread(target=claimer)
    t.start()
    try:
        assert holding.wait(10)
        # The first claimer's row is locked, not waited for (without SKIP
        # LOCKED this claim would wait for the first one to commit).
        started = time.monotonic()
        with db_api.transaction() as s:
            second = [r.id for r in lease.claim(
                s, _due(now), OB, 'lease_until', until)]
        waited = time.monotonic() - started
    finally:
        release.set()
        t.join(30)
    assert waited < 10
    assert len(first) == 1 and len(second) == 2
    assert not set(first) & set(second)


def test_relay_sends_through_the_registered_senders(db, monkeypatch):  # noqa: F811,E501
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(outbox, '_senders', {})
    relay = outbox.Relay()
    # Registered after the relay was built: looked up when sending.
    outbox.register_sender(
        'notifier', lambda ctx, method, server, payload:
        sent.append(('notifier', method)))
    relay.deliver([{'id': 'r1', 'target': 'notifier', 'method': 'notify',
                    'server': None, 'payload': {'args': {}}},
                   {'id': 'r2', 'target': 'nobody', 'method': 'x',
                    'server': None, 'payload': {'args': {}}}])
    # The row nobody can send stays for the sweep (not marked sent).
    assert sent == [('notifier', 'notify')]
    assert relay._sent == ['r1']
    relay._sent = []


def test_hooks_are_skipped_until_registered():
    assert hooks.register('test-hook', None) is None
    assert hooks.call('test-hook') is False
    with pytest.raises(RuntimeError, match='test-hook'):
        hooks.require('test-hook')
    calls = []
    assert hooks.register('test-hook', calls.append) is None
    assert hooks.call('test-hook', 1) is True
    assert hooks.register('test-hook', None) == calls.append
    assert calls == [1]


def test_wire_registers_every_target_and_hook():
    handoffs.wire()
    assert set(outbox.registered_senders()) == {
        'engine', 'executor', 'notifier', 'event_engine'}
    for name in ('wake_schedulers', 'wake_notifiers', 'run_action_sync'):
        assert hooks.get(name) is not None


class _Runner:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def run_action_sync(self, ctx: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {'data': 1}


def test_sync_actions_go_to_the_target_unless_local(monkeypatch):
    from mistral.executor import executor as executor_mod
    from mistral.rpc import clients

    remote, local = _Runner(), _Runner()
    monkeypatch.setattr(clients, 'executor', lambda: remote)
    monkeypatch.setattr(executor_mod, 'local', lambda: local)
    args = dict(action_name='std.noop', action_input={}, namespace='',
                action_timeout=None)
    monkeypatch.setattr(executor_mod, 'is_local', lambda: False)
    handoffs.run_action_sync({}, target='h1', **args)
    handoffs.run_action_sync({}, target=None, **args)
    assert remote.calls == [dict(args, target='h1'), args]
    # One executor in this process: the target cannot choose.
    monkeypatch.setattr(executor_mod, 'is_local', lambda: True)
    handoffs.run_action_sync({}, target='h1', **args)
    assert local.calls == [args]
