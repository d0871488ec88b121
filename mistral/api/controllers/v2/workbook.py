"""/v2/workbooks: a workbook stores its workflows and ad-hoc actions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pecan import rest
from sqlalchemy import orm
from wsme import types as wtypes

from mistral import exceptions as exc
from mistral.api import access
from mistral.api import errors
from mistral.api import expose
from mistral.api import hooks
from mistral.api.controllers.v2 import action as action_ctl
from mistral.api.controllers.v2 import changes
from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2 import spec_parser
from mistral.api.controllers.v2 import validation
from mistral.api.controllers.v2 import workflow as workflow_ctl
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.utils import timeutils

COLUMNS = ('id', 'name', 'namespace', 'definition', 'tags', 'scope',
           'project_id', 'created_at', 'updated_at')

LISTING = collection.Listing(
    model=models.Workbook,
    resource=resources.Workbook,
    collection=resources.Workbooks,
    key='workbooks',
    default_columns=COLUMNS,
)


def text_dict(row: models.Workbook, created: bool = False
              ) -> dict[str, Any]:
    """The JSON of create (no updated_at) and update (updated_at, null
    when the update changed nothing) answers."""
    out = resources.wire_dict({c: getattr(row, c) for c in COLUMNS},
                              COLUMNS)
    if created:
        out.pop('updated_at', None)
    return out


def find(session: orm.Session, ctx: MistralContext, name: str, namespace: str
         ) -> models.Workbook:
    row = lookup.get_by_name(session, models.Workbook, ctx, name,
                             namespace or '')
    if row is None:
        raise exc.DBEntityNotFoundError(
            'Workbook not found [name=%s, namespace=%s]'
            % (name, namespace or ''))
    return row


def _store(session: orm.Session, ctx: MistralContext, spec: Any,
           namespace: str, scope: str,
           update: bool) -> models.Workbook:
    """Create or update the workbook row, then create or update its
    workflows and actions, in one transaction.

    As upstream, the workflows and actions a workbook defines are
    created, or updated in place when they exist (their ids and
    created_at stay): deleting a workbook leaves them, and creating it
    again takes them back.
    """
    row = session.execute(sa.select(models.Workbook).where(
        models.Workbook.name == spec.name,
        models.Workbook.namespace == namespace,
        models.Workbook.project_id == ctx.project_id)).scalar()
    if row is not None and not update:
        raise exc.DBDuplicateEntryError(
            "Duplicate entry for Workbook ['name', 'namespace', "
            "'project_id']: %s, %s, %s"
            % (spec.name, namespace, ctx.project_id))
    if row is None and update:
        raise exc.DBEntityNotFoundError(
            'Workbook not found [name=%s, namespace=%s]'
            % (spec.name, namespace))
    values = dict(definition=spec.definition, spec=spec.to_dict(),
                  tags=list(spec.tags or []), scope=scope)
    if row is None:
        row = models.Workbook(id=models.new_id(), name=spec.name,
                              namespace=namespace, project_id=ctx.project_id,
                              created_at=timeutils.utcnow(), **values)
        session.add(row)
    else:
        changes.apply(row, values)
    wfs = list(spec.workflows.values())
    actions = [('%s.%s' % (spec.name, short), a)
               for short, a in spec.actions.items()]
    workflow_ctl.upsert_definitions(session, ctx, wfs, namespace, scope,
                                    workbook_name=spec.name)
    action_ctl.upsert(session, ctx, actions, namespace, scope,
                      workbook_name=spec.name)
    session.flush()
    return row


def _parse(skip_validation: Any) -> Any:
    return spec_parser.parser().parse_workbook(
        hooks.request_text(),
        validate=lookup.should_validate(skip_validation))


class WorkbooksController(rest.RestController):
    validate = validation.ValidationController(
        lambda text: spec_parser.parser().parse_workbook(text))

    @expose.wsme(resources.Workbook, wtypes.text, wtypes.text,
                        uniquelist)
    def get(self, name: str, namespace: str = '',
            fields: list[str] | None = None) -> resources.Workbook:
        ctx = hooks.current_context()
        access.enforce('workbooks:get', ctx)
        fields = list(fields or [])
        if fields and 'id' not in fields:
            fields.insert(0, 'id')
        collection.listing_validate_fields(LISTING, fields)
        with db_api.read_session() as session:
            row = find(session, ctx, name, namespace)
            values = {c: getattr(row, c) for c in COLUMNS
                      if not fields or c in fields}
        return resources.Workbook.from_dict(values)

    @expose.text_body()
    @errors.text_errors
    def post(self, namespace: str = '', scope: str = 'private',
             skip_validation: Any = False, **_kw: Any) -> Any:
        ctx = hooks.current_context()
        access.enforce('workbooks:create', ctx)
        scope = lookup.check_scope(scope, ctx, 'workbooks')
        spec = _parse(skip_validation)
        with db_api.transaction() as session:
            row = _store(session, ctx, spec, namespace or '', scope, False)
            body = text_dict(row, created=True)
        return errors.json_response(body, 201)

    @expose.text_body()
    @errors.text_errors
    def put(self, namespace: str = '', scope: str = 'private',
            skip_validation: Any = False, **_kw: Any) -> Any:
        ctx = hooks.current_context()
        access.enforce('workbooks:update', ctx)
        scope = lookup.check_scope(scope, ctx, 'workbooks')
        spec = _parse(skip_validation)
        with db_api.transaction() as session:
            row = _store(session, ctx, spec, namespace or '', scope, True)
            body = text_dict(row)
        return errors.json_response(body, 200)

    @expose.wsme(None, wtypes.text, wtypes.text, status_code=204)
    def delete(self, name: str, namespace: str = '') -> None:
        ctx = hooks.current_context()
        access.enforce('workbooks:delete', ctx)
        with db_api.transaction() as session:
            row = find(session, ctx, name, namespace)
            lookup.check_owner(row, ctx, 'workbook')
            # Only the workbook: its workflows and actions stay, as
            # upstream (delete them by name, or create the workbook
            # again to take them back).
            session.delete(row)

    @expose.wsme_query(resources.Workbooks)
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None,
                created_at: str | None = None,
                definition: str | None = None, name: str | None = None,
                scope: str | None = None, tags: str | None = None,
                updated_at: str | None = None,
                namespace: str | None = None) -> resources.Workbooks:
        access.enforce('workbooks:list', hooks.current_context())
        return collection.get_all(
            LISTING, marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields,
            filters={'created_at': created_at, 'definition': definition,
                     'name': name, 'scope': scope, 'tags': tags,
                     'updated_at': updated_at, 'namespace': namespace})
