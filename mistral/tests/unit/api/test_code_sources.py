"""Code sources and dynamic actions through the API."""

from __future__ import annotations

from typing import Any

import pytest

from mistral.actions import dynamic
from mistral.actions import registry
from mistral.tests.unit.api import conftest as c

ADMIN = c.headers('adm', 'admin')
MEMBER = c.headers('pm')
TEXT = {'Content-Type': 'text/plain'}

MODULE = '''
from mistral_lib import actions


class Hello(actions.Action):
    """Greets."""

    def __init__(self, name, greeting='Hello'):
        self.name = name
        self.greeting = greeting

    def run(self, context):
        return '%s, %s' % (self.greeting, self.name)


Alias = Hello
'''


@pytest.fixture(autouse=True)
def fresh_providers() -> Any:
    registry.reset()
    dynamic.reset()
    yield
    registry.reset()
    dynamic.reset()


def _source(app: Any, name: str = 'greet', content: str = MODULE,
            **query: str) -> Any:
    q = '&'.join('%s=%s' % kv for kv in dict(name=name, **query).items())
    return app.post('/v2/code_sources?' + q, content,
                    headers={**TEXT, **ADMIN}, status=201)


def test_code_source_crud(auth_app: Any) -> None:
    r = _source(auth_app, scope='private', namespace='')
    cs = r.json
    assert r.content_type == 'application/json'
    assert cs['name'] == 'greet' and cs['version'] == 1
    assert cs['content'] == MODULE and cs['project_id'] == 'adm'
    assert cs['scope'] == 'private' and cs['namespace'] == ''
    assert 'updated_at' not in cs
    # Text endpoint errors: {"faultstring"}.
    r = auth_app.post('/v2/code_sources?name=greet', MODULE,
                      headers={**TEXT, **ADMIN}, status=409)
    assert set(r.json) == {'faultstring'}
    r = auth_app.post('/v2/code_sources?name=bad', 'def (:',
                      headers={**TEXT, **ADMIN}, status=400)
    assert 'not valid Python' in r.json['faultstring']
    auth_app.post('/v2/code_sources', MODULE, headers={**TEXT, **ADMIN},
                  status=400)
    # Get by name and by id.
    got = auth_app.get('/v2/code_sources/greet', headers=ADMIN).json
    assert got['id'] == cs['id'] and got['updated_at'] is None
    assert auth_app.get('/v2/code_sources/%s?fields=name' % cs['id'],
                        headers=ADMIN).json == {'id': cs['id'],
                                                'name': 'greet'}
    # Update by identifier: the version goes up.
    r = auth_app.put('/v2/code_sources?identifier=greet&scope=private',
                     MODULE + '\n# v2\n', headers={**TEXT, **ADMIN})
    assert r.json['version'] == 2 and r.json['updated_at']
    r = auth_app.put('/v2/code_sources?identifier=%s' % cs['id'],
                     MODULE, headers={**TEXT, **ADMIN})
    assert r.json['version'] == 3
    listed = auth_app.get('/v2/code_sources', headers=ADMIN).json
    assert [x['name'] for x in listed['code_sources']] == ['greet']
    assert listed['code_sources'][0]['content'] == MODULE
    auth_app.delete('/v2/code_sources/greet', headers=ADMIN, status=204)
    auth_app.get('/v2/code_sources/greet', headers=ADMIN, status=404)


def test_admin_only_by_default(auth_app: Any) -> None:
    auth_app.post('/v2/code_sources?name=x', MODULE,
                  headers={**TEXT, **MEMBER}, status=403)
    auth_app.get('/v2/code_sources', headers=MEMBER, status=403)
    auth_app.get('/v2/dynamic_actions', headers=MEMBER, status=403)
    auth_app.post_json('/v2/dynamic_actions',
                       {'name': 'a', 'class_name': 'Hello',
                        'code_source_name': 'x'}, headers=MEMBER,
                       status=403)


