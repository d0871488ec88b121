"""Finding stored definitions the way a project sees them."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from mistral import exceptions as exc
from mistral.db import listing
from mistral.db import models
from mistral.lang import parser
from mistral.utils.lru import LRU

# Parsed specs by (definition id, updated_at): a definition's spec is parsed
# once per process until the definition changes.
_specs: LRU[Any] = LRU(512)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _visible(model: type, project_id: str | None):
    """The project's own rows, public ones, and accepted shares."""
    return listing.scope_condition(model, project_id)


def find_workflow(session: orm.Session, identifier: str, namespace: str,
                  project_id: str | None) -> models.WorkflowDefinition:
    """A workflow by id, or by name in ``namespace`` (then the default
    namespace); the project's own definition wins over a public one."""
    wf = models.WorkflowDefinition
    stmt = sa.select(wf).options(orm.undefer(wf.spec))
    if _is_uuid(identifier):
        row = session.execute(stmt.where(
            wf.id == identifier,
            _visible(wf, project_id))).scalar_one_or_none()
        if row is not None:
            return row
    namespaces = [namespace or '']
    if namespace:
        namespaces.append('')
    for ns in namespaces:
        found = session.execute(stmt.where(
            wf.name == identifier, wf.namespace == ns,
            _visible(wf, project_id))).scalars().all()
        if found:
            own = [r for r in found if r.project_id == project_id]
            return (own or found)[0]
    raise exc.DBEntityNotFoundError(
        'Workflow not found [workflow_identifier=%s, namespace=%s]'
        % (identifier, namespace or ''))


def workflow_spec(wf_def: models.WorkflowDefinition) -> Any:
    key = (wf_def.id, wf_def.updated_at or wf_def.created_at)
    spec = _specs.get(key)
    if spec is None:
        spec = parser.workflow_spec_from_dict(wf_def.spec)
        _specs.put(key, spec)
    return spec


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
