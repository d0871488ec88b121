"""Sharing workflows with other projects (/v2/workflows/{id}/members)."""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from mistral.api import app as api_app
from mistral.tests.unit.api import conftest as c

CONF = cfg.CONF

headers = c.headers
A, B, C = headers('pa'), headers('pb'), headers('pc')


def _wf(app: Any, text: str = c.WF, **kw: Any) -> str:
    r = app.post('/v2/workflows', text, headers={
        'Content-Type': 'text/plain', **A}, **kw)
    return r.json['workflows'][0]['id']


def test_share_accept_and_see(auth_app: Any) -> None:
    wf_id = _wf(auth_app)
    base = '/v2/workflows/%s/members' % wf_id
    # Not shared yet: invisible to B.
    auth_app.get('/v2/workflows/%s' % wf_id, headers=B, status=404)
    r = auth_app.post_json(base, {'member_id': 'pb'}, headers=A, status=201)
    m = r.json
    assert m['status'] == 'pending' and m['member_id'] == 'pb'
    assert m['project_id'] == 'pa' and m['resource_type'] == 'workflow'
    assert m['resource_id'] == wf_id and m['created_at']
    # Pending: still invisible.
    assert auth_app.get('/v2/workflows', headers=B).json['workflows'] == []
    # Duplicates conflict.
    auth_app.post_json(base, {'member_id': 'pb'}, headers=A, status=409)
    # Only the member decides about its membership.
    auth_app.put_json(base + '/pb', {'status': 'accepted'}, headers=A,
                      status=403)
    auth_app.put_json(base + '/pb', {'status': 'bogus'}, headers=B,
                      status=400)
    r = auth_app.put_json(base + '/pb', {'status': 'accepted'}, headers=B)
    assert r.json['status'] == 'accepted' and r.json['updated_at']
    listed = auth_app.get('/v2/workflows', headers=B).json['workflows']
    assert [w['id'] for w in listed] == [wf_id]
    assert auth_app.get('/v2/workflows/%s' % wf_id,
                        headers=B).json['project_id'] == 'pa'
    assert auth_app.get('/v2/workflows/wf1', headers=B).json['id'] == wf_id
    # C is not a member.
    assert auth_app.get('/v2/workflows', headers=C).json['workflows'] == []
    # Members see their own membership, owners all of them.
    auth_app.post_json(base, {'member_id': 'pc'}, headers=A, status=201)
    assert [x['member_id'] for x in auth_app.get(
        base, headers=A).json['members']] == ['pb', 'pc']
    assert [x['member_id'] for x in auth_app.get(
        base, headers=B).json['members']] == ['pb']
    assert auth_app.get(base + '/pb', headers=B).json['status'] == \
        'accepted'
    auth_app.get(base + '/pc', headers=B, status=404)
    # A member cannot change or delete the shared workflow.
    auth_app.delete('/v2/workflows/%s' % wf_id, headers=B, status=403)
    # Rejecting hides it again.
    auth_app.put_json(base + '/pb', {'status': 'rejected'}, headers=B)
    assert auth_app.get('/v2/workflows', headers=B).json['workflows'] == []
    # Only the owner withdraws a share.
    auth_app.delete(base + '/pc', headers=B, status=404)
    auth_app.delete(base + '/pc', headers=A, status=204)
    # Deleting the workflow deletes its members.
    auth_app.delete('/v2/workflows/%s' % wf_id, headers=A, status=204)
    assert auth_app.get(base, headers=A).json['members'] == []


def test_only_private_own_workflows_can_be_shared(auth_app: Any) -> None:
    admin = headers('adm', 'admin')
    r = auth_app.post('/v2/workflows?scope=public', c.WF,
                      headers={'Content-Type': 'text/plain', **admin})
    pub = r.json['workflows'][0]['id']
    r = auth_app.post_json('/v2/workflows/%s/members' % pub,
                           {'member_id': 'pb'}, headers=admin, status=400)
    assert 'private' in r.json['faultstring']
    wf_id = _wf(auth_app)
    # B cannot share A's workflow.
    auth_app.post_json('/v2/workflows/%s/members' % wf_id,
                       {'member_id': 'pc'}, headers=B, status=404)
    auth_app.post_json('/v2/workflows/%s/members' % wf_id, {},
                       headers=A, status=400)


def test_sharing_needs_authentication(app: Any) -> None:
    wf_id = c.create_wf(app).json['workflows'][0]['id']
    base = '/v2/workflows/%s/members' % wf_id
    for call in (lambda: app.get(base, status=400),
                 lambda: app.post_json(base, {'member_id': 'x'},
                                       status=400),
                 lambda: app.get(base + '/x', status=400),
                 lambda: app.put_json(base + '/x', {'status': 'accepted'},
                                      status=400),
                 lambda: app.delete(base + '/x', status=400)):
        r = call()
        assert 'authentication' in r.json['faultstring']


class FakeIdentity:
    """Stands in for keystonemiddleware: token ``tok-<project>``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        token = environ.get('HTTP_X_AUTH_TOKEN', '')
        if token.startswith('tok-'):
            project = token[4:]
            environ.update(HTTP_X_IDENTITY_STATUS='Confirmed',
                           HTTP_X_PROJECT_ID=project,
                           HTTP_X_USER_ID='u-' + project,
                           HTTP_X_ROLES='member')
        return self.app(environ, start_response)


def test_mistralclient_members(db: Any, engine: Any,
                               monkeypatch: Any) -> None:
    from mistralclient.api import client as mistral_client

    from mistral.api import service

    CONF.set_override('auth_enable', True, group='pecan')
    monkeypatch.setattr(api_app, '_keystone', FakeIdentity)
    server = service.ApiServer(host='127.0.0.1', port=0, threads=2)
    server.start()
    try:
        def client(project: str) -> Any:
            return mistral_client.client(mistral_url=server.url + '/v2',
                                         auth_token='tok-' + project,
                                         project_id=project)

        owner, member = client('pa'), client('pb')
        wf_id = owner.workflows.create(c.WF)[0].id
        created = owner.members.create(wf_id, 'workflow', 'pb')
        assert created.status == 'pending'
        assert member.workflows.list() == []
        assert member.members.update(wf_id, 'workflow').status == \
            'accepted'
        assert member.members.get(wf_id, 'workflow').status == 'accepted'
        assert [w.id for w in member.workflows.list()] == [wf_id]
        assert [m.member_id for m in owner.members.list(
            wf_id, 'workflow')] == ['pb']
        owner.members.delete(wf_id, 'workflow', 'pb')
        assert owner.members.list(wf_id, 'workflow') == []
    finally:
        server.stop()
        CONF.set_override('auth_enable', False, group='pecan')
