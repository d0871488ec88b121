"""The OpenAPI description at /v2/openapi.json matches what the API serves.

The description is generated from the controller tree; these tests check
it from the other side: every exposed controller method is described,
every described operation is routed by the live application (no 404 of
an unknown path, no 405), and the document is valid OpenAPI 3.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import pytest
from pecan import rest

from mistral.api import openapi
from mistral.api.controllers import v2 as v2_pkg

ZERO = '00000000-0000-0000-0000-000000000000'


def _served_methods() -> set[str]:
    """``Class.method`` of every exposed method of every controller class
    defined in mistral.api.controllers (found by import, not by the walk
    the generator does)."""
    import mistral.api.controllers as ctl_pkg

    modules = [importlib.import_module('mistral.api.controllers.' + m.name)
               for m in pkgutil.iter_modules(ctl_pkg.__path__)
               if not m.ispkg]
    modules += [importlib.import_module('mistral.api.controllers.v2.'
                                        + m.name)
                for m in pkgutil.iter_modules(v2_pkg.__path__)]
    found = set()
    for module in modules:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for name, value in vars(cls).items():
                if callable(value) and getattr(value, 'exposed', False) \
                        and not name.startswith('_'):
                    found.add('%s.%s' % (cls.__name__, name))
    return found


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, ops in doc['paths'].items()
            for method, op in ops.items()]


def test_every_exposed_method_is_described() -> None:
    doc = openapi.build()
    described = {op['x-controller'] for _, _, op in _operations(doc)}
    served = _served_methods()
    assert len(served) > 60
    assert served - described == set()
    assert 'ExecutionsController.post' in described


def test_document_is_valid_openapi() -> None:
    import schemathesis

    doc = openapi.document('http://127.0.0.1:8989')
    assert doc['openapi'].startswith('3.')
    schema = schemathesis.openapi.from_dict(doc)
    ops = list(schema.get_all_operations())
    assert len(ops) == len(_operations(doc))
    assert all(o.ok() for o in ops)
    ids = [op['operationId'] for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids))


def test_description_has_query_parameters_and_bodies() -> None:
    doc = openapi.build()
    listing = doc['paths']['/v2/executions']['get']
    names = {p['name']: p for p in listing['parameters']}
    assert {'marker', 'limit', 'sort_keys', 'fields', 'workflow_name',
            'include_output', 'all_projects'} <= set(names)
    assert names['limit']['schema'] == {'type': 'integer'}
    assert names['sort_keys']['schema']['type'] == 'array'
    post = doc['paths']['/v2/executions']['post']
    assert post['requestBody']['content']['application/json']['schema'] \
        == {'$ref': '#/components/schemas/Execution'}
    execution = doc['components']['schemas']['Execution']
    assert execution['additionalProperties'] is False
    assert 'workflow_name' in execution['properties']
    wf_post = doc['paths']['/v2/workflows']['post']
    assert 'text/plain' in wf_post['requestBody']['content']
    assert {p['name'] for p in wf_post['parameters']} == {
        'namespace', 'scope', 'skip_validation'}
    report = doc['paths'][
        '/v2/executions/{workflow_execution_id}/report']['get']
    assert {p['name'] for p in report['parameters']} == {
        'workflow_execution_id', 'errors_only', 'max_depth',
        'statistics_only'}
    assert set(doc['paths']['/v2/workflows/{identifier}']) == {
        'get', 'put', 'delete'}


def _is_unrouted(resp: Any) -> bool:
    """Pecan's own answer for a path or method no controller serves."""
    if resp.status_int == 405:
        return True
    return resp.status_int == 404 and resp.json['faultstring'].startswith(
        'Resource not found: ')


