"""Cron and event triggers: validation on create, and cron firing.

Cron firing runs in the scheduler processes. Every due trigger is fired
in one transaction that moves ``next_execution_time`` forward with a
compare-and-set (plus ``SKIP LOCKED`` row locks on PostgreSQL/MariaDB) and
writes the engine's ``start_workflow`` request to the outbox, so a firing
starts exactly one execution however many schedulers run. The execution id
is derived from the trigger id and the firing time, so a resent request is
a no-op for the engine.

Missed firings (every scheduler down for a while) are not replayed one by
one: a trigger that is overdue fires once, and its next time is the first
slot of its pattern after *now*.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import croniter
import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import orm

from mistral import exceptions as exc
from mistral.db import api as db_api
from mistral.db import definitions
from mistral.db import models
from mistral.handoff import lease as leases
from mistral.handoff import outbox
from mistral.services import maintenance
from mistral.utils import timeutils
from mistral.workflow import lifecycle

CONF = cfg.CONF

# Namespace of the execution ids of trigger firings (uuid5).
_FIRING_NS = uuid.UUID('5c6c0b9e-6a43-4f4e-9f53-7d1b3a0c2f61')

FIRST_TIME_FORMATS = ('%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S')
MIN_FIRST_DELAY = datetime.timedelta(seconds=60)

# The pattern upstream stores for a trigger given only a first time (its
# column default, meant as "never"; croniter reads it as every Sunday of
# February). Such a trigger has one execution left, so it never fires by
# its pattern; it is stored and shown as upstream does.
ONE_TIME_PATTERN = '0 0 30 2 0'


# --- cron: time arithmetic -------------------------------------------------


def validate_pattern(pattern: str) -> None:
    if not croniter.croniter.is_valid(pattern):
        raise exc.InvalidModelException(
            'The specified pattern is not valid: %s' % pattern)


def next_time(pattern: str, after: datetime.datetime) -> datetime.datetime:
    """The first slot of ``pattern`` strictly after ``after`` (naive UTC).
    """
    return croniter.croniter(pattern, after).get_next(datetime.datetime)


def parse_first_time(value: Any) -> datetime.datetime | None:
    if value in (None, ''):
        return None
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    for fmt in FIRST_TIME_FORMATS:
        try:
            return datetime.datetime.strptime(str(value), fmt)
        except ValueError:
            continue
    raise exc.InputException(
        'Invalid first execution time "%s": the format is '
        '"YYYY-MM-DD HH:MM" (UTC).' % value)


def firing_id(trigger_id: str, at: datetime.datetime) -> str:
    """The execution id of the firing of ``trigger_id`` due at ``at``."""
    return str(uuid.uuid5(_FIRING_NS, '%s@%s' % (trigger_id,
                                                 at.isoformat())))


# --- cron: create ----------------------------------------------------------


def create_cron_trigger(session: orm.Session, project_id: str | None,
                        values: dict[str, Any]) -> models.CronTrigger:
    """Validate and insert a cron trigger in the caller's transaction."""
    name = values.get('name')
    if not name:
        raise exc.InputException('The cron trigger name is required.')
    pattern = values.get('pattern') or None
    first_time = parse_first_time(values.get('first_execution_time'))
    count = values.get('remaining_executions')
    now = timeutils.utcnow()
    if pattern is None and first_time is None:
        raise exc.InputException(
            'Pattern or first_execution_time must be specified.')
    if pattern is not None:
        validate_pattern(pattern)
    if first_time is not None:
        if first_time < now + MIN_FIRST_DELAY:
            raise exc.InvalidModelException(
                'first_execution_time must be at least 1 minute in the '
                'future.')
        if pattern is None:
            if count is not None and count > 1:
                raise exc.InvalidModelException(
                    'Pattern must be provided if count is greater than 1.')
            count = 1
            pattern = ONE_TIME_PATTERN
    if count is not None and count < 1:
        raise exc.InvalidModelException(
            'remaining_executions must be strictly greater than 0.')
    wf_identifier = values.get('workflow_id') or values.get('workflow_name')
    if not wf_identifier:
        raise exc.InputException(
            'workflow_name or workflow_id must be provided.')
    wf_def = definitions.find_workflow(
        session, wf_identifier, values.get('workflow_namespace') or '',
        project_id)
    wf_input = values.get('workflow_input') or {}
    wf_params = values.get('workflow_params') or {}
    if not isinstance(wf_input, dict) or not isinstance(wf_params, dict):
        raise exc.InputException(
            'workflow_input and workflow_params must be JSON objects.')
    lifecycle.complete_input(definitions.workflow_spec(wf_def), wf_input)
    next_at = first_time or next_time(pattern, now)
    ct = models.CronTrigger
    if session.execute(sa.select(ct.id).where(
            ct.name == name, ct.project_id == project_id)).first():
        raise exc.DBDuplicateEntryError(
            "Duplicate entry for cron trigger ['name', 'project_id']: "
            "%s, %s" % (name, project_id))
    row = models.CronTrigger(
        id=models.new_id(), name=name, pattern=pattern,
        first_execution_time=first_time, next_execution_time=next_at,
        workflow_name=wf_def.name, workflow_id=wf_def.id,
        workflow_input=wf_input,
        workflow_input_hash=models.cron_trigger_hash(wf_input),
        workflow_params=wf_params,
        workflow_params_hash=models.cron_trigger_hash(wf_params),
        remaining_executions=count, scope=values.get('scope') or 'private',
        project_id=project_id, created_at=now)
    # Upstream's unique constraint over these columns: as in SQL, a null
    # in any of them makes a trigger unique (two triggers with the same
    # pattern and no count or no first time are both accepted).
    if None not in (pattern, count, first_time, project_id):
        same = session.execute(sa.select(ct.id).where(
            ct.workflow_input_hash == row.workflow_input_hash,
            ct.workflow_params_hash == row.workflow_params_hash,
            ct.workflow_name == row.workflow_name,
            ct.project_id == project_id, ct.pattern == pattern,
            ct.remaining_executions == count,
            ct.first_execution_time == first_time)).first()
        if same:
            raise exc.DBDuplicateEntryError(
                'Duplicate entry for cron trigger: the same workflow, '
                'input, params, pattern, count and first time as %s'
                % same[0])
    session.add(row)
    session.flush()
    return row


