"""/v2/workflows: workflow definitions (raw YAML in, JSON out)."""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import sqlalchemy as sa
from pecan import rest
from sqlalchemy import orm
from wsme import types as wtypes

from mistral import exceptions as exc
from mistral import lang
from mistral.api import access
from mistral.api import errors
from mistral.api import expose
from mistral.api import hooks
from mistral.api.controllers.v2 import changes
from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import member
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2 import spec_parser
from mistral.api.controllers.v2 import validation
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.utils import timeutils

COLUMNS = ('id', 'name', 'namespace', 'spec', 'definition', 'checksum',
           'tags', 'scope', 'project_id', 'created_at', 'updated_at')


def interface_of(spec: dict[str, Any] | None) -> dict[str, Any]:
    spec = spec or {}
    output = spec.get('output') or {}
    return {'input': list(spec.get('input') or []),
            'output': list(output.keys()) if isinstance(output, dict)
            else list(output)}


def to_wire(row: dict[str, Any]) -> dict[str, Any]:
    """Wire attributes of a workflow row dict (JSON fields as objects)."""
    out = resources.wire_dict(row, COLUMNS)
    if 'spec' in out:
        spec = out.pop('spec')
        out['input'] = lang.input_string((spec or {}).get('input'))
        out['interface'] = interface_of(spec)
    return out


def to_resource(row: dict[str, Any], _fields: Any = None
                ) -> resources.Workflow:
    return resources.Workflow.from_dict(to_wire(row))


def row_dict(obj: models.WorkflowDefinition) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in COLUMNS}


def text_dict(obj: models.WorkflowDefinition, created: bool = False
              ) -> dict[str, Any]:
    """The hand-built JSON of the text endpoints: a created workflow
    without updated_at, an updated one with it (null when the update
    changed nothing), as upstream."""
    out = to_wire(row_dict(obj))
    if created:
        out.pop('updated_at', None)
    return out


LISTING = collection.Listing(
    model=models.WorkflowDefinition,
    resource=resources.Workflow,
    collection=resources.Workflows,
    key='workflows',
    default_columns=COLUMNS,
    field_columns={'input': ('spec',), 'interface': ('spec',)},
    to_values=lambda row, _fields: to_wire(row),
)


def checksum(definition: str | None) -> str:
    return hashlib.md5((definition or '').encode('utf-8'),
                       usedforsecurity=False).hexdigest()


def find(session: orm.Session, ctx: MistralContext, identifier: str,
         namespace: str = ''
         ) -> models.WorkflowDefinition:
    row = lookup.by_id_or_name(session, models.WorkflowDefinition, ctx,
                               identifier, namespace)
    if row is None:
        raise exc.DBEntityNotFoundError(
            'Workflow not found [workflow_identifier=%s, namespace=%s]'
            % (identifier, namespace or ''))
    return row


def check_not_triggered(session: orm.Session, ctx: MistralContext,
                        workflows: Sequence[tuple[str, str]]) -> None:
    """400 if a cron or event trigger (of any project) still starts one
    of ``workflows`` (``(id, name)`` pairs); names the triggers.

    Triggers of other projects are named by id only.
    """
    if not workflows:
        return
    names = dict(workflows)
    used: list[str] = []
    for kind, model in (('cron trigger', models.CronTrigger),
                        ('event trigger', models.EventTrigger)):
        rows = session.execute(
            sa.select(model.id, model.name, model.project_id,
                      model.workflow_id)
            .where(model.workflow_id.in_(list(names)))
            .order_by(model.name, model.id)).all()
        for row in rows:
            if row.project_id == ctx.project_id or ctx.is_admin:
                who = "%s '%s' [id=%s]" % (kind, row.name, row.id)
            else:
                who = '%s [id=%s] of another project' % (kind, row.id)
            if len(names) > 1:
                who += " (workflow '%s')" % names[row.workflow_id]
            used.append(who)
    if used:
        raise exc.DBError(
            "Can't delete workflow%s %s: still used by %s. Delete the "
            "trigger(s) first." % (
                's' if len(names) > 1 else '',
                ', '.join("'%s' [id=%s]" % (n, i)
                          for i, n in names.items()),
                '; '.join(used)))


