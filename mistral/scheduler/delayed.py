"""Delayed outbox messages: claiming the due ones, finding the next one.

A delayed row is written with ``owner`` unset and ``lease_until`` equal to
its due time (:class:`mistral.handoff.outbox.Batch`). A scheduler claims due
rows by moving their lease forward under ``SKIP LOCKED`` row locks
(PostgreSQL, MariaDB) or as SQLite's single writer, so two schedulers never
claim the same row; a claimed row that its scheduler never sent (it died)
becomes claimable again when the lease runs out.
"""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db import models
from mistral.handoff import outbox
from mistral.utils import timeutils

CONF = cfg.CONF


def claim_due(now: datetime.datetime | None = None,
              limit: int | None = None) -> list[dict[str, Any]]:
    """Claim the rows due at ``now`` (and rows whose claim expired)."""
    return outbox.claim_due(limit or CONF.scheduler.batch_size,
                            CONF.scheduler.job_lease, now)


def next_due(now: datetime.datetime | None = None
             ) -> datetime.datetime | None:
    """When the next unclaimed delayed row falls due."""
    now = now or timeutils.utcnow()
    table = models.OutboxMessage
    with db_api.read_session() as s:
        return s.execute(sa.select(sa.func.min(table.due_at)).where(
            table.owner.is_(None), table.due_at > now)).scalar()