def _call(app: Any, path: str, method: str, op: dict) -> Any:
    url = path
    for param in op['parameters']:
        if param['in'] == 'path':
            url = url.replace('{%s}' % param['name'], ZERO)
    kwargs: dict[str, Any] = {'expect_errors': True}
    content = (op.get('requestBody') or {}).get('content', {})
    if 'application/json' in content:
        kwargs.update(params='{}', content_type='application/json')
    elif 'text/plain' in content:
        kwargs.update(params='', content_type='text/plain')
    return getattr(app, method)(url, **kwargs)


def test_unrouted_detector_detects(app: Any) -> None:
    assert _is_unrouted(app.get('/v2/nothing_here', expect_errors=True))
    assert _is_unrouted(app.patch('/v2/workflows', expect_errors=True))
    assert not _is_unrouted(app.get('/v2/workflows/nope',
                                    expect_errors=True))


def test_every_described_operation_is_routed(app: Any) -> None:
    doc = app.get('/v2/openapi.json').json
    assert doc['servers'][0]['url'].startswith('http')
    assert '/v2/openapi.json' in doc['paths']
    unrouted = []
    for path, method, op in _operations(doc):
        if (path, method) == ('/maintenance', 'put'):
            continue  # would change the mode for the calls after it
        resp = _call(app, path, method, op)
        if _is_unrouted(resp):
            unrouted.append('%s %s -> %s' % (method.upper(), path,
                                            resp.status))
        assert resp.status_int < 500, (method, path, resp.body)
    assert unrouted == []
    resp = app.put_json('/maintenance', {'status': 'BOGUS'},
                        expect_errors=True)
    assert not _is_unrouted(resp)
    assert 400 <= resp.status_int < 500 and 'faultstring' in resp.json


@pytest.mark.parametrize('bad', ['_lookup', '_default'])
def test_routes_the_walk_cannot_see_are_refused(bad: str) -> None:
    class Sub(rest.RestController):
        pass

    setattr(Sub, bad, lambda self, *a: None)

    class Root:
        sub = Sub()

    with pytest.raises(openapi.DescriptionError, match=bad):
        openapi.routes(Root())


def test_kwargs_query_must_be_declared() -> None:
    import pecan

    class Sub(rest.RestController):
        @pecan.expose()
        def get_all(self, **query: Any) -> Any:
            return None

    class Root:
        sub = Sub()

    with pytest.raises(openapi.DescriptionError, match='KWARGS_QUERY'):
        openapi.build(Root())


@pytest.mark.parametrize('method,path,status,text', [
    ('get', '/v2/nothing_here', 404, 'Resource not found: GET '
     '/v2/nothing_here.'),
    ('patch', '/v2/workflows', 405, 'Method not allowed: PATCH '
     '/v2/workflows'),
    ('delete', '/v2/tasks/x', 405, 'Method not allowed: DELETE'),
])
def test_pecan_errors_are_json_faults(app: Any, method: str, path: str,
                                      status: int, text: str) -> None:
    resp = getattr(app, method)(path, expect_errors=True)
    assert resp.status_int == status
    assert resp.content_type == 'application/json'
    assert resp.json['faultstring'].startswith(text)


@pytest.mark.parametrize('ctype', ['application/json', 'text/plain'])
def test_body_not_utf8_is_a_json_fault(app: Any, ctype: str) -> None:
    for path in ('/v2/action_executions', '/v2/workflows'):
        resp = app.post(path, b'{"a": "\x80"}', content_type=ctype,
                        expect_errors=True)
        assert resp.status_int == 400
        assert 'not UTF-8' in resp.json['faultstring']
    assert app.get('/v2/workflows').json['workflows'] == []


def test_description_is_authenticated_like_other_reads(auth_app: Any
                                                        ) -> None:
    from mistral.tests.unit.api.conftest import headers

    resp = auth_app.get('/v2/openapi.json', expect_errors=True)
    assert resp.status_int == 401
    assert 'faultstring' in resp.json
    resp = auth_app.get('/v2/openapi.json', headers=headers('p1'))
    assert resp.status_int == 200
    assert '/v2/executions' in resp.json['paths']