def duplicate_error(name: str, namespace: str, project_id: str | None
                    ) -> exc.DBDuplicateEntryError:
    return exc.DBDuplicateEntryError(
        "Duplicate entry for WorkflowDefinition ['name', 'namespace', "
        "'project_id']: %s, %s, %s" % (name, namespace, project_id))


def create_definitions(session: orm.Session, ctx: MistralContext,
                       specs: Sequence[Any],
                       namespace: str, scope: str,
                       workbook_name: str | None = None
                       ) -> list[models.WorkflowDefinition]:
    """Insert workflows; in a workbook they are named ``<wb>.<wf>``."""
    prefix = workbook_name + '.' if workbook_name else ''
    rows = []
    for spec in specs:
        name = prefix + spec.name
        exists = session.execute(
            sa.select(models.WorkflowDefinition.id).where(
                models.WorkflowDefinition.name == name,
                models.WorkflowDefinition.namespace == namespace,
                models.WorkflowDefinition.project_id == ctx.project_id)
        ).first()
        if exists:
            raise duplicate_error(name, namespace, ctx.project_id)
        row = models.WorkflowDefinition(
            id=models.new_id(), name=name, namespace=namespace,
            definition=spec.definition, spec=spec.to_dict(),
            tags=list(spec.tags or []), scope=scope,
            project_id=ctx.project_id, checksum=checksum(spec.definition),
            is_system=False, workbook_name=workbook_name,
            created_at=timeutils.utcnow())
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def update_definition(row: models.WorkflowDefinition, spec: Any,
                      scope: str, name: str | None = None,
                      workbook_name: str | None = None) -> None:
    """Store ``spec`` in ``row``; ``updated_at`` moves only when
    something changed (as upstream)."""
    if row.is_system:
        raise exc.InvalidModelException(
            'Can not modify a system workflow definition [name=%s]'
            % row.name)
    values = dict(name=name or spec.name, definition=spec.definition,
                  spec=spec.to_dict(), tags=list(spec.tags or []),
                  scope=scope, checksum=checksum(spec.definition))
    if workbook_name:
        values['workbook_name'] = workbook_name
    changes.apply(row, values)


def upsert_definitions(session: orm.Session, ctx: MistralContext,
                       specs: Sequence[Any],
                       namespace: str, scope: str,
                       workbook_name: str | None = None,
                       update_only: bool = False
                       ) -> list[models.WorkflowDefinition]:
    """Update workflows that exist (own project), create the others
    (with ``update_only``, a missing one is not found: 404)."""
    prefix = workbook_name + '.' if workbook_name else ''
    rows = []
    for spec in specs:
        name = prefix + spec.name
        row = session.execute(
            sa.select(models.WorkflowDefinition).where(
                models.WorkflowDefinition.name == name,
                models.WorkflowDefinition.namespace == namespace,
                models.WorkflowDefinition.project_id == ctx.project_id)
        ).scalar()
        if row is None and update_only:
            raise exc.DBEntityNotFoundError(
                'Workflow not found [workflow_identifier=%s, namespace=%s]'
                % (name, namespace))
        if row is None:
            rows += create_definitions(session, ctx, [spec], namespace,
                                       scope, workbook_name)
        else:
            update_definition(row, spec, scope, name, workbook_name)
            rows.append(row)
    session.flush()
    return rows


