"""/v2/event_triggers: workflows started by notifications.

Every change is told to all event engines with a fanout cast after it
committed (they also re-read the table periodically, so a lost cast only
delays a change).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from pecan import rest
from sqlalchemy import orm
from wsme import types as wtypes

from mistral import exceptions as exc
from mistral.api import access
from mistral.api import expose
from mistral.api import hooks
from mistral.api.controllers.v2 import changes
from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2.types import jsontype
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.services import triggers

LOG = logging.getLogger(__name__)


class EventTrigger(resources.Resource):
    id = wtypes.text
    created_at = wtypes.text
    updated_at = wtypes.text
    project_id = wtypes.text
    name = wtypes.text
    workflow_id = wtypes.text
    workflow_input = jsontype
    workflow_params = jsontype
    exchange = wtypes.text
    topic = wtypes.text
    event = wtypes.text
    scope = wtypes.text

    _fields = ('id', 'created_at', 'updated_at', 'project_id', 'name',
               'workflow_id', 'workflow_input', 'workflow_params',
               'exchange', 'topic', 'event', 'scope')


class EventTriggers(resources.ResourceList):
    event_triggers = [EventTrigger]


COLUMNS = EventTrigger._fields
UPDATABLE = ('name', 'workflow_input', 'workflow_params', 'scope')

LISTING = collection.Listing(
    model=models.EventTrigger,
    resource=EventTrigger,
    collection=EventTriggers,
    key='event_triggers',
    default_columns=COLUMNS,
)


def _find(session: orm.Session, ctx: MistralContext,
          id_: str) -> models.EventTrigger:
    lookup.check_uuid('id', id_)
    stmt = sa.select(models.EventTrigger).where(
        models.EventTrigger.id == id_)
    if not ctx.is_admin:
        stmt = stmt.where(sa.or_(
            models.EventTrigger.project_id == ctx.project_id,
            models.EventTrigger.scope == 'public'))
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise exc.DBEntityNotFoundError(
            'EventTrigger not found [id=%s]' % id_)
    return row


def _resource(row: models.EventTrigger, fields: list[str] | None = None
              ) -> EventTrigger:
    return EventTrigger.from_dict({c: getattr(row, c) for c in COLUMNS
                                   if not fields or c in fields})


def _events_of(session: orm.Session, row: models.EventTrigger) -> list[str]:
    et = models.EventTrigger
    return sorted(set(session.execute(sa.select(et.event).where(
        et.exchange == row.exchange, et.topic == row.topic)).scalars()))


def _tell_engines(ctx: MistralContext, method: str, **kwargs: Any) -> None:
    from mistral.rpc import clients

    try:
        clients.event_engine().cast(ctx, method, **kwargs)
    except Exception:
        # The change is stored; event engines pick it up on their next
        # reload of the table.
        LOG.warning('Telling the event engines about %s failed', method,
                    exc_info=True)


class EventTriggersController(rest.RestController):
    @expose.wsme(EventTrigger, wtypes.text, uniquelist)
    def get(self, id: str, fields: list[str] | None = None) -> EventTrigger:
        ctx = hooks.current_context()
        access.enforce('event_triggers:get', ctx)
        fields = list(fields or [])
        if fields and 'id' not in fields:
            fields.insert(0, 'id')
        collection.listing_validate_fields(LISTING, fields)
        with db_api.read_session() as session:
            return _resource(_find(session, ctx, id), fields)

    @expose.wsme(EventTrigger, body=EventTrigger, status_code=201)
    def post(self, trigger: EventTrigger) -> EventTrigger:
        ctx = hooks.current_context()
        access.enforce('event_triggers:create', ctx)
        values = trigger.to_dict()
        # The workflow is given by id, as upstream (its field is a UUID).
        lookup.check_uuid('workflow_id', values.get('workflow_id'))
        values['scope'] = lookup.check_scope(values.get('scope'), ctx,
                                             'event_triggers')
        with db_api.transaction() as session:
            row = triggers.create_event_trigger(session, ctx.project_id,
                                                values)
            result = _resource(row)
            message = triggers.event_trigger_dict(row)
            events = _events_of(session, row)
        _tell_engines(ctx, 'create_event_trigger', trigger=message,
                      events=events)
        return result

    @expose.wsme(EventTrigger, wtypes.text, body=EventTrigger)
    def put(self, id: str, trigger: EventTrigger) -> EventTrigger:
        ctx = hooks.current_context()
        access.enforce('event_triggers:update', ctx)
        values = trigger.to_dict()
        fixed = sorted(set(values) - set(UPDATABLE) - {'id'})
        if fixed:
            raise exc.InputException(
                'Only %s of an event trigger can be updated; not: %s'
                % (', '.join(UPDATABLE), ', '.join(fixed)))
        with db_api.transaction() as session:
            row = _find(session, ctx, id)
            lookup.check_owner(row, ctx, 'event trigger')
            new: dict[str, Any] = {}
            if 'scope' in values:
                new['scope'] = lookup.check_scope(values['scope'], ctx,
                                                  'event_triggers')
            if 'name' in values:
                new['name'] = values['name']
            for key in ('workflow_input', 'workflow_params'):
                if key in values:
                    if not isinstance(values[key] or {}, dict):
                        raise exc.InputException(
                            '%s must be a JSON object.' % key)
                    new[key] = values[key] or {}
            changes.apply(row, new)
            session.flush()
            result = _resource(row)
            message = triggers.event_trigger_dict(row)
        _tell_engines(ctx, 'update_event_trigger', trigger=message)
        return result

    @expose.wsme(None, wtypes.text, status_code=204)
    def delete(self, id: str) -> None:
        ctx = hooks.current_context()
        access.enforce('event_triggers:delete', ctx)
        with db_api.transaction() as session:
            row = _find(session, ctx, id)
            lookup.check_owner(row, ctx, 'event trigger')
            message = triggers.event_trigger_dict(row)
            session.delete(row)
            session.flush()
            events = _events_of(session, row)
        _tell_engines(ctx, 'delete_event_trigger', trigger=message,
                      events=events)

    @expose.wsme_query(EventTriggers)
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None, name: str | None = None,
                workflow_id: str | None = None,
                workflow_input: str | None = None,
                workflow_params: str | None = None,
                exchange: str | None = None, topic: str | None = None,
                event: str | None = None, scope: str | None = None,
                project_id: str | None = None,
                created_at: str | None = None,
                updated_at: str | None = None,
                all_projects: bool = False) -> EventTriggers:
        access.enforce('event_triggers:list', hooks.current_context())
        return collection.get_all(
            LISTING, marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields, all_projects=all_projects,
            filters={'name': name, 'workflow_id': workflow_id,
                     'workflow_input': workflow_input,
                     'workflow_params': workflow_params,
                     'exchange': exchange, 'topic': topic, 'event': event,
                     'scope': scope, 'project_id': project_id,
                     'created_at': created_at, 'updated_at': updated_at})
