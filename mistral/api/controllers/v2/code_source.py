"""/v2/code_sources: Python modules that dynamic actions take classes from.

The module text is the raw request body; ``name``, ``scope`` and
``namespace`` (and ``identifier`` for updates) are query parameters.
Every update bumps ``version`` so that executors load the new text.
"""

from __future__ import annotations

import ast
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
from mistral.api.controllers.v2 import collection
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.api.controllers.v2.types import uniquelist
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.utils import timeutils

COLUMNS = ('id', 'name', 'namespace', 'content', 'version', 'project_id',
           'scope', 'created_at', 'updated_at')

LISTING = collection.Listing(
    model=models.CodeSource,
    resource=resources.CodeSource,
    collection=resources.CodeSources,
    key='code_sources',
    default_columns=COLUMNS,
    field_columns={'actions': ()},
)


def parse_module(content: str) -> ast.Module:
    """The syntax tree of a module text; 400 when it is not Python."""
    if not content.strip():
        raise exc.InputException('The code source content is empty.')
    try:
        return ast.parse(content)
    except SyntaxError as e:
        raise exc.InputException(
            'The code source is not valid Python: %s (line %s)'
            % (e.msg, e.lineno)) from e


def module_names(content: str) -> set[str] | None:
    """Names bound at the top level of a module text (no execution);
    None when they cannot be known without running it (``import *``)."""
    names: set[str] = set()
    for node in parse_module(content).body:
        if isinstance(node, ast.ImportFrom) and any(
                alias.name == '*' for alias in node.names):
            return None
        if isinstance(node, (ast.ClassDef, ast.FunctionDef,
                             ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split('.')[0])
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target])
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
    return names


def text_dict(row: models.CodeSource) -> dict[str, Any]:
    """The hand-built JSON of the text endpoints: None left out."""
    out = resources.wire_dict({c: getattr(row, c) for c in COLUMNS},
                              COLUMNS)
    return {k: v for k, v in out.items() if v is not None}


def find(session: orm.Session, ctx: MistralContext, identifier: str,
         namespace: str = ''
         ) -> models.CodeSource:
    row = lookup.by_id_or_name(session, models.CodeSource, ctx, identifier,
                               namespace)
    if row is None:
        raise exc.DBEntityNotFoundError(
            'Code source not found [identifier=%s, namespace=%s]'
            % (identifier, namespace or ''))
    return row


class CodeSourcesController(rest.RestController):
    @expose.wsme(resources.CodeSource, wtypes.text, wtypes.text,
                 uniquelist)
    def get(self, identifier: str, namespace: str = '',
            fields: list[str] | None = None) -> resources.CodeSource:
        ctx = hooks.current_context()
        access.enforce('code_sources:get', ctx)
        fields = list(fields or [])
        if fields and 'id' not in fields:
            fields.insert(0, 'id')
        collection.listing_validate_fields(LISTING, fields)
        with db_api.read_session() as session:
            row = find(session, ctx, identifier, namespace)
            values = {c: getattr(row, c) for c in COLUMNS
                      if not fields or c in fields}
        return resources.CodeSource.from_dict(values)

    @expose.text_body()
    @errors.text_errors
    def post(self, name: str = '', scope: str = 'private',
             namespace: str = '', **_kw: Any) -> Any:
        ctx = hooks.current_context()
        access.enforce('code_sources:create', ctx)
        if not name:
            raise exc.InputException('The code source name is required.')
        scope = lookup.check_scope(scope, ctx, 'code_sources')
        content = hooks.request_text()
        parse_module(content)
        cs = models.CodeSource
        with db_api.transaction() as session:
            exists = session.execute(sa.select(cs.id).where(
                cs.name == name, cs.namespace == (namespace or ''),
                cs.project_id == ctx.project_id)).first()
            if exists:
                raise exc.DBDuplicateEntryError(
                    "Duplicate entry for CodeSource ['name', 'namespace', "
                    "'project_id']: %s, %s, %s"
                    % (name, namespace or '', ctx.project_id))
            row = cs(id=models.new_id(), name=name,
                     namespace=namespace or '', content=content, version=1,
                     scope=scope, project_id=ctx.project_id,
                     created_at=timeutils.utcnow())
            session.add(row)
            session.flush()
            body = text_dict(row)
        return errors.json_response(body, 201)

    @expose.text_body()
    @errors.text_errors
    def put(self, identifier: str = '', scope: str = 'private',
            namespace: str = '', **_kw: Any) -> Any:
        ctx = hooks.current_context()
        access.enforce('code_sources:update', ctx)
        if not identifier:
            raise exc.InputException(
                'The identifier of the code source is required.')
        scope = lookup.check_scope(scope, ctx, 'code_sources')
        content = hooks.request_text()
        parse_module(content)
        with db_api.transaction() as session:
            row = find(session, ctx, identifier, namespace)
            lookup.check_owner(row, ctx, 'code source')
            row.content = content
            row.scope = scope
            row.version = (row.version or 0) + 1
            row.updated_at = timeutils.utcnow()
            session.flush()
            body = text_dict(row)
        return errors.json_response(body, 200)

    @expose.wsme(None, wtypes.text, wtypes.text, status_code=204)
    def delete(self, identifier: str, namespace: str = '') -> None:
        ctx = hooks.current_context()
        access.enforce('code_sources:delete', ctx)
        with db_api.transaction() as session:
            row = find(session, ctx, identifier, namespace)
            lookup.check_owner(row, ctx, 'code source')
            # Its dynamic actions go with it (also ON DELETE CASCADE, but
            # said here so that no backend depends on it).
            da = models.DynamicActionDefinition
            session.execute(sa.delete(da).where(
                da.code_source_id == row.id))
            session.delete(row)

    @expose.wsme_query(resources.CodeSources)
    def get_all(self, marker: str | None = None, limit: int | None = None,
                sort_keys: list[str] | None = None,
                sort_dirs: list[str] | None = None,
                fields: list[str] | None = None, name: str | None = None,
                tags: str | None = None, scope: str | None = None,
                project_id: str | None = None,
                namespace: str | None = None,
                created_at: str | None = None,
                updated_at: str | None = None,
                all_projects: bool = False) -> resources.CodeSources:
        access.enforce('code_sources:list', hooks.current_context())
        return collection.get_all(
            LISTING, marker=marker, limit=limit, sort_keys=sort_keys,
            sort_dirs=sort_dirs, fields=fields, all_projects=all_projects,
            filters={'name': name, 'tags': tags, 'scope': scope,
                     'project_id': project_id, 'namespace': namespace,
                     'created_at': created_at, 'updated_at': updated_at})
