"""The web console's server side: files, deep links, session, task runs,
the Keystone login helper, and its place in the API application."""

from __future__ import annotations

import datetime
import gzip
import http.server
import json
import threading
from typing import Any, Iterator

import pytest
import webtest
from oslo_config import cfg

from mistral.api import app as api_app
from mistral.api import console
from mistral.api.console import assets
from mistral.api.console import keystone_login
from mistral.api.console import session as console_session
from mistral.db import api as db_api
from mistral.db import models
from mistral.tests.unit.api import conftest as c

CONF = cfg.CONF


@pytest.fixture
def app(db: Any, engine: Any) -> webtest.TestApp:
    return webtest.TestApp(api_app.setup_app())


@pytest.fixture
def auth_app(db: Any, engine: Any, monkeypatch: Any
             ) -> Iterator[webtest.TestApp]:
    CONF.set_override('auth_enable', True, group='pecan')
    # keystonemiddleware's work is done by the headers each test sends.
    monkeypatch.setattr(api_app, '_keystone', lambda app: app)
    yield webtest.TestApp(api_app.setup_app())
    CONF.set_override('auth_enable', False, group='pecan')


def identity(project: str, roles: str) -> dict[str, str]:
    return {'X-Identity-Status': 'Confirmed', 'X-Project-Id': project,
            'X-User-Id': 'u1', 'X-User-Name': 'alice',
            'X-Project-Name': 'Project ' + project, 'X-Roles': roles,
            'X-Auth-Token': 'tok'}


# --- files and pages


def test_every_static_file_is_served_with_its_type(app: Any) -> None:
    store = assets.AssetStore()
    names = sorted(store.names())
    assert 'js/main.js' in names and 'console.css' in names
    for name in names:
        if name == 'index.html':
            continue
        r = app.get('/ui/static/' + name)
        assert r.body == open(assets.STATIC_DIR + '/' + name, 'rb').read()
        assert r.headers['Content-Type'] == assets.content_type(name)
        assert r.headers['X-Content-Type-Options'] == 'nosniff'
    assert assets.content_type('a.js').startswith('text/javascript')
    assert assets.content_type('x.mjs').startswith('text/javascript')


def test_files_revalidate_with_etags_and_compress(app: Any) -> None:
    r = app.get('/ui/static/js/main.js')
    assert r.headers['Cache-Control'] == 'no-cache'
    etag = r.headers['ETag']
    r2 = app.get('/ui/static/js/main.js', headers={'If-None-Match': etag},
                 status=304)
    assert r2.body == b''
    assert 'Content-Type' not in r2.headers

    # (webtest would undo the compression: straight WSGI calls.)
    def call(encoding: str) -> tuple[dict[str, str], bytes]:
        got: dict[str, Any] = {}

        def start_response(status: str, headers: Any) -> None:
            got.update(headers)

        body = b''.join(console.PublicConsole(lambda e, s: [])({
            'PATH_INFO': '/ui/static/vendor/js-yaml.mjs',
            'REQUEST_METHOD': 'GET', 'HTTP_ACCEPT_ENCODING': encoding},
            start_response))
        return got, body

    headers, packed = call('gzip, deflate')
    assert headers['Content-Encoding'] == 'gzip'
    plain_headers, plain = call('')
    assert 'Content-Encoding' not in plain_headers
    assert gzip.decompress(packed) == plain
    assert int(headers['Content-Length']) < len(plain) / 2


def test_changed_files_are_read_again(tmp_path: Any) -> None:
    (tmp_path / 'a.js').write_text('one')
    store = assets.AssetStore(str(tmp_path))
    first = store.get('a.js')
    assert first is not None and first.body == b'one'
    assert store.get('a.js') is first
    (tmp_path / 'a.js').write_text('second')
    again = store.get('a.js')
    assert again is not None and again.body == b'second'
    assert again.etag != first.etag


@pytest.mark.parametrize('path', [
    '../__init__.py', 'js/../../__init__.py', '/etc/passwd', 'js//main.js',
    'js/./main.js', '.hidden', 'js\\main.js', 'a\0b', '', '.', 'js',
])
def test_no_path_leaves_the_static_directory(path: str) -> None:
    assert assets.AssetStore().get(path) is None


def test_missing_and_escaping_files_are_404(app: Any) -> None:
    r = app.get('/ui/static/js/nothing.js', status=404)
    assert r.json['faultstring'] == 'No console file js/nothing.js.'
    app.get('/ui/static/../__init__.py', status=404)
    app.get('/ui/static/js/%2e%2e/%2e%2e/__init__.py', status=404)
    # The page template is only served rendered.
    app.get('/ui/static/index.html', status=404)


