"""Execution expiration policy: purge finished root executions.

Configured in ``[execution_expiration_policy]``; the schedulers run it
every ``evaluation_interval`` minutes. It deletes finished root executions
(and their whole tree: sub-workflows by ``root_execution_id``; tasks and
action executions by foreign-key cascade) that are older than
``older_than`` minutes, then the oldest beyond the newest
``max_finished_executions``. ``ignored_states`` are never purged.
"""

from __future__ import annotations

import datetime
import logging

import sqlalchemy as sa
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db import models
from mistral.utils import timeutils

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

FINISHED = ('SUCCESS', 'ERROR', 'CANCELLED')


def interval() -> datetime.timedelta | None:
    """How often to purge; None when the policy is off."""
    minutes = CONF.execution_expiration_policy.evaluation_interval
    policy = CONF.execution_expiration_policy
    if not minutes or minutes < 1 or not (
            policy.older_than or policy.max_finished_executions):
        return None
    return datetime.timedelta(minutes=minutes)


def _candidates(session, now: datetime.datetime) -> list[str]:
    policy = CONF.execution_expiration_policy
    we = models.WorkflowExecution
    states = [s for s in FINISHED if s not in (policy.ignored_states or [])]
    base = sa.select(we.id).where(we.task_execution_id.is_(None),
                                  we.state.in_(states))
    limit = policy.batch_size or None
    ids: list[str] = []
    if policy.older_than:
        cutoff = now - datetime.timedelta(minutes=policy.older_than)
        ids += session.execute(base.where(we.updated_at < cutoff)
                               .order_by(we.updated_at)
                               .limit(limit)).scalars().all()
    if policy.max_finished_executions and (limit is None or
                                           len(ids) < limit):
        more = session.execute(
            base.order_by(we.updated_at.desc(), we.id)
            .offset(policy.max_finished_executions)).scalars().all()
        seen = set(ids)
        ids += [i for i in more if i not in seen]
        if limit:
            ids = ids[:limit]
    return ids


@db_api.retry_on_db_error
def purge(now: datetime.datetime | None = None) -> int:
    """Delete what the policy says is expired; returns how many root
    executions were deleted."""
    now = now or timeutils.utcnow()
    we = models.WorkflowExecution
    with db_api.transaction() as session:
        ids = _candidates(session, now)
        if not ids:
            return 0
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            session.execute(sa.delete(we).where(sa.or_(
                we.id.in_(chunk), we.root_execution_id.in_(chunk))))
    LOG.info('Expiration policy deleted %d finished execution(s)', len(ids))
    return len(ids)
