"""The scheduler loop: sleep until the next thing is due, then do it.

"Things" are delayed outbox messages (policy delays and timeouts written
by engines) and cron trigger firings. The loop asks the database when the
next one is due and sleeps until then; writers of an earlier row wake it
with a fanout ``wake(due_at)`` cast, so there is no polling interval. It
still looks at the table at least every ``[scheduler] max_sleep`` seconds,
which is how rows left behind by a dead process are found.
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

from oslo_config import cfg

from mistral.handoff import outbox
from mistral.metrics import hooks as metrics
from mistral.scheduler import delayed
from mistral.services import expiration
from mistral.services import triggers
from mistral.utils import timeutils

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _parse(value: Any) -> datetime.datetime | None:
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        return value
    try:
        return datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return None


class Scheduler:
    """Sends due delayed messages and fires due cron triggers."""

    def __init__(self, relay: outbox.Relay | None = None) -> None:
        self._relay = relay
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # When the loop plans to look next; None while it is working.
        self._planned: datetime.datetime | None = None
        self._thread: threading.Thread | None = None
        self._next_purge: datetime.datetime | None = None
        # Cron triggers are looked at when one may be due: when the
        # soonest known one is, after a wake-up (a new trigger), and at
        # least every max_sleep (triggers changed behind our back).
        self._cron_next: datetime.datetime | None = None
        self._cron_looked: datetime.datetime | None = None
        self._woken = True

    @property
    def relay(self) -> outbox.Relay:
        return self._relay or outbox.relay()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop,
                                            name='scheduler', daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def wake(self, due_at: datetime.datetime | None = None) -> None:
        """Something is due at ``due_at`` (now if None)."""
        with self._lock:
            planned = self._planned
            if planned is None or due_at is None or due_at < planned:
                self._woken = True
                self._wake.set()

    def run_once(self) -> datetime.datetime:
        """Do everything due now; return when to look next."""
        batch = CONF.scheduler.batch_size
        while not self._stop.is_set():
            claimed = delayed.claim_due(limit=batch)
            if claimed:
                LOG.debug('Sending %d delayed message(s)', len(claimed))
                metrics.delayed_sent(claimed)
                self.relay.deliver(claimed)
            if len(claimed) < batch:
                break
        with self._lock:
            woken, self._woken = self._woken, False
        now = timeutils.utcnow()
        max_sleep = datetime.timedelta(seconds=CONF.scheduler.max_sleep)
        cron = CONF.cron_trigger.enabled and (
            woken or self._cron_looked is None
            or now >= self._cron_looked + max_sleep
            or (self._cron_next is not None and now >= self._cron_next))
        if cron:
            while not self._stop.is_set():
                if triggers.fire_due(limit=batch) < batch:
                    break
        now = timeutils.utcnow()
        self._maybe_purge(now)
        candidates = [now + max_sleep, delayed.next_due(now),
                      self._next_purge]
        if cron:
            self._cron_looked = now
            self._cron_next = triggers.next_cron_due()
            # Due and still there: held back (maintenance) or failing;
            # look again at the horizon rather than spin.
            if self._cron_next is not None and self._cron_next <= now:
                self._cron_next = None
        if CONF.cron_trigger.enabled:
            candidates.append(self._cron_next)
        return min(c for c in candidates if c is not None)

    def _maybe_purge(self, now: datetime.datetime) -> None:
        every = expiration.interval()
        if every is None:
            self._next_purge = None
            return
        if self._next_purge is None:
            self._next_purge = now  # first pass: purge at start
        if now >= self._next_purge:
            self._next_purge = now + every
            try:
                expiration.purge(now)
            except Exception:
                LOG.exception('Execution expiration policy failed')

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._planned = None
                self._wake.clear()
            try:
                next_at = self.run_once()
            except Exception:
                LOG.exception('Scheduler pass failed')
                next_at = timeutils.utcnow() + datetime.timedelta(seconds=1)
            with self._lock:
                self._planned = next_at
            delay = (next_at - timeutils.utcnow()).total_seconds()
            if delay > 0:
                self._wake.wait(delay)


class SchedulerEndpoint:
    """RPC endpoint on the scheduler topic (fanout)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler

    def wake(self, ctx: Any, due_at: str | None = None) -> None:
        self._scheduler.wake(_parse(due_at))