def test_deep_links_answer_the_page(app: Any) -> None:
    r = app.get('/ui', status=301)
    assert r.headers['Location'].endswith('/ui/')
    for path in ('/ui/', '/ui/executions/0a9e4c3e-1b2c-4d5e-8f90-123456789abc',
                 '/ui/workflows/abc', '/ui/tasks/x', '/ui/no/such/page'):
        page = app.get(path)
        assert page.headers['Content-Type'] == 'text/html; charset=utf-8'
        assert '<base href="/ui/">' in page.text
        assert '<meta name="mistral-api" content="/v2">' in page.text
        assert '<meta name="mistral-auth" content="none">' in page.text
        assert 'static/js/main.js' in page.text
        csp = page.headers['Content-Security-Policy']
        assert "default-src 'self'" in csp and 'unsafe' not in csp
        assert "frame-ancestors 'none'" in csp
    assert app.head('/ui/workflows').body == b''
    r = app.post('/ui/executions', status=405)
    assert 'GET' in r.json['faultstring']


def test_page_under_a_path_prefix(app: Any) -> None:
    r = app.get('/ui/executions', extra_environ={'SCRIPT_NAME': '/mistral'})
    assert '<base href="/mistral/ui/">' in r.text
    assert 'content="/mistral/v2"' in r.text


def test_the_api_is_untouched_and_the_console_can_be_off(
        db: Any, engine: Any, conf: Any) -> None:
    app = webtest.TestApp(api_app.setup_app())
    assert app.get('/v2/workflows').json == {'workflows': []}
    assert app.get('/uix', status=404)
    conf('enabled', False, group='console')
    off = webtest.TestApp(api_app.setup_app())
    off.get('/ui/', status=404)
    off.get('/ui/api/session', status=404)
    assert off.get('/v2/workflows').json == {'workflows': []}


def test_options_are_listed_for_the_sample_config() -> None:
    from mistral import config

    groups = dict((g, [o.name for o in opts])
                  for g, opts in config.list_opts())
    assert groups['console'] == ['enabled']


# --- session


def test_session_without_authentication(app: Any) -> None:
    s = app.get('/ui/api/session').json
    assert s['auth_enabled'] is False
    assert s['project']['id'] == '<default-project>'
    perms = s['permissions']
    # As every request without authentication: a member, not an admin.
    assert perms['workflows:create'] and perms['executions:update']
    assert perms['tasks:update'] and perms['action_executions:update']
    assert not perms['workflows:publicize']
    assert not perms['executions:list:all_projects']
    assert set(perms) == set(console_session.rule_names())


def test_session_follows_the_policy(auth_app: Any) -> None:
    r = auth_app.get('/ui/api/session', status=401)
    assert r.json['faultstring'] == 'Authentication required.'
    r = auth_app.get('/ui/api/session', status=401, headers={
        'X-Auth-Token': 'bad', 'X-Identity-Status': 'Invalid'})
    assert r.json['faultstring'] == 'Auth token is invalid.'

    reader = auth_app.get('/ui/api/session',
                          headers=identity('p1', 'reader')).json
    assert reader['user'] == {'id': 'u1', 'name': 'alice'}
    assert reader['project'] == {'id': 'p1', 'name': 'Project p1'}
    assert reader['roles'] == ['reader']
    can = reader['permissions']
    assert can['workflows:list'] and can['executions:get']
    assert not any(can[r] for r in (
        'workflows:create', 'workflows:update', 'workflows:delete',
        'executions:create', 'executions:update', 'executions:delete',
        'tasks:update', 'action_executions:update', 'environments:create',
        'cron_triggers:create'))

    member = auth_app.get('/ui/api/session',
                          headers=identity('p1', 'member,reader')).json
    assert member['permissions']['executions:update']
    assert not member['permissions']['workflows:publicize']
    admin = auth_app.get('/ui/api/session',
                         headers=identity('p1', 'admin,member')).json
    assert admin['is_admin'] and admin['permissions']['workflows:publicize']

    # What the session says is what /v2 does.
    auth_app.post('/v2/workflows', c.WF, headers=identity('p1', 'reader'),
                  status=403)
    auth_app.post('/v2/workflows', c.WF, headers=identity('p1', 'member'),
                  status=201)


