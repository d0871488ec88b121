"""Finding stored definitions the way a project sees them."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from mistral import exceptions as exc
from mistral.db import listing
from mistral.db import models
from mistral.lang import parser
from mistral.utils import ids
from mistral.utils.lru import LRU

# A stored definition's spec, as stored (dict) and parsed, by (id,
# version): loaded and parsed once per process until the definition changes.
_specs: LRU[tuple[Any, Any]] = LRU(512)


@dataclasses.dataclass(frozen=True)
class WorkflowRef:
    """What starting an execution needs of a stored workflow definition.

    Looked up with a narrow column list: the definition text and its spec
    JSON are only read (and parsed) once per version, not per start.
    """

    id: str
    name: str
    namespace: str
    project_id: str | None
    tags: Any
    version: tuple[Any, ...]
    spec: Any  # the stored spec dict: shared between starts, never mutated


def _visible(model: type, project_id: str | None):
    """The project's own rows, public ones, and accepted shares."""
    return listing.scope_condition(model, project_id)


def _lookup_columns() -> tuple[Any, ...]:
    wf = models.WorkflowDefinition
    return (wf.id, wf.name, wf.namespace, wf.project_id, wf.tags,
            wf.created_at, wf.updated_at, wf.checksum)


# Built statements per (kind, project): building the scope condition costs
# more than running the cached compiled form, and starts repeat them.
_statements: LRU[Any] = LRU(256)


def _statement(by_id: bool, project_id: str | None,
               any_project: bool = False) -> Any:
    key = (by_id, project_id, any_project)
    stmt = _statements.get(key)
    if stmt is None:
        wf = models.WorkflowDefinition
        if by_id:
            where = [wf.id == sa.bindparam('ident')]
        else:
            where = [wf.name == sa.bindparam('ident'),
                     wf.namespace == sa.bindparam('ns')]
        if not any_project:
            where.append(_visible(wf, project_id))
        stmt = sa.select(*_lookup_columns()).where(*where)
        _statements.put(key, stmt)
    return stmt


def _ref(session: orm.Session, row: Any) -> WorkflowRef:
    version = (row.updated_at or row.created_at, row.checksum)
    cached = _specs.get((row.id, version))
    if cached is None:
        wf = models.WorkflowDefinition
        spec_dict = session.execute(
            sa.select(wf.spec).where(wf.id == row.id)).scalar_one()
        cached = (spec_dict, parser.workflow_spec_from_dict(spec_dict))
        _specs.put((row.id, version), cached)
    return WorkflowRef(id=row.id, name=row.name, namespace=row.namespace,
                       project_id=row.project_id, tags=row.tags,
                       version=version, spec=cached[0])


def find_workflow(session: orm.Session, identifier: str, namespace: str,
                  project_id: str | None, fallback: bool = True,
                  any_project: bool = False) -> WorkflowRef:
    """A workflow by id, or by name in ``namespace`` (then, with
    ``fallback``, the default namespace); the project's own definition wins
    over a public one. ``any_project``: an admin's lookup, which sees the
    private definitions of every project too (as upstream's)."""
    if ids.is_uuid(identifier):
        row = session.execute(_statement(True, project_id, any_project),
                              {'ident': identifier}).first()
        if row is not None:
            return _ref(session, row)
    namespaces = [namespace or '']
    if namespace and fallback:
        namespaces.append('')
    for ns in namespaces:
        found = session.execute(_statement(False, project_id, any_project),
                                {'ident': identifier, 'ns': ns}).all()
        if found:
            own = [r for r in found if r.project_id == project_id]
            return _ref(session, (own or found)[0])
    raise exc.DBEntityNotFoundError(
        'Workflow not found [workflow_identifier=%s, namespace=%s]'
        % (identifier, namespace or ''))


def workflow_spec(wf_def: WorkflowRef) -> Any:
    """The parsed spec of a definition found with find_workflow."""
    cached = _specs.get((wf_def.id, wf_def.version))
    if cached is None:
        cached = (wf_def.spec, parser.workflow_spec_from_dict(wf_def.spec))
        _specs.put((wf_def.id, wf_def.version), cached)
    return cached[1]


def find_environment(session: orm.Session, name: str,
                     project_id: str | None) -> models.Environment:
    env = models.Environment
    found = session.execute(sa.select(env).where(
        env.name == name, _visible(env, project_id))).scalars().all()
    if not found:
        raise exc.DBEntityNotFoundError(
            'Environment not found [name=%s]' % name)
    own = [r for r in found if r.project_id == project_id]
    return (own or found)[0]