class WorkflowsController(rest.RestController):
    validate = validation.ValidationController(
        lambda text: spec_parser.parser().parse_workflows(text))
    members = member.MembersController('workflow')

    @expose.wsme(resources.Workflow, wtypes.text, wtypes.text,
                        uniquelist)
    def get(self, identifier: str, namespace: str = '',
            fields: list[str] | None = None) -> resources.Workflow:
        ctx = hooks.current_context()
        access.enforce('workflows:get', ctx)
        fields = list(fields or [])
        if fields and 'id' not in fields:
            fields.insert(0, 'id')
        collection.listing_validate_fields(LISTING, fields)
        with db_api.read_session() as session:
            row = row_dict(find(session, ctx, identifier, namespace))
        if fields:
            cols = collection.columns_for(LISTING, fields)
            row = {k: v for k, v in row.items() if k in cols}
        return to_resource(row)

    @expose.text_body()
    @errors.text_errors
    def post(self, namespace: str = '', scope: str = 'private',
             skip_validation: Any = False, **_kw: Any) -> Any:
        ctx = hooks.current_context()
        access.enforce('workflows:create', ctx)
        scope = lookup.check_scope(scope, ctx, 'workflows')
        specs = spec_parser.parser().parse_workflows(
            hooks.request_text(),
            validate=lookup.should_validate(skip_validation))
        with db_api.transaction() as session:
            rows = create_definitions(session, ctx, specs, namespace or '',
                                      scope)
            body = {'workflows': [text_dict(r, created=True) for r in rows]}
        return errors.json_response(body, 201)

    @expose.text_body()
    @errors.text_errors
    def put(self, identifier: str | None = None, namespace: str = '',
            scope: str = 'private', skip_validation: Any = False,
            **_kw: Any) -> Any:
        ctx = hooks.current_context()
        access.enforce('workflows:update', ctx)
        scope = lookup.check_scope(scope, ctx, 'workflows')
        specs = spec_parser.parser().parse_workflows(
            hooks.request_text(),
            validate=lookup.should_validate(skip_validation))
        if identifier and len(specs) > 1:
            raise exc.InputException(
                'More than one workflow is in the definition, but an id '
                'can only name one workflow [id=%s]' % identifier)
        with db_api.transaction() as session:
            if identifier:
                row = find(session, ctx, identifier, namespace)
                lookup.check_owner(row, ctx, 'workflow')
                update_definition(row, specs[0], scope)
                session.flush()
                return errors.json_response(text_dict(row), 200)
            # An update, not a create: every workflow must exist (the
            # transaction leaves all of them as they were otherwise).
            rows = upsert_definitions(session, ctx, specs, namespace or '',
                                      scope, update_only=True)
            body = {'workflows': [text_dict(r) for r in rows]}
        return errors.json_response(body, 200)

    @expose.wsme(None, wtypes.text, wtypes.text, status_code=204)
    def delete(self, identifier: str, namespace: str = '') -> None:
        ctx = hooks.current_context()
        access.enforce('workflows:delete', ctx)
        with db_api.transaction() as session:
            row = find(session, ctx, identifier, namespace)
            lookup.check_owner(row, ctx, 'workflow')
            if row.is_system:
                raise exc.DataAccessException(
                    'Attempt to delete a system workflow [name=%s]'
                    % row.name)
            check_not_triggered(session, ctx, [(row.id, row.name)])
            member.delete_all(session, row.id)
            session.delete(row)

    @expose.wsme_query(resources.Workflows)
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None, name: str | None = None,
                input: str | None = None, definition: str | None = None,
                tags: str | None = None, scope: str | None = None,
                project_id: str | None = None,
                created_at: str | None = None,
                updated_at: str | None = None, all_projects: bool = False,
                namespace: str | None = None) -> resources.Workflows:
        if input is not None:
            # "input" is not stored; it is derived from the spec.
            raise exc.InputException(
                'Filtering workflows by input is not supported.')
        access.enforce('workflows:list', hooks.current_context())
        return collection.get_all(
            LISTING, marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields, all_projects=all_projects,
            filters={'name': name, 'definition': definition, 'tags': tags,
                     'scope': scope, 'project_id': project_id,
                     'created_at': created_at, 'updated_at': updated_at,
                     'namespace': namespace})
