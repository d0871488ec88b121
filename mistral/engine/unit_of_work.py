"""One engine transaction and the messages it implies."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from oslo_config import cfg
from sqlalchemy import orm

from mistral.db import api as db_api
from mistral.db import write_buffer
from mistral.engine import bulk
from mistral.handoff import outbox

CONF = cfg.CONF

_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()
_inside = threading.local()


def _semaphore() -> threading.BoundedSemaphore:
    size = CONF.engine.workers
    sem = _slots.get(size)
    if sem is None:
        with _slots_lock:
            sem = _slots.setdefault(size, threading.BoundedSemaphore(size))
    return sem


@contextlib.contextmanager
def _slot() -> Iterator[None]:
    """At most ``[engine] workers`` engine transactions at once in this
    process. Their work is Python under one GIL between short database
    waits: more of them at once contend for the GIL and cost CPU (64 at
    once, oslo.messaging's pool, took 10% more CPU per request and served
    15% fewer than 4). Requests that wait for something else (an
    executor's answer, a broker) do it outside, so they hold no slot."""
    if getattr(_inside, 'depth', 0):
        _inside.depth += 1
        try:
            yield
        finally:
            _inside.depth -= 1
        return
    sem = _semaphore()
    with sem:
        _inside.depth = 1
        try:
            yield
        finally:
            _inside.depth = 0


@contextlib.contextmanager
def unit_of_work(outbox_id: str | None = None, answer_first: bool = False
                 ) -> Iterator[tuple[orm.Session, outbox.Batch]]:
    """State changes and outbox rows commit together; the rows that are
    due are sent only after the commit succeeded.

    ``outbox_id`` is the row of the message being applied: it is deleted
    in the same transaction, so it is applied once or sent again.

    ``answer_first``: the rows are sent by the relay's own thread, so the
    request's answer goes back without waiting for them.
    """
    batch = outbox.Batch()
    with _slot(), db_api.transaction() as session:
        write_buffer.hold(session)
        outbox.acknowledge(session, outbox_id)
        yield session, batch
        bulk.flush(session)
        batch.write(session)
        write_buffer.release(session)
    if answer_first:
        outbox.relay().deliver_soon(batch.due_now())
    else:
        outbox.relay().deliver(batch.due_now())
