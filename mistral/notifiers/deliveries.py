"""The notifier's durable queue: ``notification_deliveries`` rows.

(Rows are written by :mod:`mistral.handoff.deliveries`; this module claims
and publishes them.)

Beyond upstream (whose notifier publishes once and forgets):

* the engine inserts one row per event and publisher in the transaction of
  the state change, so a notification is never lost by a notifier that is
  down, restarts or is killed: it is published at least once;
* rows of one *lane* (a workflow execution and one of its publishers) are
  published one at a time in insertion order, which is the order of the
  events (an execution's engine transactions are serialised by the lock of
  its row); different lanes go in parallel;
* a failed publish is retried with exponential backoff
  (``[notifier] retry_backoff``, ``retry_max_backoff``) until
  ``retry_timeout`` seconds after its first failure, then given up and
  logged, and the lane moves on. A 4xx answer other than 408 and 429 is
  given up at once (:class:`mistral.notifiers.base.PermanentError`).

Any number of notifiers share the queue: a notifier claims the head row of
a lane with a lease (``SKIP LOCKED`` on PostgreSQL and MariaDB, the single
writer on SQLite); a lane whose head is claimed is skipped by the others,
and a head whose notifier died is claimed again once its lease ends.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import logging
import threading
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db import models
from mistral.handoff import identity
from mistral.handoff import lease as leases
from mistral.utils import timeutils

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

T = models.NotificationDelivery

# Seconds between two looks at the queue that found nothing to publish.
MIN_PASS_INTERVAL = 0.02


_rpc: Any = None
_rpc_lock = threading.Lock()


def wake_notifiers() -> None:
    """Tell the notifiers that deliveries are waiting (best effort: they
    look at the table every ``[notifier] max_sleep`` anyway)."""
    global _rpc
    try:
        if CONF.notifier.type == 'local':
            from mistral.notifiers import service

            service.local().wake()
            return
        if _rpc is None:
            with _rpc_lock:
                if _rpc is None:
                    from mistral.rpc import base as rpc_base

                    _rpc = rpc_base.RPCClient(CONF.notifier.topic)
        _rpc.cast({}, 'wake', fanout=True)
    except Exception:
        LOG.warning('Waking the notifiers failed', exc_info=True)


def reset_client() -> None:
    global _rpc
    _rpc = None


def _row_dict(r: Any) -> dict[str, Any]:
    return {'id': r.id, 'lane': r.lane, 'execution_id': r.execution_id,
            'entity_id': r.entity_id, 'event': r.event,
            'publisher': r.publisher, 'ctx': r.ctx, 'data': r.data,
            'timestamp': r.timestamp, 'attempts': r.attempts,
            'first_failed_at': r.first_failed_at}


@db_api.retry_on_db_error
def claim(limit: int, now: datetime.datetime | None = None
          ) -> list[dict[str, Any]]:
    """Claim up to ``limit`` lane heads that are due, for this process."""
    now = now or timeutils.utcnow()
    heads = sa.select(sa.func.min(T.id)).group_by(T.lane)
    with db_api.transaction() as s:
        # The lease is the row's not_before: a head whose notifier died
        # is due again when it ends.
        rows = leases.claim(
            s, sa.select(T).where(T.id.in_(heads), T.not_before <= now)
            .order_by(T.id).limit(limit),
            T, 'not_before',
            now + datetime.timedelta(seconds=CONF.notifier.delivery_lease))
        return [_row_dict(r) for r in rows]


def next_due(now: datetime.datetime | None = None
             ) -> datetime.datetime | None:
    """When a row not claimable now becomes claimable (backoff, lease)."""
    now = now or timeutils.utcnow()
    with db_api.read_session() as s:
        return s.execute(sa.select(sa.func.min(T.not_before)).where(
            T.not_before > now)).scalar()


@db_api.retry_on_db_error
def delivered(row_id: int) -> None:
    with db_api.transaction() as s:
        s.execute(sa.delete(T).where(T.id == row_id))


def backoff(attempts: int) -> float:
    """Seconds before retry number ``attempts`` (1 for the first)."""
    first = CONF.notifier.retry_backoff
    return min(CONF.notifier.retry_max_backoff,
               first * (2 ** max(0, attempts - 1)))


@db_api.retry_on_db_error
def failed(row: dict[str, Any], error: str, permanent: bool = False,
           now: datetime.datetime | None = None) -> bool:
    """Record a failed publish; True if it will be retried."""
    now = now or timeutils.utcnow()
    first = row.get('first_failed_at') or now
    attempts = (row.get('attempts') or 0) + 1
    limit = datetime.timedelta(seconds=CONF.notifier.retry_timeout)
    retry = not permanent and now - first < limit
    with db_api.transaction() as s:
        mine = sa.and_(T.id == row['id'], T.owner == identity.PROCESS_ID)
        if retry:
            s.execute(sa.update(T).where(mine).values(
                attempts=attempts, first_failed_at=first,
                last_error=error[:1024], owner=None,
                not_before=now + datetime.timedelta(
                    seconds=backoff(attempts))))
        else:
            s.execute(sa.delete(T).where(mine))
    if retry:
        LOG.info('Publishing %s of execution %s to %s failed (attempt %d), '
                 'retrying: %s', row['event'], row['execution_id'],
                 row['publisher'].get('type'), attempts, error)
    else:
        LOG.error('Gave up publishing %s of execution %s to %s after %d '
                  'attempt(s): %s', row['event'], row['execution_id'],
                  row['publisher'].get('type'), attempts, error)
    return retry


def publish(row: dict[str, Any]) -> None:
    """Run the row's publisher; raises what the publisher raises."""
    from mistral.notifiers import base
    from mistral.notifiers import service

    entry = row['publisher']
    options = {k: v for k, v in entry.items()
               if k not in ('type', 'event_types')}
    try:
        publisher = service.get_publisher(entry.get('type'))
    except Exception as e:
        raise base.PermanentError('No publisher %r: %s'
                                  % (entry.get('type'), e)) from e
    publisher.publish(
        dict(row.get('ctx') or {}), row['entity_id'], row['data'],
        row['event'], row['timestamp'], **options)