def test_console_api_answers_only_get(app: Any) -> None:
    app.post('/ui/api/session', status=405)
    r = app.get('/ui/api/nothing', status=404)
    assert 'No console API' in r.json['faultstring']


# --- task runs


def _execution_with_runs(project: str = '<default-project>') -> dict[str, str]:
    now = datetime.datetime(2026, 1, 2, 3, 4, 5)
    ids = {}
    with db_api.transaction() as s:
        wf = models.WorkflowExecution(
            name='wf', workflow_name='wf', state='RUNNING',
            project_id=project, created_at=now)
        s.add(wf)
        s.flush()
        task = models.TaskExecution(
            name='each', workflow_name='wf', state='RUNNING',
            workflow_execution_id=wf.id, project_id=project,
            created_at=now)
        s.add(task)
        s.flush()
        for i, (executor, state, index, accepted) in enumerate([
                ('host-a:11', 'SUCCESS', 0, True),
                ('host-b:22', 'ERROR', 1, False),
                ('host-b:22', 'SUCCESS', 1, True),
                (None, 'RUNNING', 2, True)]):
            s.add(models.ActionExecution(
                name='std.echo', state=state, accepted=accepted,
                task_execution_id=task.id, workflow_execution_id=wf.id,
                project_id=project, executor_id=executor,
                runtime_context={'index': index},
                lease_until=now if executor else None,
                created_at=now + datetime.timedelta(seconds=i)))
        sub = models.TaskExecution(
            name='call', workflow_name='wf', state='RUNNING', type='WORKFLOW',
            workflow_execution_id=wf.id, project_id=project,
            created_at=now)
        s.add(sub)
        s.flush()
        s.add(models.WorkflowExecution(
            name='child', workflow_name='child', state='SUCCESS',
            project_id=project, task_execution_id=sub.id,
            root_execution_id=wf.id, params={'index': 3}, created_at=now))
        ids = {'wf': wf.id, 'task': task.id, 'sub': sub.id}
    return ids


def test_task_runs_name_executor_item_and_attempt(app: Any) -> None:
    ids = _execution_with_runs()
    r = app.get('/ui/api/tasks/%s/runs' % ids['task']).json
    assert r['task_id'] == ids['task'] and r['type'] == 'ACTION'
    runs = r['runs']
    assert [(x['executor_id'], x['state'], x['index'], x['accepted'])
            for x in runs] == [('host-a:11', 'SUCCESS', 0, True),
                               ('host-b:22', 'ERROR', 1, False),
                               ('host-b:22', 'SUCCESS', 1, True),
                               (None, 'RUNNING', 2, True)]
    assert runs[0]['created_at'] == '2026-01-02 03:04:05'
    assert runs[0]['lease_until'] == '2026-01-02 03:04:05'
    assert runs[3]['lease_until'] is None
    assert {x['kind'] for x in runs} == {'action'}
    sub = app.get('/ui/api/tasks/%s/runs' % ids['sub']).json
    assert [(x['kind'], x['name'], x['index'], x['executor_id'])
            for x in sub['runs']] == [('workflow', 'child', 3, None)]


def test_task_runs_are_scoped_and_checked(auth_app: Any) -> None:
    ids = _execution_with_runs(project='p1')
    path = '/ui/api/tasks/%s/runs' % ids['task']
    assert len(auth_app.get(path, headers=identity('p1', 'reader'))
               .json['runs']) == 4
    r = auth_app.get(path, headers=identity('p2', 'member'), status=404)
    assert ids['task'] in r.json['faultstring']
    auth_app.get(path, status=401)
    r = auth_app.get('/ui/api/tasks/not-an-id/runs',
                     headers=identity('p1', 'reader'), status=400)
    assert 'UUID' in r.json['faultstring']


# --- Keystone login


