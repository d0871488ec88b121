"""Request context with authentication on, the WSGI entry and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
import requests
import webtest
from oslo_config import cfg

from mistral.api import app as api_app
from mistral.api import hooks
from mistral.api import service
from mistral.tests.unit.api import conftest as c

CONF = cfg.CONF


@pytest.fixture
def auth_app(db: Any, engine: Any, monkeypatch: Any) -> webtest.TestApp:
    CONF.set_override('auth_enable', True, group='pecan')
    # Keystone itself is out of scope here: the headers are what
    # keystonemiddleware would have set.
    monkeypatch.setattr(api_app, '_keystone', lambda app: app)
    yield webtest.TestApp(api_app.setup_app())
    CONF.set_override('auth_enable', False, group='pecan')


def _headers(project: str, roles: str = 'member') -> dict[str, str]:
    return {'X-Identity-Status': 'Confirmed', 'X-Project-Id': project,
            'X-User-Id': 'u-' + project, 'X-Roles': roles,
            'X-Auth-Token': 'tok'}


def test_unauthenticated_requests_are_refused(auth_app: Any) -> None:
    assert auth_app.get('/').json['versions']
    assert auth_app.get('/v2/').json['uri']
    r = auth_app.get('/v2/workflows', status=401)
    assert r.headers['Server-Error-Message'] == 'Authentication required.'
    r = auth_app.get('/v2/workflows', status=401,
                     headers={'X-Auth-Token': 'x',
                              'X-Identity-Status': 'Invalid'})
    assert 'invalid' in r.headers['Server-Error-Message']


def test_projects_are_isolated(auth_app: Any, engine: Any) -> None:
    a, b = _headers('pa'), _headers('pb')
    r = auth_app.post('/v2/workflows', c.WF, headers=a)
    assert r.json['workflows'][0]['project_id'] == 'pa'
    assert auth_app.get('/v2/workflows', headers=b).json == {
        'workflows': []}
    auth_app.get('/v2/workflows/wf1', headers=b, status=404)
    # Each project has its own namespace of names.
    auth_app.post('/v2/workflows', c.WF, headers=b, status=201)
    ex = auth_app.post_json('/v2/executions', {'workflow_name': 'wf1'},
                            headers=a).json
    assert ex['project_id'] == 'pa'
    assert engine.calls[-1][0] == 'start_workflow'
    auth_app.get('/v2/executions/%s' % ex['id'], headers=b, status=404)
    admin = _headers('adm', 'admin,member')
    r = auth_app.get('/v2/executions?all_projects=true', headers=admin)
    assert [e['id'] for e in r.json['executions']] == [ex['id']]
    auth_app.get('/v2/executions?all_projects=true', headers=b,
                 status=403)
    r = auth_app.post('/v2/workflows?scope=public',
                      c.WF.replace('wf1', 'pub'), headers=admin)
    assert r.json['workflows'][0]['scope'] == 'public'
    assert auth_app.get('/v2/workflows/pub', headers=b).json['name'] == \
        'pub'


def test_context_from_headers() -> None:
    ctx = hooks.context_from_headers({
        'X-Auth-Token': 't', 'X-Project-Id': 'p', 'X-User-Id': 'u',
        'X-Roles': 'reader, admin', 'X-Region-Name': 'r1',
        'X-Target-Auth-Uri': 'http://other/v3',
        'X-Target-Auth-Token': 'tt', 'X-Target-Insecure': 'True'})
    assert ctx.is_admin and ctx.roles == ['reader', 'admin']
    assert ctx.auth_token == 'tt' and ctx.auth_uri == 'http://other/v3'
    assert ctx.insecure is True and ctx.is_target
    assert ctx.project_id == 'p' and ctx.region_name == 'r1'


def test_api_server_serves_and_stops(db: Any, engine: Any) -> None:
    server = service.ApiServer(host='127.0.0.1', port=0, threads=2)
    server.start()
    try:
        r = requests.get(server.url + '/v2/', timeout=10)
        assert r.json() == {'uri': server.url + '/v2'}
        r = requests.get(server.url + '/v2/executions/x', timeout=10)
        assert r.status_code == 404 and r.json()['faultcode'] == 'Client'
    finally:
        server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + '/', timeout=2)


def test_mistral_cli(db: Any, engine: Any, tmp_path: Any) -> None:
    server = service.ApiServer(host='127.0.0.1', port=0, threads=2)
    server.start()
    wf_file = tmp_path / 'wf.yaml'
    wf_file.write_text(c.WF)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('OS_')}
    env['OS_MISTRAL_URL'] = server.url + '/v2'
    cli = os.path.join(os.path.dirname(sys.executable), 'mistral')

    def run(*args: str) -> Any:
        out = subprocess.run([cli, *args, '-f', 'json'], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    try:
        created = run('workflow-create', str(wf_file))
        assert created[0]['Name'] == 'wf1'
        listed = run('workflow-list')
        assert [w['Name'] for w in listed] == ['wf1']
        ex = run('execution-create', 'wf1', '{"name": "Bob"}')
        assert ex['State'] == 'RUNNING'
        assert [e['ID'] for e in run('execution-list')] == [ex['ID']]
        assert run('action-get', 'std.echo')['Name'] == 'std.echo'
    finally:
        server.stop()


def test_wsgi_application(db: Any, engine: Any, monkeypatch: Any,
                          tmp_path: Any) -> None:
    import mistral.wsgi as wsgi_mod

    conf = tmp_path / 'mistral.conf'
    conf.write_text('[pecan]\nauth_enable = false\n[database]\n'
                    'connection = %s\n' % CONF.database.connection)
    monkeypatch.setenv('MISTRAL_CONFIG_FILE', str(conf))
    monkeypatch.setattr(wsgi_mod, '_app', None)
    calls = []
    monkeypatch.setattr('mistral.config.parse_args',
                        lambda argv: calls.append(argv))
    monkeypatch.setattr('oslo_log.log.setup', lambda *a, **k: None)
    # The startup checks (mistral.service.startup) have tests of their own;
    # this database's schema was made without migrations.
    prepared = []
    monkeypatch.setattr('mistral.service.startup.prepare',
                        lambda names, stopped=None: prepared.append(names))
    monkeypatch.setattr('mistral.db.api.dispose', lambda: None)
    app = webtest.TestApp(wsgi_mod.application)
    assert app.get('/v2/').json == {'uri': 'http://localhost/v2'}
    app.get('/v2/workflows')
    assert calls == [[]]
    assert prepared == [['api']]


def test_context_carries_the_validated_token_as_the_catalog() -> None:
    # OpenStack action plugins build keystoneclient's ServiceCatalog from
    # ctx.service_catalog; it must be the token body, as upstream's.
    from keystoneclient import service_catalog as ks_catalog

    token = {'methods': ['password'], 'catalog': [{
        'type': 'identity', 'name': 'keystone', 'endpoints': [{
            'interface': 'public', 'region': 'r1',
            'url': 'http://ks/v3'}]}], 'project': {'id': 'p'}}
    ctx = hooks.context_from_headers(
        {'X-Auth-Token': 't', 'X-Project-Id': 'p',
         'X-Service-Catalog': json.dumps(token['catalog'])},
        {'keystone.token_info': {'token': token}})
    assert ctx.service_catalog == token
    catalog = ks_catalog.ServiceCatalog.factory(ctx.service_catalog)
    assert catalog.url_for(service_type='identity') == 'http://ks/v3'
    # Only the header (no validated token at hand): still readable.
    ctx = hooks.context_from_headers(
        {'X-Auth-Token': 't', 'X-Project-Id': 'p',
         'X-Service-Catalog': json.dumps(token['catalog'])})
    catalog = ks_catalog.ServiceCatalog.factory(ctx.service_catalog)
    assert catalog.url_for(service_type='identity') == 'http://ks/v3'
