"""The notifier's durable queue, on every database backend: order per lane,
retries with backoff, giving up, leases of dead notifiers, the loop."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db import models
from mistral.handoff import deliveries as queue
from mistral.handoff import identity
from mistral.notifiers import deliveries
from mistral.tests.unit.notifiers.hook_server import HookServer
from mistral.tests.unit.triggers.conftest import db  # noqa: F401
from mistral.utils import timeutils

pytestmark = pytest.mark.parametrize(
    'db', ['sqlite', 'postgresql', 'mysql'], indirect=True)


@pytest.fixture
def server(conf):
    # The hook server is on loopback: take it out of the denied networks.
    conf('denied_cidrs', ['169.254.0.0/16', 'fe80::/10'],
         group='action_std_http')
    conf('retry_backoff', 1.0, group='notifier')
    conf('retry_max_backoff', 4.0, group='notifier')
    conf('retry_timeout', 60.0, group='notifier')
    with HookServer() as srv:
        yield srv


def _queue(ex_id: str, events: list[str], publishers: list[dict]) -> None:
    with db_api.transaction() as s:
        for i, ev in enumerate(events):
            queue.enqueue(s, {'project_id': 'p'}, ex_id,
                          '%s-task-%d' % (ex_id, i),
                          {'id': ex_id, 'event': ev, 'n': i}, ev,
                          't%d' % i, publishers)


def _left() -> list[tuple[str, str]]:
    T = models.NotificationDelivery
    with db_api.read_session() as s:
        return [(r.execution_id, r.event) for r in s.execute(
            sa.select(T).order_by(T.id)).scalars()]


def _later(seconds: float) -> datetime.datetime:
    return timeutils.utcnow() + datetime.timedelta(seconds=seconds)


def test_one_head_per_lane_in_order(db, server):  # noqa: F811
    hook = [{'type': 'webhook', 'url': server.url + '/a'}]
    _queue('ex-1', ['E0', 'E1', 'E2'], hook)
    _queue('ex-2', ['F0', 'F1'], hook)
    got = deliveries.claim(10)
    # Only the head of each execution's lane, never a later event.
    assert [r['event'] for r in got] == ['E0', 'F0']
    assert deliveries.claim(10) == []  # both heads are leased
    for row in got:
        assert deliveries.process(row)
    nxt = deliveries.claim(10)
    assert [r['event'] for r in nxt] == ['E1', 'F1']
    for row in nxt:
        deliveries.process(row)
    for row in deliveries.claim(10):
        deliveries.process(row)
    assert deliveries.claim(10) == []
    assert _left() == []
    paths = [(b['id'], b['event']) for b in server.bodies()]
    assert [e for i, e in paths if i == 'ex-1'] == ['E0', 'E1', 'E2']
    assert [e for i, e in paths if i == 'ex-2'] == ['F0', 'F1']
    # The publisher gets the task's own id and the stored context.
    assert server.requests[0]['body'] == {'id': 'ex-1', 'event': 'E0',
                                          'n': 0}


def test_failures_back_off_and_hold_the_lane(db, server):  # noqa: F811
    server.status = 503
    _queue('ex-1', ['E0', 'E1'], [{'type': 'webhook', 'url': server.url}])
    [row] = deliveries.claim(10)
    assert deliveries.process(row) is False  # kept for a retry
    assert _left() == [('ex-1', 'E0'), ('ex-1', 'E1')]
    # Backing off: neither the head nor the event behind it goes.
    assert deliveries.claim(10) == []
    [again] = deliveries.claim(10, now=_later(1.5))
    assert again['event'] == 'E0' and again['attempts'] == 1
    assert deliveries.process(again) is False
    # The second retry waits twice as long.
    assert deliveries.claim(10, now=_later(1.5)) == []
    server.status = 200
    [third] = deliveries.claim(10, now=_later(2.5))
    assert third['attempts'] == 2
    assert deliveries.process(third) is True
    [last] = deliveries.claim(10)
    assert last['event'] == 'E1'
    deliveries.process(last)
    assert [b['event'] for b in server.bodies()] == ['E0', 'E0', 'E0', 'E1']
    assert _left() == []


def test_gives_up_after_the_retry_timeout(db, server, conf):  # noqa: F811
    conf('retry_timeout', 0.0, group='notifier')
    server.status = 500
    _queue('ex-1', ['E0', 'E1'], [{'type': 'webhook', 'url': server.url}])
    [row] = deliveries.claim(10)
    assert deliveries.process(row) is True  # given up: the lane moves on
    assert _left() == [('ex-1', 'E1')]


def test_rejected_events_are_not_retried(db, server):  # noqa: F811
    server.status = 404
    _queue('ex-1', ['E0'], [{'type': 'webhook', 'url': server.url}])
    _queue('ex-2', ['F0'], [{'type': 'no-such-publisher'}])
    for row in deliveries.claim(10):
        assert deliveries.process(row) is True
    assert _left() == []


def test_lanes_are_per_publisher(db, server):  # noqa: F811
    down = {'type': 'webhook', 'url': 'http://127.0.0.1:1/refused'}
    up = {'type': 'webhook', 'url': server.url + '/up'}
    _queue('ex-1', ['E0', 'E1'], [down, up])
    for _ in range(3):
        for row in deliveries.claim(10):
            deliveries.process(row)
    # The refusing receiver holds up only its own lane.
    assert [b['event'] for b in server.bodies()] == ['E0', 'E1']
    assert _left() == [('ex-1', 'E0'), ('ex-1', 'E1')]


def test_a_dead_notifiers_claim_runs_out(db, server, conf):  # noqa: F811
    conf('delivery_lease', 30, group='notifier')
    _queue('ex-1', ['E0'], [{'type': 'webhook', 'url': server.url}])
    [row] = deliveries.claim(10)
    # Its notifier dies before publishing: nobody else may take it
    # before the lease ends, then somebody does.
    assert deliveries.claim(10, now=_later(20)) == []
    [again] = deliveries.claim(10, now=_later(31))
    assert again['id'] == row['id']
    assert deliveries.process(again)
    assert [b['event'] for b in server.bodies()] == ['E0']


def test_only_the_owner_records_a_failure(db, server):  # noqa: F811
    _queue('ex-1', ['E0'], [{'type': 'webhook', 'url': server.url}])
    [row] = deliveries.claim(10)
    T = models.NotificationDelivery
    with db_api.transaction() as s:
        s.execute(sa.update(T).values(owner='someone-else'))
    deliveries.failed(row, 'late answer')
    with db_api.read_session() as s:
        left = s.execute(sa.select(T.owner, T.attempts)).all()
    assert left == [('someone-else', 0)]
    assert identity.PROCESS_ID != 'someone-else'


def test_loop_publishes_what_is_queued(db, server, conf):  # noqa: F811
    conf('retry_backoff', 0.05, group='notifier')
    conf('retry_max_backoff', 0.2, group='notifier')
    server.status = 503
    loop = deliveries.DeliveryLoop(workers=2)
    loop.start()
    try:
        _queue('ex-1', ['E%d' % i for i in range(5)],
               [{'type': 'webhook', 'url': server.url}])
        loop.wake()
        server.wait_for(lambda got: len(got) >= 3)
        server.status = 200
        got = server.wait_for(lambda got: any(
            b['event'] == 'E4' for b in got))
    finally:
        loop.stop()
    events = [b['event'] for b in got]
    # Retries of the head, then the rest in order, each once.
    assert set(events[:events.index('E1')]) == {'E0'}
    assert events[events.index('E1'):] == ['E1', 'E2', 'E3', 'E4']
    assert _left() == []
