"""Running publishers: the notifier's RPC endpoint and the local mode.

``notify`` runs every publisher of the event in turn, once; a failing
publisher is logged and does not stop the others. The notifier process and
the local mode do not call it directly: they publish from the durable queue
of :mod:`mistral.notifiers.deliveries`, with retries.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from oslo_config import cfg
from stevedore import driver

from mistral.handoff import deliveries as queue
from mistral.handoff.deliveries import wants

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

NAMESPACE = 'mistral.notification.publishers'

_publishers: dict[str, Any] = {}
_lock = threading.Lock()


def get_publisher(name: str) -> Any:
    """The publisher registered as ``name`` (loaded once per process)."""
    pub = _publishers.get(name)
    if pub is None:
        with _lock:
            pub = _publishers.get(name)
            if pub is None:
                pub = driver.DriverManager(NAMESPACE, name,
                                           invoke_on_load=True).driver
                _publishers[name] = pub
    return pub


def notify(ctx: Any, ex_id: str, data: dict[str, Any], event: str,
           timestamp: str, publishers: list[dict[str, Any]]) -> None:
    ctx_dict = ctx.to_dict() if hasattr(ctx, 'to_dict') else dict(ctx or {})
    for entry in publishers or []:
        if not isinstance(entry, dict) or not wants(entry, event):
            continue
        options = {k: v for k, v in entry.items()
                   if k not in ('type', 'event_types')}
        name = entry.get('type')
        try:
            get_publisher(name).publish(ctx_dict, ex_id, data, event,
                                        timestamp, **options)
        except Exception:
            LOG.exception('Publisher %s failed for %s of execution %s',
                          name, event, ex_id)


class NotifierEndpoint:
    """RPC endpoint on the notifier topic.

    ``wake`` (fanout, from engines after they commit events) makes the
    delivery loop look at the queue now. ``notify`` is the upstream-style
    message with the event itself; it is queued like the engine's events
    rather than published in the RPC thread, so it gets the same retries.
    """

    def __init__(self, loop: Any = None) -> None:
        self._loop = loop

    def wake(self, ctx: Any) -> None:
        if self._loop is not None:
            self._loop.wake()

    def notify(self, ctx: Any, ex_id: str, data: dict, event: str,
               timestamp: str, publishers: list,
               execution_id: str | None = None) -> None:
        enqueue_alone(ctx, ex_id, data, event, timestamp, publishers,
                      execution_id)
        if self._loop is not None:
            self._loop.wake()


def enqueue_alone(ctx: Any, ex_id: str, data: dict[str, Any], event: str,
                  timestamp: str, publishers: list[dict[str, Any]],
                  execution_id: str | None = None) -> None:
    """Queue an event in a transaction of its own."""
    from mistral.db import api as db_api

    wanted = [p for p in publishers or []
              if isinstance(p, dict) and wants(p, event)]
    if not wanted:
        return
    lane_ex = (execution_id or data.get('workflow_execution_id')
               or data.get('id') or ex_id)
    with db_api.transaction() as s:
        queue.enqueue(s, ctx, lane_ex, ex_id, data, event, timestamp,
                      wanted)


class LocalNotifier:
    """``[notifier] type = local``: queued events are published by a
    delivery loop in this process (started on first use), on a small pool
    so that a slow webhook never holds up the engine."""

    def __init__(self) -> None:
        from mistral.notifiers import deliveries

        self.loop = deliveries.DeliveryLoop()

    def wake(self) -> None:
        self.loop.start()
        self.loop.wake()

    def submit(self, ctx: dict[str, Any], method: str,
               payload: dict[str, Any]) -> None:
        if method != 'notify':
            raise ValueError('Unknown notifier method %s' % method)
        enqueue_alone(ctx, **payload)
        self.wake()


_local: LocalNotifier | None = None


def local() -> LocalNotifier:
    global _local
    if _local is None:
        with _lock:
            if _local is None:
                _local = LocalNotifier()
    return _local


def reset_local() -> None:
    """Stop this process's local delivery loop (tests)."""
    global _local
    with _lock:
        loc, _local = _local, None
    if loc is not None:
        loc.loop.stop()
