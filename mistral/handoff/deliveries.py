"""Queueing notifications: the engine's half of the notifier's queue.

The engine inserts one ``notification_deliveries`` row per event and
publisher in the transaction of the state change, and wakes the notifiers
once it commits (the ``wake_notifiers`` hook). Claiming and publishing the
rows is the notifier's half (:mod:`mistral.notifiers.deliveries`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Protocol, TypeAlias

import sqlalchemy as sa
from sqlalchemy import orm

from mistral.db import models
from mistral.handoff import hooks
from mistral.utils import timeutils

T = models.NotificationDelivery


def wants(entry: dict[str, Any], event: str) -> bool:
    """Whether a ``params.notify`` entry asks for ``event``."""
    types = entry.get('event_types') or []
    return not types or event in types


class _ToDict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


# A request context as handed to enqueue: a mistral.context.MistralContext
# (anything with to_dict()) or its dict form. Structural, as
# mistral.handoff imports nothing of the services above it.
ContextLike: TypeAlias = _ToDict | Mapping[str, Any]


def lane_of(execution_id: str, publisher: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(publisher, sort_keys=True,
                                     default=str).encode()).hexdigest()
    return '%s:%s' % (execution_id, digest[:16])


def enqueue(session: orm.Session, ctx: ContextLike | None, execution_id: str,
            entity_id: str,
            data: dict[str, Any], event: str, timestamp: str | None,
            publishers: list[dict[str, Any]]) -> int:
    """Queue ``event`` for each publisher in the caller's transaction and
    wake the notifiers once it commits. Returns the number of rows."""
    # Any: mypy does not narrow the union (None included) by hasattr.
    c: Any = ctx
    ctx_dict = c.to_dict() if hasattr(c, 'to_dict') else dict(c or {})
    now = timeutils.utcnow()
    rows = [{
        'lane': lane_of(execution_id, p), 'execution_id': execution_id,
        'entity_id': entity_id, 'event': event, 'publisher': p,
        'ctx': ctx_dict, 'data': data, 'timestamp': timestamp,
        'attempts': 0, 'not_before': now, 'created_at': now,
    } for p in publishers if isinstance(p, dict)]
    # One statement per row: ids follow the order of the events.
    for row in rows:
        session.execute(sa.insert(T).values(**row))
    if rows and not session.info.get('notifier_wake'):
        session.info['notifier_wake'] = True
        sa.event.listen(session, 'after_commit', _after_commit, once=True)
        sa.event.listen(session, 'after_rollback', _after_rollback,
                        once=True)
    return len(rows)


def _after_commit(session: orm.Session) -> None:
    session.info.pop('notifier_wake', None)
    # Best effort (the hook logs its own failures): the notifiers look at
    # the table every ``[notifier] max_sleep`` anyway.
    hooks.call('wake_notifiers')


def _after_rollback(session: orm.Session) -> None:
    session.info.pop('notifier_wake', None)
