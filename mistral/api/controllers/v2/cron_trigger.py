"""/v2/cron_triggers: workflows started on a schedule.

Validation and the insert live in :mod:`mistral.services.triggers`; the
scheduler processes fire the triggers. A new trigger that is due before a
scheduler's next planned look wakes the schedulers.
"""

from __future__ import annotations

import sqlalchemy as sa
from pecan import rest
from sqlalchemy import orm
from wsme import types as wtypes

from mistral import exceptions as exc
from mistral.api import access
from mistral.api import expose
from mistral.api import hooks
from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2.types import jsontype
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.handoff import outbox
from mistral.services import triggers
from mistral.utils import ids


class CronTrigger(resources.Resource):
    id = wtypes.text
    name = wtypes.text
    workflow_name = wtypes.text
    workflow_id = wtypes.text
    workflow_input = jsontype
    workflow_params = jsontype
    project_id = wtypes.text
    scope = wtypes.text
    pattern = wtypes.text
    remaining_executions = wtypes.IntegerType(minimum=1)
    first_execution_time = wtypes.text
    next_execution_time = wtypes.text
    created_at = wtypes.text
    updated_at = wtypes.text

    _fields = ('id', 'name', 'workflow_name', 'workflow_id',
               'workflow_input', 'workflow_params', 'project_id', 'scope',
               'pattern', 'remaining_executions', 'first_execution_time',
               'next_execution_time', 'created_at', 'updated_at')


class CronTriggers(resources.ResourceList):
    cron_triggers = [CronTrigger]


COLUMNS = CronTrigger._fields

LISTING = collection.Listing(
    model=models.CronTrigger,
    resource=CronTrigger,
    collection=CronTriggers,
    key='cron_triggers',
    default_columns=COLUMNS,
)


def find(session: orm.Session, ctx: MistralContext,
         identifier: str) -> models.CronTrigger:
    """A trigger by id or by name, as the caller's project sees it."""
    row = None
    if ids.is_uuid(identifier):
        stmt = sa.select(models.CronTrigger).where(
            models.CronTrigger.id == identifier)
        if not ctx.is_admin:
            stmt = stmt.where(sa.or_(
                models.CronTrigger.project_id == ctx.project_id,
                models.CronTrigger.scope == 'public'))
        row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        row = lookup.get_by_name(session, models.CronTrigger, ctx,
                                 identifier)
    if row is None:
        raise exc.DBEntityNotFoundError(
            'Cron trigger not found [identifier=%s]' % identifier)
    return row


def _resource(row: models.CronTrigger, fields: list[str] | None = None,
              created: bool = False) -> CronTrigger:
    values = {c: getattr(row, c) for c in COLUMNS
              if not fields or c in fields}
    if created:
        # Shown without updated_at on create, as upstream does.
        values.pop('updated_at', None)
    return CronTrigger.from_dict(values)


class CronTriggersController(rest.RestController):
    @expose.wsme(CronTrigger, wtypes.text, uniquelist)
    def get(self, identifier: str, fields: list[str] | None = None
            ) -> CronTrigger:
        ctx = hooks.current_context()
        access.enforce('cron_triggers:get', ctx)
        fields = list(fields or [])
        if fields and 'id' not in fields:
            fields.insert(0, 'id')
        collection.listing_validate_fields(LISTING, fields)
        with db_api.read_session() as session:
            return _resource(find(session, ctx, identifier), fields)

    @expose.wsme(CronTrigger, body=CronTrigger, status_code=201)
    def post(self, cron_trigger: CronTrigger) -> CronTrigger:
        # The argument's name is in WSME's messages ("Unknown attribute
        # for argument cron_trigger: ..."), as upstream's.
        ctx = hooks.current_context()
        access.enforce('cron_triggers:create', ctx)
        values = cron_trigger.to_dict()
        values['scope'] = lookup.check_scope(values.get('scope'), ctx,
                                             'cron_triggers')
        with db_api.transaction() as session:
            row = triggers.create_cron_trigger(session, ctx.project_id,
                                               values)
            result = _resource(row, created=True)
            next_at = row.next_execution_time
        outbox.wake_schedulers(next_at)
        return result

    @expose.wsme(None, wtypes.text, status_code=204)
    def delete(self, identifier: str) -> None:
        ctx = hooks.current_context()
        access.enforce('cron_triggers:delete', ctx)
        with db_api.transaction() as session:
            row = find(session, ctx, identifier)
            lookup.check_owner(row, ctx, 'cron trigger')
            session.delete(row)

    @expose.wsme_query(CronTriggers)
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None, name: str | None = None,
                workflow_name: str | None = None,
                workflow_id: str | None = None,
                workflow_input: str | None = None,
                workflow_params: str | None = None,
                scope: str | None = None, pattern: str | None = None,
                remaining_executions: str | None = None,
                first_execution_time: str | None = None,
                next_execution_time: str | None = None,
                created_at: str | None = None,
                updated_at: str | None = None,
                project_id: str | None = None,
                all_projects: bool = False) -> CronTriggers:
        access.enforce('cron_triggers:list', hooks.current_context())
        return collection.get_all(
            LISTING, marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields, all_projects=all_projects,
            filters={'name': name, 'workflow_name': workflow_name,
                     'workflow_id': workflow_id,
                     'workflow_input': workflow_input,
                     'workflow_params': workflow_params, 'scope': scope,
                     'pattern': pattern,
                     'remaining_executions': remaining_executions,
                     'first_execution_time': first_execution_time,
                     'next_execution_time': next_execution_time,
                     'created_at': created_at, 'updated_at': updated_at,
                     'project_id': project_id})
