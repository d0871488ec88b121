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


def _engine_rows(*methods: str) -> list[dict[str, Any]]:
    # 'engine' rows are deleted by their receiver: no database needed.
    return [{'id': 'row-%s' % m, 'target': 'engine', 'method': m,
             'server': None, 'payload': {'args': {}}} for m in methods]


def test_deliver_soon_returns_at_once_and_stop_sends_what_is_left():
    gate = threading.Event()
    sent: list[tuple[str, str]] = []

    def send(ctx: Any, method: str, server: Any, payload: dict) -> None:
        gate.wait(5)
        sent.append((method, threading.current_thread().name))

    relay = outbox.Relay({'engine': send})
    t0 = time.monotonic()
    relay.deliver_soon(_engine_rows('first'))
    relay.deliver_soon(_engine_rows('second', 'third'))
    relay.deliver_soon([])
    # The caller did not wait for the (blocked) sender.
    assert time.monotonic() - t0 < 1
    assert sent == []
    gate.set()
    # stop() ends the sending thread only after what it was given went.
    relay.stop()
    assert sent == [(m, 'outbox-sender')
                    for m in ('first', 'second', 'third')]
    # A relay stopped and used again starts a new sending thread.
    relay.deliver_soon(_engine_rows('again'))
    relay.stop()
    assert sent[-1] == ('again', 'outbox-sender')


def test_the_relay_runs_until_its_last_user_stops_it():
    # mistral-server --server all: the API, the engine, the executor and
    # the scheduler of one process share the relay, and the API stops
    # first; the others' sweeps must go on while they drain.
    relay = outbox.Relay({})
    relay.start()
    relay.start()
    thread = relay._thread
    assert thread is not None and thread.is_alive()
    relay.stop()
    assert relay._thread is thread and thread.is_alive()
    relay.stop()
    assert relay._thread is None and not thread.is_alive()
    # force (outbox.reset) stops it whoever still uses it.
    relay.start()
    relay.start()
    thread = relay._thread
    relay.stop(force=True)
    assert relay._thread is None and not thread.is_alive()


def test_deliver_soon_survives_a_sender_that_raises():
    sent: list[str] = []

    def send(ctx: Any, method: str, server: Any, payload: dict) -> None:
        if method == 'bad':
            raise RuntimeError('broker gone')
        sent.append(method)

    relay = outbox.Relay({'engine': send})
    relay.deliver_soon(_engine_rows('bad', 'good'))
    relay.deliver_soon(_engine_rows('later'))
    relay.stop()
    # The failed row stays for the sweep; the others went.
    assert sent == ['good', 'later']


def test_start_answers_before_the_first_tasks_messages_go(db, monkeypatch):  # noqa: F811,E501
    """The API waits for start_workflow's answer; the message that runs
    the first action is committed with the execution and sent after the
    answer, not before it."""
    from mistral.context import default_context
    from mistral.engine import engine as engine_mod
    from mistral.lang import parser

    text = ("version: '2.0'\nstarts:\n  tasks:\n    call:\n"
            "      action: std.http url=http://127.0.0.1:9/\n")
    with db_api.transaction() as s:
        for spec in parser.parse_workflows(text):
            s.add(models.WorkflowDefinition(
                name=spec.name, namespace='', definition=spec.definition,
                spec=spec.to_dict(), tags=spec.tags,
                project_id='<default-project>', checksum='x'))
    gate = threading.Event()
    sent: list[tuple[str, str]] = []

    def sender(target: str) -> outbox.Sender:
        def send(ctx: Any, method: str, server: Any, payload: dict) -> None:
            if target == 'executor':
                gate.wait(5)
            sent.append((target, method))
        return send

    relay = outbox.Relay({t: sender(t) for t in (
        'engine', 'executor', 'notifier', 'event_engine')})
    monkeypatch.setattr(outbox, '_relay', relay)
    t0 = time.monotonic()
    started = engine_mod.Engine().start_workflow(
        default_context(), 'starts', wf_input={})
    assert time.monotonic() - t0 < 4
    assert started['state'] == 'RUNNING'
    assert ('executor', 'run_action') not in sent
    gate.set()
    relay.stop()
    assert [m for t, m in sent if t == 'executor'] in (
        ['run_action'], ['run_actions'])
    with db_api.read_session() as s:
        ax = s.execute(sa.select(models.ActionExecution.state)).scalar_one()
    assert ax == 'RUNNING'