# --- cron: firing ----------------------------------------------------------


def _start_request(trigger: models.CronTrigger, due: datetime.datetime
                   ) -> dict[str, Any]:
    description = json.dumps({
        'description': "Workflow execution created by cron trigger "
                       "'(%s)'." % trigger.id,
        'triggered_by': {'type': 'cron_trigger', 'id': trigger.id},
    })
    return {'wf_identifier': trigger.workflow_id, 'wf_namespace': '',
            'wf_ex_id': firing_id(trigger.id, due),
            'wf_input': trigger.workflow_input or {},
            'description': description,
            'params': trigger.workflow_params or {}}


def trigger_context(project_id: str | None, trust_id: str | None = None
                    ) -> dict[str, Any]:
    """The request context executions started by a trigger run under."""
    return {'project_id': project_id, 'user_id': None, 'is_admin': False,
            'trust_id': trust_id}


def _fire(session: orm.Session, batch: outbox.Batch,
          trigger: models.CronTrigger, now: datetime.datetime) -> bool:
    ct = models.CronTrigger
    due = trigger.next_execution_time
    remaining = trigger.remaining_executions
    if remaining is not None:
        remaining -= 1
    same = sa.and_(ct.id == trigger.id, ct.next_execution_time == due)
    if (remaining is not None and remaining <= 0) or not trigger.pattern:
        done = session.execute(sa.delete(ct).where(same))
    else:
        new_next = next_time(trigger.pattern, max(now, due))
        done = session.execute(sa.update(ct).where(same).values(
            next_execution_time=new_next, remaining_executions=remaining,
            updated_at=now))
    if done.rowcount != 1:
        return False  # another scheduler fired this slot
    batch.add('engine', 'start_workflow', _start_request(trigger, due),
              ctx=trigger_context(trigger.project_id, trigger.trust_id))
    return True


