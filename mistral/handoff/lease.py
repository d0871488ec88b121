"""Claiming rows under a lease, the one way every service does it.

Several processes take work from the same table (outbox rows, notification
deliveries, cron triggers, lost actions, action leases). Each looks at
rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL and MariaDB,
so concurrent claimers pass over each other's rows instead of waiting on
them; on SQLite the transaction is already the single writer (BEGIN
IMMEDIATE) and the clause does not exist.

A claimed row carries this process (:data:`.identity.PROCESS_ID`) as its
``owner`` and a lease end; when the claimer dies the lease runs out and
another process claims the row again.
"""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from mistral.db import api as db_api
from mistral.handoff import identity


def skip_locked(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """``stmt`` locking the rows it returns and skipping the rows other
    transactions locked (unchanged on SQLite)."""
    if db_api.is_sqlite():
        return stmt
    return stmt.with_for_update(skip_locked=True)


def claim(session: orm.Session, stmt: sa.Select[Any], model: type[Any],
          lease_column: str,
          until: datetime.datetime) -> list[Any]:
    """Claim the rows of ``stmt`` (a select of ``model``) nobody else is
    claiming: set their ``owner`` to this process and ``lease_column`` to
    ``until``, in the caller's transaction. Two statements when rows are
    found, one otherwise. Returns the rows as selected (an empty list when
    none)."""
    rows = session.execute(skip_locked(stmt)).scalars().all()
    if not rows:
        return []
    session.execute(sa.update(model).where(
        model.id.in_([r.id for r in rows])).values(
            {'owner': identity.PROCESS_ID, lease_column: until}))
    return list(rows)
