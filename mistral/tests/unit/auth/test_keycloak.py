"""keycloak-oidc: tokens checked by the realm key or by Keycloak's userinfo.

A local HTTP server stands in for Keycloak: it publishes the realm's
public keys (JWKS) and a userinfo endpoint that accepts tokens it signed
and has not revoked. Tokens are signed in the test with PyJWT.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from typing import Any, Iterator

import jwt
import pytest
import webtest
from cryptography.hazmat.primitives.asymmetric import rsa
from oslo_config import cfg

from mistral.api import app as api_app
from mistral.auth import keycloak
from mistral.tests.unit.api import conftest as c

CONF = cfg.CONF

# The API test fixtures: a fresh database and a fake engine.
db = c.db
engine = c.engine

REALM = 'realm1'


class FakeKeycloak:
    """Realm keys, a userinfo endpoint and a record of the calls."""

    def __init__(self) -> None:
        self.keys = {'k1': rsa.generate_private_key(65537, 2048)}
        self.revoked: set[str] = set()
        self.realms = {REALM, 'realm2'}
        # Users of the password grant and their realm roles.
        self.users = {'root': ['admin', 'member'], 'alice': ['member'],
                      'bob': ['member']}
        self.calls: list[str] = []
        # 'jwks', or 'realm' for the realm document with public_key.
        self.key_format = 'jwks'
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                # The password grant the mistral CLI uses to log in.
                owner.calls.append(self.path)
                length = int(self.headers.get('Content-Length') or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                match = re.match(
                    r'^/realms/([^/]+)/protocol/openid-connect/token$',
                    self.path)
                user = (form.get('username') or [''])[0]
                if not match or match.group(1) not in owner.realms or \
                        form.get('grant_type') != ['password'] or \
                        user not in owner.users:
                    self._json(401, {'error': 'invalid_grant'})
                    return
                token = owner.token(roles=tuple(owner.users[user]),
                                    realm=match.group(1),
                                    preferred_username=user)
                self._json(200, {'access_token': token,
                                 'token_type': 'Bearer'})

            def do_GET(self) -> None:
                owner.calls.append(self.path)
                certs = re.match(
                    r'^/realms/([^/]+)/protocol/openid-connect/certs$',
                    self.path)
                if certs and certs.group(1) in owner.realms:
                    self._json(200, owner.jwks())
                elif self.path == '/realms/%s' % REALM:
                    self._json(200, owner.realm_document())
                elif self.path == ('/realms/%s/protocol/openid-connect/'
                                   'userinfo' % REALM):
                    auth = self.headers.get('Authorization', '')
                    token = auth.partition('Bearer ')[2]
                    if owner.accepts(token):
                        self._json(200, {'sub': 'user-1'})
                    else:
                        self._json(401, {'error': 'invalid_token'})
                else:
                    self._json(404, {})

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(
                key.public_key()))
            jwk.update(kid=kid, use='sig', alg='RS256')
            keys.append(jwk)
        return {'keys': keys}

    def realm_document(self) -> dict[str, Any]:
        from cryptography.hazmat.primitives import serialization

        der = self.keys['k1'].public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        import base64
        return {'realm': REALM, 'public_key': base64.b64encode(der).decode()}

    def accepts(self, token: str) -> bool:
        if token in self.revoked:
            return False
        try:
            kid = jwt.get_unverified_header(token).get('kid')
            jwt.decode(token, self.keys[kid].public_key(),
                       algorithms=['RS256'],
                       options={'verify_aud': False})
            return True
        except (jwt.PyJWTError, KeyError):
            return False

    def token(self, roles: tuple[str, ...] = ('member',), kid: str = 'k1',
              key: Any = None, ttl: int = 300, realm: str = REALM,
              **claims: Any) -> str:
        now = int(time.time())
        body = {'iss': '%s/realms/%s' % (self.url, realm),
                'sub': 'user-1', 'preferred_username': 'alice',
                'realm_access': {'roles': list(roles)}, 'iat': now,
                'exp': now + ttl, 'aud': 'account'}
        body.update(claims)
        return jwt.encode(body, key or self.keys[kid], algorithm='RS256',
                          headers={'kid': kid})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def kc() -> Iterator[FakeKeycloak]:
    server = FakeKeycloak()
    CONF.set_override('auth_type', 'keycloak-oidc')
    CONF.set_override('auth_url', server.url, group='keycloak_oidc')
    keycloak.reset()
    yield server
    server.stop()
    keycloak.reset()
    CONF.clear_override('auth_type')
    for name in ('auth_url', 'user_info_endpoint_url', 'public_cert_url',
                 'keycloak_iss'):
        CONF.clear_override(name, group='keycloak_oidc')


@pytest.fixture
def app(db: Any, engine: Any, kc: FakeKeycloak) -> Iterator[Any]:
    CONF.set_override('auth_enable', True, group='pecan')
    yield webtest.TestApp(api_app.setup_app())
    CONF.set_override('auth_enable', False, group='pecan')


def _h(token: str) -> dict[str, str]:
    return {'X-Auth-Token': token}


def test_realm_key(app: Any, kc: FakeKeycloak) -> None:
    token = kc.token()
    r = app.post('/v2/workflows', c.WF, headers={
        'Content-Type': 'text/plain', **_h(token)}, status=201)
    # The realm is the project.
    assert r.json['workflows'][0]['project_id'] == REALM
    assert app.get('/v2/workflows', headers=_h(token)).json[
        'workflows'][0]['name'] == 'wf1'
    # The key was fetched once and is reused.
    app.get('/v2/workflows', headers=_h(token))
    assert kc.calls.count(
        '/realms/%s/protocol/openid-connect/certs' % REALM) == 1


def test_refused_tokens(app: Any, kc: FakeKeycloak) -> None:
    r = app.get('/v2/workflows', status=401)
    assert r.headers['Server-Error-Message'] == 'Authentication required.'
    other = rsa.generate_private_key(65537, 2048)
    for bad in (kc.token(ttl=-10),  # expired
                kc.token(key=other),  # wrong signature
                kc.token(realm='nope'),  # unknown realm
                'not-a-jwt',
                jwt.encode({'iss': '%s/realms/%s' % (kc.url, REALM),
                            'exp': int(time.time()) + 60}, 'secret',
                           algorithm='HS256')):
        r = app.get('/v2/workflows', headers=_h(bad), status=401)
        assert r.headers['Server-Error-Message'] == 'Auth token is invalid.'
    # Identity headers from the client are never trusted.
    app.get('/v2/workflows', status=401, headers={
        'X-Identity-Status': 'Confirmed', 'X-Project-Id': 'p',
        'X-Roles': 'admin'})
    r = app.get('/v2/workflows', status=401, headers={
        'X-Identity-Status': 'Confirmed', 'X-Roles': 'admin',
        **_h(kc.token(key=other))})


def test_roles_come_from_the_realm(app: Any, kc: FakeKeycloak) -> None:
    member, admin = kc.token(), kc.token(roles=('admin',))
    app.get('/v2/code_sources', headers=_h(member), status=403)
    assert app.get('/v2/code_sources',
                   headers=_h(admin)).json == {'code_sources': []}


def test_issuer_check(app: Any, kc: FakeKeycloak) -> None:
    CONF.set_override('keycloak_iss', 'https://elsewhere/realms/%s' % REALM,
                      group='keycloak_oidc')
    app.get('/v2/workflows', headers=_h(kc.token()), status=401)
    CONF.set_override('keycloak_iss', '%s/realms/%s' % (kc.url, REALM),
                      group='keycloak_oidc')
    app.get('/v2/workflows', headers=_h(kc.token()), status=200)


def test_key_rotation_and_realm_document(app: Any,
                                         kc: FakeKeycloak) -> None:
    app.get('/v2/workflows', headers=_h(kc.token()), status=200)
    kc.keys['k2'] = rsa.generate_private_key(65537, 2048)
    # A token signed with a new key id makes the keys be fetched again.
    app.get('/v2/workflows', headers=_h(kc.token(kid='k2')), status=200)
    keycloak.reset()
    CONF.set_override('public_cert_url', '/realms/%s',
                      group='keycloak_oidc')
    app.get('/v2/workflows', headers=_h(kc.token()), status=200)
    assert '/realms/%s' % REALM in kc.calls


def test_userinfo_endpoint(app: Any, kc: FakeKeycloak) -> None:
    CONF.set_override('user_info_endpoint_url',
                      kc.url + '/realms/%s/protocol/openid-connect/userinfo',
                      group='keycloak_oidc')
    token = kc.token()
    app.get('/v2/workflows', headers=_h(token), status=200)
    assert kc.calls[-1].endswith('/userinfo')
    # No key was fetched: Keycloak decided.
    assert not any(p.endswith('/certs') for p in kc.calls)
    kc.revoked.add(token)
    app.get('/v2/workflows', headers=_h(token), status=401)
    app.get('/v2/workflows', headers=_h(kc.token(ttl=-5)), status=401)


def test_unreachable_keycloak_refuses(app: Any, kc: FakeKeycloak) -> None:
    token = kc.token()
    kc.stop()
    app.get('/v2/workflows', headers=_h(token), status=401)


def test_mistralclient_with_a_token(db: Any, engine: Any,
                                    kc: FakeKeycloak) -> None:
    from mistralclient.api import client as mistral_client

    from mistral.api import service

    CONF.set_override('auth_enable', True, group='pecan')
    server = service.ApiServer(host='127.0.0.1', port=0, threads=2)
    server.start()
    try:
        client = mistral_client.client(mistral_url=server.url + '/v2',
                                       auth_token=kc.token())
        created = client.workflows.create(c.WF)
        assert created[0].project_id == REALM
        assert [w.name for w in client.workflows.list()] == ['wf1']
    finally:
        server.stop()
        CONF.set_override('auth_enable', False, group='pecan')


def test_mistral_cli_with_keycloak(db: Any, engine: Any, kc: FakeKeycloak,
                                   tmp_path: Any) -> None:
    """The unmodified CLI logs in to Keycloak and uses the new APIs."""
    from mistral.api import service
    from mistral.tests.unit.api import test_code_sources

    CONF.set_override('auth_enable', True, group='pecan')
    server = service.ApiServer(host='127.0.0.1', port=0, threads=2)
    server.start()
    module = tmp_path / 'greet.py'
    module.write_text(test_code_sources.MODULE)
    wf_file = tmp_path / 'wf.yaml'
    wf_file.write_text(c.WF)
    cli = os.path.join(os.path.dirname(sys.executable), 'mistral')

    def run(user: str, realm: str, *args: str) -> Any:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('OS_', 'OPENID_', 'MISTRAL'))}
        cmd = [cli, '--os-mistral-url', server.url + '/v2',
               '--auth-type', 'keycloak-oidc', '--os-auth-url', kc.url,
               '--os-project-name', realm, '--os-username', user,
               '--os-password', 'secret', '--openid-client-id', 'mistral',
               *args]
        if args[0].endswith(('-create', '-list', '-update', '-get')):
            cmd += ['-f', 'json']
        out = subprocess.run(cmd, env=env, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if '-f' in cmd else out.stdout

    try:
        cs = run('root', REALM, 'code-source-create', 'greet', str(module))
        assert cs['Name'] == 'greet' and cs['Project ID'] == REALM
        da = run('root', REALM, 'dynamic-action-create', 'hello', 'Hello',
                 'greet')
        assert da['Code source ID'] == cs['ID']
        assert [x['Name'] for x in run('root', REALM,
                                       'dynamic-action-list')] == ['hello']
        wf = run('alice', REALM, 'workflow-create', str(wf_file))[0]
        member = run('alice', REALM, 'member-create', wf['ID'], 'workflow',
                     'realm2')
        assert member['Status'] == 'pending'
        # (the CLI prints one empty row for an empty list)
        assert [w['ID'] for w in run('bob', 'realm2', 'workflow-list')
                if w['ID']] == []
        updated = run('bob', 'realm2', 'member-update', wf['ID'],
                      'workflow')
        assert updated['Status'] == 'accepted'
        assert [w['ID'] for w in run('bob', 'realm2',
                                     'workflow-list')] == [wf['ID']]
    finally:
        server.stop()
        CONF.set_override('auth_enable', False, group='pecan')