@db_api.retry_on_db_error
def fire_due(now: datetime.datetime | None = None, limit: int = 100
             ) -> int:
    """Fire the cron triggers due at ``now``; returns how many were
    looked at (``limit`` means there may be more)."""
    now = now or timeutils.utcnow()
    ct = models.CronTrigger
    batch = outbox.Batch()
    with db_api.transaction() as session:
        # Another scheduler skips the triggers this one is firing.
        found = session.execute(leases.skip_locked(
            sa.select(ct).where(ct.next_execution_time <= now)
            .order_by(ct.next_execution_time).limit(limit))
        ).scalars().all()
        if found and maintenance.get_status() != maintenance.RUNNING:
            # As upstream: no workflow starts from triggers during
            # maintenance. The triggers stay due and fire once after it.
            return 0
        for trigger in found:
            _fire(session, batch, trigger, now)
        batch.write(session)
    outbox.relay().deliver(batch.due_now())
    return len(found)


def next_cron_due() -> datetime.datetime | None:
    with db_api.read_session() as session:
        return session.execute(sa.select(
            sa.func.min(models.CronTrigger.next_execution_time))).scalar()


# --- event triggers --------------------------------------------------------


def create_event_trigger(session: orm.Session, project_id: str | None,
                         values: dict[str, Any]) -> models.EventTrigger:
    """Validate and insert an event trigger in the caller's transaction."""
    for key in ('exchange', 'topic', 'event', 'workflow_id'):
        if not values.get(key):
            raise exc.InputException('%s is required.' % key)
    wf_def = definitions.find_workflow(session, values['workflow_id'], '',
                                       project_id)
    wf_input = values.get('workflow_input') or {}
    wf_params = values.get('workflow_params') or {}
    if not isinstance(wf_input, dict) or not isinstance(wf_params, dict):
        raise exc.InputException(
            'workflow_input and workflow_params must be JSON objects.')
    lifecycle.complete_input(definitions.workflow_spec(wf_def), wf_input)
    et = models.EventTrigger
    if session.execute(sa.select(et.id).where(
            et.exchange == values['exchange'], et.topic == values['topic'],
            et.event == values['event'], et.workflow_id == wf_def.id,
            et.project_id == project_id)).first():
        raise exc.DBDuplicateEntryError(
            "Duplicate entry for EventTrigger ['exchange', 'topic', "
            "'event', 'workflow_id', 'project_id']: %s, %s, %s, %s, %s"
            % (values['exchange'], values['topic'], values['event'],
               wf_def.id, project_id))
    row = models.EventTrigger(
        id=models.new_id(), name=values.get('name'), workflow_id=wf_def.id,
        workflow_input=wf_input, workflow_params=wf_params,
        exchange=values['exchange'], topic=values['topic'],
        event=values['event'], scope=values.get('scope') or 'private',
        project_id=project_id, created_at=timeutils.utcnow())
    session.add(row)
    session.flush()
    return row


EVENT_TRIGGER_COLUMNS = ('id', 'name', 'workflow_id', 'workflow_input',
                         'workflow_params', 'exchange', 'topic', 'event',
                         'scope', 'project_id', 'trust_id', 'created_at',
                         'updated_at')


def event_trigger_dict(row: models.EventTrigger) -> dict[str, Any]:
    """A trigger as sent to event engines (JSON-compatible)."""
    out = {c: getattr(row, c) for c in EVENT_TRIGGER_COLUMNS}
    for c in ('created_at', 'updated_at'):
        out[c] = timeutils.to_wire(out[c])
    out['workflow_namespace'] = ''
    return out
