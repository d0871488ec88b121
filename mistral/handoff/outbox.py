"""Transactional outbox: messages written with the state they follow.

A unit of work collects messages in a :class:`Batch`; the rows are inserted
in the same transaction as the state change, and sent by the writer right
after commit. A process that dies between commit and send leaves its rows
behind; their lease runs out and :class:`Relay`'s sweep (in any process)
sends them. Receivers are idempotent, so a message sent twice is harmless.

Rows with a future ``due_at`` are delayed messages: they are not sent after
commit but by the sweep once due.

How a message reaches its target (an RPC cast, this process's local
executor or notifier, a test's queue) is not known here: the senders are
registered per target at process start (:func:`register_sender`, from
:mod:`mistral.service.handoffs`).
"""

from __future__ import annotations

import datetime
import logging
import queue
import threading
import time
import uuid
from typing import Any, Callable

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import orm

from mistral.db import api as db_api
from mistral.db import models
from mistral.db import write_buffer
from mistral.handoff import hooks
from mistral.handoff import lease
from mistral.handoff.identity import PROCESS_ID
from mistral.metrics import hooks as metrics
from mistral.utils import timeutils

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Receivers that delete the row themselves when they commit the message's
# effect (see Relay.deliver and acknowledge()).
ACKNOWLEDGING_TARGETS = frozenset(('engine', 'executor'))

# The executor message that carries several actions (see Batch).
RUN_ACTIONS = 'run_actions'

# target name -> callable(ctx, method, server, payload) that casts.
Sender = Callable[[dict[str, Any], str, str | None, dict[str, Any]], None]


# target -> its sender, registered at process start
# (mistral.service.handoffs.wire); a relay built without senders of its own
# looks them up here when it sends.
_senders: dict[str, Sender] = {}


def register_sender(target: str, sender: Sender | None) -> Sender | None:
    """Make ``sender`` the way messages for ``target`` leave this process
    (None: none); returns the sender it replaces."""
    previous = _senders.pop(target, None)
    if sender is not None:
        _senders[target] = sender
    return previous


def registered_senders() -> dict[str, Sender]:
    return dict(_senders)


# Outbox rows go with the transaction's other writes (nobody reads the
# row count; see mistral.db.write_buffer).
_INSERT = models.OutboxMessage.__table__.insert().execution_options(
    **{write_buffer.HOLD: True})


class Batch:
    """Messages produced by one unit of work.

    Actions for any executor (``run_action`` without a ``server``) that
    are due now travel together: up to ``[executor] actions_per_message``
    of them, with the same request context, in one ``run_actions``
    message (one outbox row, one message, one claim by the executor that
    receives it). A group of one is sent as a plain ``run_action``.
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._actions: dict[str, Any] | None = None

    def add(self, target: str, method: str, payload: dict[str, Any],
            ctx: dict[str, Any] | None = None, server: str | None = None,
            due_at: datetime.datetime | None = None) -> None:
        now = timeutils.utcnow()
        due = due_at or now
        if due > now:
            # Delayed: nobody owns it; whoever finds it due first (a
            # scheduler, or an engine's sweep) claims and sends it.
            owner, lease_until = None, due
        else:
            owner, lease_until = PROCESS_ID, now + datetime.timedelta(
                seconds=CONF.engine.outbox_lease)
            if target == 'executor' and method == 'run_action' and \
                    server is None and self._join_actions(payload, ctx):
                return
        row: dict[str, Any] = {
            'id': str(uuid.uuid4()), 'target': target, 'method': method,
            'payload': {'ctx': ctx or {}, 'args': payload},
            'server': server, 'due_at': due, 'owner': owner,
            'lease_until': lease_until, 'created_at': now,
        }
        self.rows.append(row)
        if target == 'executor' and method == 'run_action' and \
                server is None and owner is not None:
            row['method'] = RUN_ACTIONS
            row['payload']['args'] = {'actions': [payload]}
            self._actions = row

    def _join_actions(self, payload: dict[str, Any],
                      ctx: dict[str, Any] | None) -> bool:
        """Add an action to the open ``run_actions`` row if it has room
        and the same context."""
        row = self._actions
        if row is None or row['payload']['ctx'] != (ctx or {}):
            return False
        actions = row['payload']['args']['actions']
        if len(actions) >= CONF.executor.actions_per_message:
            return False
        actions.append(payload)
        return True

    def drop(self, row: dict[str, Any]) -> None:
        """Take a row back before it is written (its message is not
        needed after all)."""
        self.rows.remove(row)
        if self._actions is row:
            self._actions = None

    def write(self, session: orm.Session) -> None:
        """Insert the rows in the caller's transaction."""
        for row in self.rows:
            if row['method'] == RUN_ACTIONS and \
                    len(row['payload']['args']['actions']) == 1:
                # Alone: the single-action message every executor knows.
                row['method'] = 'run_action'
                row['payload']['args'] = row['payload']['args']['actions'][0]
        self._actions = None
        if self.rows:
            # A Core statement: the ORM's bulk insert would flush the
            # session first and cost more than the insert itself.
            session.connection().execute(_INSERT, self.rows)
            soonest = min((r['due_at'] for r in self.rows
                           if r['owner'] is None), default=None)
            if soonest is not None:
                sa.event.listen(session, 'after_commit',
                                lambda _s: wake_schedulers(soonest),
                                once=True)

    def due_now(self) -> list[dict[str, Any]]:
        now = timeutils.utcnow()
        return [r for r in self.rows if r['due_at'] <= now]


