"""/v2/workflows/{id}/members: sharing private workflows with projects.

The owner project adds a member project (status ``pending``); the member
accepts or rejects. Accepted shares make the workflow visible to the
member (see :func:`mistral.db.listing.scope_condition`). Sharing needs
authentication: without it every caller is the same default project.
"""

from __future__ import annotations

import sqlalchemy as sa
from oslo_config import cfg
from pecan import rest
from sqlalchemy import orm
from wsme import types as wtypes

from mistral import exceptions as exc
from mistral.api import access
from mistral.api import expose
from mistral.api import hooks
from mistral.api.controllers.v2 import changes
from mistral.api.controllers.v2 import resources
from mistral.context import MistralContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.utils import timeutils

CONF = cfg.CONF

STATUSES = ('pending', 'accepted', 'rejected')
COLUMNS = resources.Member._fields

# Upstream answers 500 here; we answer 400 (see the differences doc).
AUTH_REQUIRED = ('Resource sharing feature can only be supported with '
                 'authentication enabled.')


def _check_auth() -> None:
    if not CONF.pecan.auth_enable:
        raise exc.InputException(AUTH_REQUIRED)


def _to_resource(row: models.ResourceMember, created: bool = False
                 ) -> resources.Member:
    values = {c: getattr(row, c) for c in COLUMNS}
    if created:
        # A new share is shown without updated_at, as upstream does.
        values.pop('updated_at')
    return resources.Member.from_dict(values)


def _owned_workflow(session: orm.Session, ctx: MistralContext, resource_id: str
                    ) -> models.WorkflowDefinition:
    """The caller's own workflow ``resource_id`` (404 otherwise)."""
    wf = session.get(models.WorkflowDefinition, resource_id)
    if wf is None or (wf.project_id != ctx.project_id and not ctx.is_admin):
        raise exc.DBEntityNotFoundError(
            'WorkflowDefinition not found [id=%s]' % resource_id)
    return wf


def _visible_members(ctx: MistralContext, resource_id: str, resource_type: str
                     ) -> sa.Select:
    """The owner sees every member; a member sees its own membership."""
    m = models.ResourceMember
    stmt = sa.select(m).where(m.resource_id == resource_id,
                              m.resource_type == resource_type)
    if not ctx.is_admin:
        stmt = stmt.where(sa.or_(m.project_id == ctx.project_id,
                                 m.member_id == ctx.project_id))
    return stmt


def _not_found(resource_id: str, resource_type: str, member_id: str
               ) -> exc.DBEntityNotFoundError:
    return exc.DBEntityNotFoundError(
        'Resource member not found [resource_id=%s, member_id=%s, '
        'resource_type=%s]' % (resource_id, member_id, resource_type))


def delete_all(session: orm.Session, resource_id: str,
               resource_type: str = 'workflow') -> None:
    """Forget the shares of a deleted resource."""
    m = models.ResourceMember
    session.execute(sa.delete(m).where(m.resource_id == resource_id,
                                       m.resource_type == resource_type))


class MembersController(rest.RestController):
    def __init__(self, resource_type: str = 'workflow') -> None:
        super().__init__()
        self.type = resource_type

    @expose.wsme(resources.Member, wtypes.text, wtypes.text)
    def get(self, resource_id: str, member_id: str) -> resources.Member:
        ctx = hooks.current_context()
        access.enforce('members:get', ctx)
        _check_auth()
        m = models.ResourceMember
        with db_api.read_session() as session:
            row = session.execute(_visible_members(
                ctx, resource_id, self.type).where(
                    m.member_id == member_id)).scalar()
            if row is None:
                raise _not_found(resource_id, self.type, member_id)
            return _to_resource(row)

    @expose.wsme(resources.Members, wtypes.text)
    def get_all(self, resource_id: str) -> resources.Members:
        ctx = hooks.current_context()
        access.enforce('members:list', ctx)
        _check_auth()
        m = models.ResourceMember
        with db_api.read_session() as session:
            rows = session.execute(_visible_members(
                ctx, resource_id, self.type).order_by(
                    m.created_at, m.id)).scalars()
            return resources.Members(
                members=[_to_resource(r) for r in rows])

    @expose.wsme(resources.Member, wtypes.text, body=resources.Member,
                 status_code=201)
    def post(self, resource_id: str, member_info: resources.Member
             ) -> resources.Member:
        ctx = hooks.current_context()
        access.enforce('members:create', ctx)
        _check_auth()
        member_id = getattr(member_info, 'member_id', None)
        if not isinstance(member_id, str) or not member_id:
            raise exc.InputException('The member_id is required.')
        with db_api.transaction() as session:
            wf = _owned_workflow(session, ctx, resource_id)
            if wf.scope != 'private':
                raise exc.WorkflowException(
                    'Only private resources can be shared [id=%s, '
                    'scope=%s]' % (resource_id, wf.scope))
            if member_id == wf.project_id:
                raise exc.InputException(
                    'A resource can not be shared with its own project.')
            m = models.ResourceMember
            exists = session.execute(sa.select(m.id).where(
                m.resource_id == resource_id, m.resource_type == self.type,
                m.member_id == member_id)).first()
            if exists:
                raise exc.DBDuplicateEntryError(
                    "Duplicate entry for ResourceMember ['resource_id', "
                    "'resource_type', 'member_id']: %s, %s, %s"
                    % (resource_id, self.type, member_id))
            row = models.ResourceMember(
                id=models.new_id(), resource_id=resource_id,
                resource_type=self.type, project_id=wf.project_id,
                member_id=member_id, status='pending',
                created_at=timeutils.utcnow())
            session.add(row)
            session.flush()
            return _to_resource(row, created=True)

    @expose.wsme(resources.Member, wtypes.text, wtypes.text,
                 body=resources.Member)
    def put(self, resource_id: str, member_id: str,
            member_info: resources.Member) -> resources.Member:
        ctx = hooks.current_context()
        access.enforce('members:update', ctx)
        _check_auth()
        status = getattr(member_info, 'status', None)
        if status not in STATUSES:
            raise exc.InputException(
                'Invalid status: %s; choose from %s'
                % (status, ', '.join(STATUSES)))
        if member_id != ctx.project_id:
            # Only the member decides about its own membership.
            raise exc.NotAllowedException(
                'Only the member project can change the status of its '
                'membership.')
        m = models.ResourceMember
        with db_api.transaction() as session:
            row = session.execute(sa.select(m).where(
                m.resource_id == resource_id, m.resource_type == self.type,
                m.member_id == member_id)).scalar()
            if row is None:
                raise _not_found(resource_id, self.type, member_id)
            changes.apply(row, {'status': status})
            session.flush()
            return _to_resource(row)

    @expose.wsme(None, wtypes.text, wtypes.text, status_code=204)
    def delete(self, resource_id: str, member_id: str) -> None:
        ctx = hooks.current_context()
        access.enforce('members:delete', ctx)
        _check_auth()
        m = models.ResourceMember
        with db_api.transaction() as session:
            stmt = sa.select(m).where(
                m.resource_id == resource_id, m.resource_type == self.type,
                m.member_id == member_id)
            if not ctx.is_admin:
                # Only the owner withdraws a share.
                stmt = stmt.where(m.project_id == ctx.project_id)
            row = session.execute(stmt).scalar()
            if row is None:
                raise _not_found(resource_id, self.type, member_id)
            session.delete(row)
