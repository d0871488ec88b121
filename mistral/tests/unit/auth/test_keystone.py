"""auth_type = keystone: keystonemiddleware against a local fake Keystone.

The fake serves version discovery, issues the service token (password
auth) and validates user tokens (GET /v3/auth/tokens), which is all
keystonemiddleware needs.
"""

from __future__ import annotations

import datetime
import functools
import http.server
import json
import threading
from typing import Any, Iterator

import pytest
import webtest
from oslo_config import cfg

from mistral.api import app as api_app
from mistral.tests.unit.api import conftest as c

CONF = cfg.CONF

# The API test fixtures: a fresh database and a fake engine.
db = c.db
engine = c.engine

SERVICE_TOKEN = 'service-token'


class FakeKeystone:
    def __init__(self) -> None:
        # user token -> (project id, roles)
        self.tokens: dict[str, tuple[str, list[str]]] = {}
        self.validations = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any,
                      headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = self.path.rstrip('/')
                if path in ('', '/v3'):
                    self._json(200, {'version': owner.version()})
                elif path == '/v3/auth/tokens':
                    owner.validations += 1
                    if self.headers.get('X-Auth-Token') != SERVICE_TOKEN:
                        self._json(401, {'error': {'code': 401}})
                        return
                    subject = self.headers.get('X-Subject-Token')
                    if subject not in owner.tokens:
                        self._json(404, {'error': {'code': 404}})
                        return
                    project, roles = owner.tokens[subject]
                    self._json(200, owner.token_body(project, roles),
                               {'X-Subject-Token': subject})
                else:
                    self._json(404, {})

            def do_POST(self) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                self.rfile.read(length)
                if self.path.rstrip('/') == '/v3/auth/tokens':
                    self._json(201, owner.token_body('service', ['admin']),
                               {'X-Subject-Token': SERVICE_TOKEN})
                else:
                    self._json(404, {})

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def version(self) -> dict[str, Any]:
        return {'id': 'v3.14', 'status': 'stable',
                'updated': '2020-04-07T00:00:00Z',
                'links': [{'rel': 'self', 'href': self.url + '/v3/'}],
                'media-types': [{
                    'base': 'application/json',
                    'type': 'application/vnd.openstack.identity-v3+json'}]}

    def token_body(self, project: str, roles: list[str]) -> dict[str, Any]:
        now = datetime.datetime.now(datetime.timezone.utc)
        expires = now + datetime.timedelta(hours=1)
        domain = {'id': 'default', 'name': 'Default'}
        endpoints = [{'id': i, 'interface': i, 'region': 'RegionOne',
                      'region_id': 'RegionOne', 'url': self.url + '/v3'}
                     for i in ('public', 'internal', 'admin')]
        return {'token': {
            'methods': ['password'],
            'issued_at': now.strftime('%Y-%m-%dT%H:%M:%S.000000Z'),
            'expires_at': expires.strftime('%Y-%m-%dT%H:%M:%S.000000Z'),
            'user': {'id': 'u-' + project, 'name': 'user-' + project,
                     'domain': domain},
            'project': {'id': project, 'name': 'project-' + project,
                        'domain': domain},
            'roles': [{'id': r, 'name': r} for r in roles],
            'catalog': [{'type': 'identity', 'name': 'keystone',
                         'id': 'identity', 'endpoints': endpoints}]}}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def keystone() -> Iterator[FakeKeystone]:
    server = FakeKeystone()
    yield server
    server.stop()


def _local_conf(keystone: FakeKeystone, tmp_path: Any) -> cfg.ConfigOpts:
    """keystonemiddleware's options, read from a file as in production."""
    path = tmp_path / 'mistral.conf'
    path.write_text(
        '[keystone_authtoken]\n'
        'www_authenticate_uri = {url}/v3\n'
        'auth_type = password\n'
        'auth_url = {url}/v3\n'
        'username = mistral\n'
        'password = secret\n'
        'project_name = service\n'
        'user_domain_id = default\n'
        'project_domain_id = default\n'
        'interface = public\n'.format(url=keystone.url))
    conf = cfg.ConfigOpts()
    conf(['--config-file', str(path)], project='mistral')
    return conf


@pytest.fixture
def app(db: Any, engine: Any, keystone: FakeKeystone, tmp_path: Any,
        monkeypatch: Any) -> Iterator[webtest.TestApp]:
    conf = _local_conf(keystone, tmp_path)
    real = api_app._keystone
    monkeypatch.setattr(api_app, '_keystone',
                        functools.partial(real, conf=conf))
    CONF.set_override('auth_enable', True, group='pecan')
    yield webtest.TestApp(api_app.setup_app())
    CONF.set_override('auth_enable', False, group='pecan')


def test_keystone_tokens(app: Any, keystone: FakeKeystone) -> None:
    keystone.tokens['tok-a'] = ('pa', ['member', 'reader'])
    keystone.tokens['tok-r'] = ('pa', ['reader'])
    keystone.tokens['tok-admin'] = ('adm', ['admin', 'member', 'reader'])
    app.get('/v2/', status=200)
    r = app.get('/v2/workflows', status=401)
    assert r.headers['Server-Error-Message'] == 'Authentication required.'
    r = app.get('/v2/workflows', headers={'X-Auth-Token': 'bogus'},
                status=401)
    assert r.headers['Server-Error-Message'] == 'Auth token is invalid.'
    # Identity headers sent by the client are not trusted.
    app.get('/v2/workflows', status=401, headers={
        'X-Identity-Status': 'Confirmed', 'X-Project-Id': 'pa',
        'X-Roles': 'admin'})
    r = app.post('/v2/workflows', c.WF, headers={
        'Content-Type': 'text/plain', 'X-Auth-Token': 'tok-a'}, status=201)
    assert r.json['workflows'][0]['project_id'] == 'pa'
    assert keystone.validations >= 1
    # A reader of the same project reads but does not write.
    assert [w['name'] for w in app.get('/v2/workflows', headers={
        'X-Auth-Token': 'tok-r'}).json['workflows']] == ['wf1']
    app.delete('/v2/workflows/wf1', headers={'X-Auth-Token': 'tok-r'},
               status=403)
    # The admin role is an admin everywhere.
    app.get('/v2/code_sources', headers={'X-Auth-Token': 'tok-a'},
            status=403)
    app.get('/v2/code_sources', headers={'X-Auth-Token': 'tok-admin'},
            status=200)