def test_dynamic_action_crud(auth_app: Any) -> None:
    cs = _source(auth_app).json
    r = auth_app.post_json('/v2/dynamic_actions',
                           {'name': 'hello', 'class_name': 'Hello',
                            'code_source_name': 'greet',
                            'scope': 'private', 'namespace': ''},
                           headers=ADMIN, status=201)
    da = r.json
    assert da['code_source_id'] == cs['id']
    assert da['code_source_name'] == 'greet'
    assert da['class_name'] == 'Hello' and da['namespace'] == ''
    assert da['project_id'] == 'adm' and da['scope'] == 'private'
    # By code source id too; unknown classes and sources are refused.
    auth_app.post_json('/v2/dynamic_actions',
                       {'name': 'alias', 'class_name': 'Alias',
                        'code_source_id': cs['id']}, headers=ADMIN,
                       status=201)
    r = auth_app.post_json('/v2/dynamic_actions',
                           {'name': 'x', 'class_name': 'Nope',
                            'code_source_name': 'greet'}, headers=ADMIN,
                           status=400)
    assert r.json['faultcode'] == 'Client'
    auth_app.post_json('/v2/dynamic_actions',
                       {'name': 'x', 'class_name': 'Hello',
                        'code_source_name': 'missing'}, headers=ADMIN,
                       status=404)
    auth_app.post_json('/v2/dynamic_actions',
                       {'name': 'hello', 'class_name': 'Hello',
                        'code_source_name': 'greet'}, headers=ADMIN,
                       status=409)
    got = auth_app.get('/v2/dynamic_actions/hello?namespace=',
                       headers=ADMIN).json
    assert got['id'] == da['id'] and got['updated_at'] is None
    r = auth_app.put_json('/v2/dynamic_actions',
                          {'name': 'hello', 'class_name': 'Alias',
                           'scope': 'private', 'namespace': ''},
                          headers=ADMIN)
    assert r.json['class_name'] == 'Alias' and r.json['updated_at']
    names = [x['name'] for x in auth_app.get(
        '/v2/dynamic_actions', headers=ADMIN).json['dynamic_actions']]
    assert sorted(names) == ['alias', 'hello']
    # Dynamic actions are listed among the actions, with their owner; as
    # upstream, with their name as id and empty times.
    actions = auth_app.get('/v2/actions?name=hello', headers=ADMIN).json
    assert [(a['id'], a['project_id'], a['created_at'], a['updated_at'])
            for a in actions['actions']] == [('hello', 'adm', '', '')]
    one = auth_app.get('/v2/actions/hello', headers=ADMIN).json
    assert (one['id'], one['created_at'], one['scope']) == (
        'hello', '', 'private')
    auth_app.delete('/v2/dynamic_actions/%s' % da['id'], headers=ADMIN,
                    status=204)
    # Deleting the code source deletes its actions.
    auth_app.delete('/v2/code_sources/greet', headers=ADMIN, status=204)
    assert auth_app.get('/v2/dynamic_actions',
                        headers=ADMIN).json['dynamic_actions'] == []


def test_provider_loads_and_reloads(auth_app: Any) -> None:
    _source(auth_app)
    auth_app.post_json('/v2/dynamic_actions',
                       {'name': 'hello', 'class_name': 'Hello',
                        'code_source_name': 'greet'}, headers=ADMIN,
                       status=201)
    desc = registry.find('hello', '', project_id='adm')
    assert isinstance(desc, dynamic.DynamicActionDescriptor)
    assert desc.params_spec == 'name, greeting="Hello"'
    assert desc.instantiate({'name': 'Bob'}, {}).run(None) == 'Hello, Bob'
    # Another project does not see a private dynamic action.
    assert registry.find('hello', '', project_id='other') is None
    # An update is picked up: the module is cached by version.
    auth_app.put('/v2/code_sources?identifier=greet',
                  MODULE.replace("'%s, %s'", "'%s; %s'"),
                  headers={**TEXT, **ADMIN})
    desc = registry.find('hello', '', project_id='adm')
    assert desc.instantiate({'name': 'Bob'}, {}).run(None) == 'Hello; Bob'