def process(row: dict[str, Any]) -> bool:
    """Publish one claimed row and record the outcome; True if done."""
    from mistral.notifiers import base

    try:
        publish(row)
    except base.PermanentError as e:
        failed(row, str(e), permanent=True)
        return True
    except Exception as e:
        return not failed(row, '%s: %s' % (type(e).__name__, e))
    delivered(row['id'])
    return True


class DeliveryLoop:
    """Claims lane heads and publishes them on a thread pool."""

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers or CONF.notifier.workers

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.workers, thread_name_prefix='notifier')
            self._thread = threading.Thread(
                target=self._loop, name='notifier-deliveries', daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=30)
        pool, self._pool = self._pool, None
        if pool is not None:
            # Rows being published finish (or their lease runs out).
            pool.shutdown(wait=True)

    def wake(self) -> None:
        self._wake.set()

    def _run(self, row: dict[str, Any]) -> None:
        try:
            process(row)
        except Exception:
            # The lease runs out and the row is claimed again.
            LOG.exception('Delivery %s failed', row['id'])
        finally:
            with self._lock:
                self._in_flight -= 1
            self._wake.set()

    def run_once(self) -> float:
        """Claim and start what is due; return seconds to sleep."""
        with self._lock:
            free = self.workers - self._in_flight
        if free > 0:
            rows = claim(free)
            with self._lock:
                self._in_flight += len(rows)
            for row in rows:
                assert self._pool is not None
                self._pool.submit(self._run, row)
            if len(rows) == free:
                # More may be due: look again when a slot frees up.
                return CONF.notifier.max_sleep
        now = timeutils.utcnow()
        wait = CONF.notifier.max_sleep
        nxt = next_due(now)
        if nxt is not None:
            wait = min(wait, max(0.0, (nxt - now).total_seconds()))
        return wait

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                wait = self.run_once()
            except Exception:
                LOG.exception('Notifier delivery pass failed')
                wait = 1.0
            if wait > 0:
                # Wake-ups that come meanwhile (engines send one per
                # commit) make one pass, not one each.
                self._stop.wait(MIN_PASS_INTERVAL)
                self._wake.wait(max(0.0, wait - MIN_PASS_INTERVAL))
