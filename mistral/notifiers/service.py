"""Running publishers: the notifier's RPC endpoint and the local mode.

``notify`` runs every publisher of the event in turn; a failing publisher
is logged and does not stop the others (there is no retry, as upstream).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from typing import Any

from oslo_config import cfg
from stevedore import driver

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


def wants(entry: dict[str, Any], event: str) -> bool:
    """Whether a ``params.notify`` entry asks for ``event``."""
    types = entry.get('event_types') or []
    return not types or event in types


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
    """RPC endpoint on the notifier topic."""

    def notify(self, ctx: Any, ex_id: str, data: dict, event: str,
               timestamp: str, publishers: list) -> None:
        notify(ctx, ex_id, data, event, timestamp, publishers)


class LocalNotifier:
    """``[notifier] type = local``: publishers run in this process, on a
    small pool so that a slow webhook never holds up the engine."""

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=CONF.notifier.workers,
            thread_name_prefix='notifier')

    def submit(self, ctx: dict[str, Any], method: str,
               payload: dict[str, Any]) -> None:
        if method != 'notify':
            raise ValueError('Unknown notifier method %s' % method)
        self._pool.submit(notify, ctx, **payload)


_local: LocalNotifier | None = None


def local() -> LocalNotifier:
    global _local
    if _local is None:
        with _lock:
            if _local is None:
                _local = LocalNotifier()
    return _local