def wake_schedulers(due_at: datetime.datetime) -> None:
    """Tell the schedulers that a delayed message is due at ``due_at``.

    Only when that is sooner than a scheduler's longest sleep: a later row
    is found by the scheduler's own next look at the table anyway. The
    ``wake_schedulers`` hook sends the wake-up (nothing when unwired).
    """
    horizon = timeutils.utcnow() + datetime.timedelta(
        seconds=CONF.scheduler.max_sleep)
    if due_at >= horizon:
        return
    try:
        hooks.call('wake_schedulers', due_at)
    except Exception:
        # Not fatal: the scheduler finds the row on its next look.
        LOG.warning('Waking the schedulers failed', exc_info=True)


def acknowledge(session: orm.Session, outbox_id: str | None) -> None:
    """Delete a received message's row in the receiver's transaction."""
    if outbox_id:
        table = models.OutboxMessage.__table__
        session.connection().execute(
            table.delete().where(table.c.id == outbox_id))


def acknowledge_alone(outbox_id: str | None) -> None:
    """Delete a row whose message could not be applied (a 4xx error): it
    would fail the same way every time it was sent again."""
    if not outbox_id:
        return
    try:
        with db_api.transaction() as s:
            acknowledge(s, outbox_id)
    except Exception:
        LOG.warning('Could not delete outbox row %s', outbox_id,
                    exc_info=True)


@db_api.retry_on_db_error
def claim_due(limit: int, lease_seconds: float,
              now: datetime.datetime | None = None) -> list[dict[str, Any]]:
    """Take rows that are due and whose lease ran out (nobody is sending
    them) for this process, for ``lease_seconds``. Concurrent claimers
    skip each other's rows (SKIP LOCKED; SQLite has a single writer)."""
    now = now or timeutils.utcnow()
    table = models.OutboxMessage
    with db_api.transaction() as s:
        rows = lease.claim(
            s, sa.select(table).where(table.due_at <= now,
                                      table.lease_until <= now)
            .order_by(table.due_at).limit(limit),
            table, 'lease_until',
            now + datetime.timedelta(seconds=lease_seconds))
        # due_at: for the lag and lateness metrics.
        return [{'id': r.id, 'target': r.target, 'method': r.method,
                 'payload': r.payload, 'server': r.server,
                 'due_at': r.due_at} for r in rows]