class _FakeKeystone(http.server.BaseHTTPRequestHandler):
    requests: list[Any] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        type(self).requests.append((self.path, body))
        password = body['auth']['identity']['password']['user']['password']
        if password != 'right':
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "nope"}}')
            return
        data = json.dumps({'token': {
            'expires_at': '2030-01-01T00:00:00.000000Z',
            'user': {'id': 'uid', 'name': 'alice'},
            'project': {'id': 'pid', 'name': 'demo'},
            'roles': [{'id': 'r1', 'name': 'reader'},
                      {'id': 'r2', 'name': 'member'}]}}).encode()
        self.send_response(201)
        self.send_header('X-Subject-Token', 'the-token')
        self.send_header('Content-Type', 'application/json')
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_keystone(conf: Any) -> Iterator[str]:
    from keystonemiddleware import auth_token  # noqa: F401  (options)

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _FakeKeystone)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = 'http://127.0.0.1:%d/v3' % server.server_address[1]
    conf('www_authenticate_uri', url, group='keystone_authtoken')
    _FakeKeystone.requests = []
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def test_login_asks_the_configured_keystone(fake_keystone: str) -> None:
    answer = keystone_login.login({'username': 'alice', 'password': 'right',
                                   'project': 'demo', 'domain': 'Dom'})
    assert answer == {'token': 'the-token',
                      'expires_at': '2030-01-01T00:00:00.000000Z',
                      'user': {'id': 'uid', 'name': 'alice'},
                      'project': {'id': 'pid', 'name': 'demo'},
                      'roles': ['member', 'reader']}
    path, body = _FakeKeystone.requests[-1]
    assert path == '/v3/auth/tokens'
    user = body['auth']['identity']['password']['user']
    assert user == {'name': 'alice', 'domain': {'name': 'Dom'},
                    'password': 'right'}
    assert body['auth']['scope'] == {'project': {
        'name': 'demo', 'domain': {'name': 'Dom'}}}


def test_login_errors(fake_keystone: str, conf: Any) -> None:
    with pytest.raises(keystone_login.LoginError) as info:
        keystone_login.login({'username': 'alice', 'password': 'wrong',
                              'project': 'demo'})
    assert info.value.status == 401
    assert 'Login failed' in str(info.value)
    # The domain defaults to Default.
    assert _FakeKeystone.requests[-1][1]['auth']['scope']['project'][
        'domain'] == {'name': 'Default'}
    for body, message in (([], 'JSON object'),
                          ({'username': 'a'}, 'password, project'),
                          ({'username': 1, 'password': 'p', 'project': 'x'},
                           'must be a string')):
        with pytest.raises(keystone_login.LoginError) as info:
            keystone_login.login(body)
        assert info.value.status == 400 and message in str(info.value)
    # An identity service that does not answer.
    conf('www_authenticate_uri', 'http://127.0.0.1:9/v3',
         group='keystone_authtoken')
    with pytest.raises(keystone_login.LoginError) as info:
        keystone_login.login({'username': 'a', 'password': 'p',
                              'project': 'x'})
    assert info.value.status == 502


def test_login_endpoint(fake_keystone: str, db: Any, engine: Any,
                        monkeypatch: Any) -> None:
    # Without authentication there is nothing to log in to.
    app = webtest.TestApp(api_app.setup_app())
    app.post_json('/ui/api/login', {'username': 'a'}, status=404)
    CONF.set_override('auth_enable', True, group='pecan')
    try:
        monkeypatch.setattr(api_app, '_keystone', lambda app: app)
        app = webtest.TestApp(api_app.setup_app())
        page = app.get('/ui/')
        assert 'content="keystone"' in page.text
        r = app.post_json('/ui/api/login', {
            'username': 'alice', 'password': 'right', 'project': 'demo'})
        assert r.json['token'] == 'the-token'
        assert r.headers['Cache-Control'] == 'no-store'
        r = app.post_json('/ui/api/login', {
            'username': 'alice', 'password': 'wrong', 'project': 'demo'},
            status=401)
        assert 'Login failed' in r.json['faultstring']
        r = app.post('/ui/api/login', 'not json', status=400,
                     headers={'Content-Type': 'application/json'})
        assert 'not valid JSON' in r.json['faultstring']
        app.get('/ui/api/login', status=405)
        CONF.set_override('auth_type', 'keycloak-oidc')
        assert 'content="keycloak-oidc"' in app.get('/ui/').text
        app.post_json('/ui/api/login', {'username': 'a'}, status=404)
    finally:
        CONF.clear_override('auth_type')
        CONF.set_override('auth_enable', False, group='pecan')


def test_identity_url_forms(conf: Any) -> None:
    from keystonemiddleware import auth_token  # noqa: F401  (options)

    conf('www_authenticate_uri', 'http://ks:5000', group='keystone_authtoken')
    assert keystone_login.identity_url() == 'http://ks:5000/v3'
    conf('www_authenticate_uri', 'http://ks/identity/v3/',
         group='keystone_authtoken')
    assert keystone_login.identity_url() == 'http://ks/identity/v3'


def test_auth_mode() -> None:
    assert console.auth_mode() == 'none'