class _AdminIdentity:
    """Stands in for keystonemiddleware: token ``tok-adm`` is admin."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get('HTTP_X_AUTH_TOKEN') == 'tok-adm':
            environ.update(HTTP_X_IDENTITY_STATUS='Confirmed',
                           HTTP_X_PROJECT_ID='adm', HTTP_X_USER_ID='u',
                           HTTP_X_ROLES='admin')
        return self.app(environ, start_response)


def test_mistralclient_code_sources(db: Any, engine: Any,
                                    monkeypatch: Any, tmp_path: Any
                                    ) -> None:
    from mistralclient.api import client as mistral_client

    from mistral.api import app as api_app
    from mistral.api import service

    c.CONF.set_override('auth_enable', True, group='pecan')
    monkeypatch.setattr(api_app, '_keystone', _AdminIdentity)
    server = service.ApiServer(host='127.0.0.1', port=0, threads=2)
    server.start()
    try:
        client = mistral_client.client(mistral_url=server.url + '/v2',
                                       auth_token='tok-adm')
        path = tmp_path / 'greet.py'
        path.write_text(MODULE)
        cs = client.code_sources.create('greet', str(path))
        assert cs.version == 1 and cs.name == 'greet'
        assert client.code_sources.update('greet', MODULE).version == 2
        assert client.code_sources.get('greet').id == cs.id
        assert [x.name for x in client.code_sources.list()] == ['greet']
        da = client.dynamic_actions.create('hello', 'Hello', 'greet')
        assert da.code_source_id == cs.id
        da2 = client.dynamic_actions.update('hello', class_name='Alias',
                                            code_source=cs.id)
        assert da2.class_name == 'Alias'
        assert client.dynamic_actions.get('hello').id == da.id
        assert [x.name for x in client.dynamic_actions.list()] == ['hello']
        client.dynamic_actions.delete('hello')
        client.code_sources.delete('greet')
        assert client.code_sources.list() == []
    finally:
        server.stop()
        c.CONF.set_override('auth_enable', False, group='pecan')



def test_class_check_and_all_projects(auth_app: Any) -> None:
    _source(auth_app, name='star',
            content='from mistral_lib.actions import *\n')
    # Names from "import *" are unknown without running the code.
    auth_app.post_json('/v2/dynamic_actions',
                       {'name': 'a', 'class_name': 'Action',
                        'code_source_name': 'star'}, headers=ADMIN,
                       status=201)
    other_admin = c.headers('adm2', 'admin')
    r = auth_app.get('/v2/code_sources?all_projects=true&fields=name',
                     headers=other_admin)
    assert [x['name'] for x in r.json['code_sources']] == ['star']
    r = auth_app.get('/v2/dynamic_actions?all_projects=true&fields=name',
                     headers=other_admin)
    assert [x['name'] for x in r.json['dynamic_actions']] == ['a']
    # Project ids are UUIDs (Keystone's), as upstream types the filter.
    auth_app.get('/v2/dynamic_actions?all_projects=true&project_id=adm',
                 headers=other_admin, status=400)


def test_modules_with_dataclasses_and_string_annotations(auth_app: Any
                                                         ) -> None:
    content = '''from __future__ import annotations

import dataclasses

from mistral_lib import actions


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Norm(actions.Action):
    def __init__(self, x: int, y: int = 0) -> None:
        self.point = Point(x, y)

    def run(self, context: object) -> int:
        return abs(self.point.x) + abs(self.point.y)
'''
    _source(auth_app, name='geo', content=content)
    auth_app.post_json('/v2/dynamic_actions',
                       {'name': 'norm', 'class_name': 'Norm',
                        'code_source_name': 'geo'}, headers=ADMIN,
                       status=201)
    desc = registry.find('norm', '', project_id='adm')
    assert desc.instantiate({'x': -3, 'y': 4}, {}).run(None) == 7
    import sys
    assert not [m for m in sys.modules if 'mistral_code_source' in m]