class Relay:
    """Sends outbox rows and deletes them once sent.

    Deletions are batched by a background thread so that sending after
    commit costs no extra transaction on the hot path.
    """

    def __init__(self, senders: dict[str, Sender] | None = None) -> None:
        # None: the process's registered senders (register_sender).
        self._senders = senders
        self._sent: list[str] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Components of this process that started the relay and have not
        # stopped it: one process may run several (mistral-server --server
        # all), and the first to stop must not stop it under the others.
        self._users = 0
        # deliver_soon()'s sending thread and its own queue of rows (None:
        # stop), made together and dropped together under _lock, so that
        # rows handed over while stop() runs go to a new pair.
        self._sender: tuple[threading.Thread, queue.SimpleQueue[
            list[dict[str, Any]] | None]] | None = None

    @property
    def senders(self) -> dict[str, Sender]:
        if self._senders is None:
            return _senders
        return self._senders

    def start(self) -> None:
        with self._lock:
            self._users += 1
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop,
                                            name='outbox-relay', daemon=True)
            self._thread.start()

    def stop(self, force: bool = False) -> None:
        """One user is done with the relay; it stops when the last one
        is (or, ``force``, now)."""
        with self._lock:
            self._users = 0 if force else max(self._users - 1, 0)
            if self._users:
                return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            sender, self._sender = self._sender, None
        if sender is not None:
            # What deliver_soon() was given is sent before the end.
            thread, rows_queue = sender
            rows_queue.put(None)
            thread.join(timeout=10)
        self._flush_deletes()

    def deliver_soon(self, rows: list[dict[str, Any]]) -> None:
        """Like deliver(), on this relay's sending thread: for a writer
        whose caller waits for its answer (the API for a started
        execution), which should not also wait for the messages that
        follow from it. The rows are committed, so a process that dies
        before it sends them leaves them to a sweep, as deliver() does."""
        if not rows:
            return
        with self._lock:
            if self._sender is None:
                rows_queue: queue.SimpleQueue[
                    list[dict[str, Any]] | None] = queue.SimpleQueue()
                thread = threading.Thread(
                    target=self._send_loop, args=(rows_queue,),
                    name='outbox-sender', daemon=True)
                thread.start()
                self._sender = (thread, rows_queue)
            self._sender[1].put(rows)

    def _send_loop(self, rows_queue: queue.SimpleQueue[
            list[dict[str, Any]] | None]) -> None:
        for rows in iter(rows_queue.get, None):
            self._send_logged(rows)

    def _send_logged(self, rows: list[dict[str, Any]]) -> None:
        try:
            self.deliver(rows)
        except Exception:  # deliver() keeps going row by row; never die
            LOG.warning('Sending outbox rows failed; they will be retried',
                        exc_info=True)

    def deliver(self, rows: list[dict[str, Any]]) -> None:
        """Send rows now (after their transaction committed).

        Messages to the engine and executors carry the row id
        (``outbox_id``); the receiver deletes the row in the transaction
        that applies the message, so a message whose receiver died before
        committing is sent again once the lease ends. Other rows are
        deleted here once sent.
        """
        for row in rows:
            acked_by_receiver = row['target'] in ACKNOWLEDGING_TARGETS
            try:
                sender = self.senders[row['target']]
                payload = row['payload']
                args = dict(payload.get('args') or {})
                if acked_by_receiver:
                    args['outbox_id'] = row['id']
                sender(payload.get('ctx') or {}, row['method'], row['server'],
                       args)
            except Exception:
                # The row stays; the sweep re-sends it once its lease ends.
                LOG.warning('Sending %s.%s failed; it will be retried',
                            row['target'], row['method'], exc_info=True)
                continue
            metrics.message_sent(row)
            if not acked_by_receiver:
                with self._lock:
                    self._sent.append(row['id'])
        if self._sent:
            self._wake.set()

    def _flush_deletes(self) -> None:
        with self._lock:
            ids, self._sent = self._sent, []
        if not ids:
            return
        try:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                with db_api.transaction() as s:
                    s.execute(sa.delete(models.OutboxMessage).where(
                        models.OutboxMessage.id.in_(chunk)))
        except Exception:
            # Not fatal: undeleted rows are re-sent later, receivers are
            # idempotent.
            LOG.warning('Deleting sent outbox rows failed', exc_info=True)

    def sweep(self, limit: int = 200) -> int:
        """Claim and send rows whose lease ran out (left by dead
        processes, failed sends, or delayed rows now due)."""
        claimed = claim_due(limit=limit,
                            lease_seconds=CONF.engine.outbox_lease)
        if not claimed:
            return 0
        LOG.info('Relaying %d outbox message(s) left unsent', len(claimed))
        self.deliver(claimed)
        return len(claimed)

    def _loop(self) -> None:
        interval = CONF.engine.outbox_poll_interval
        next_sweep = 0.0
        while not self._stop.is_set():
            self._wake.wait(timeout=0.05)
            self._wake.clear()
            self._flush_deletes()
            if time.monotonic() >= next_sweep:
                try:
                    while self.sweep() and not self._stop.is_set():
                        pass
                except Exception:
                    LOG.warning('Outbox sweep failed', exc_info=True)
                next_sweep = time.monotonic() + interval
                metrics.outbox_depth.maybe_sample()


_relay: Relay | None = None
_relay_lock = threading.Lock()


def relay() -> Relay:
    """The process's relay (created on first use)."""
    global _relay
    if _relay is None:
        with _relay_lock:
            if _relay is None:
                _relay = Relay()
    return _relay


def reset() -> None:
    global _relay
    with _relay_lock:
        if _relay is not None:
            _relay.stop(force=True)
        _relay = None
