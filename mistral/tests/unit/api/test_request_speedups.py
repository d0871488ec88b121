"""The request body kept per request and WSME's argument fast paths give
the answers webob and WSME give themselves."""

from __future__ import annotations

import contextlib
import datetime
import importlib
import inspect
import io
import json
import pkgutil
from typing import Any, Iterator

import pecan.core
import pytest
import webob
import webtest
from webob import multidict
from wsme import api as wsme_api
from wsme import types as wtypes
from wsme.rest import args as wsme_args

import mistral.api.controllers.v2 as v2
from mistral.api import app as api_app
from mistral.api import pecan_speedups
from mistral.api import wsme_speedups
from mistral.api.controllers.v2 import types
from mistral.services import maintenance
from mistral.tests.unit.api import conftest as c

JSON = 'application/json'


class _Stream:
    """A socket-like input: read only, not seekable."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


def _request(body: bytes, length: bool = True,
             cls: type = pecan_speedups.Request) -> Any:
    environ = webob.Request.blank('/v2/x', method='POST').environ
    environ['wsgi.input'] = _Stream(body)
    environ['CONTENT_TYPE'] = JSON
    if length:
        environ['CONTENT_LENGTH'] = str(len(body))
    else:  # chunked
        environ.pop('CONTENT_LENGTH', None)
        environ['wsgi.input_terminated'] = True
    return cls(environ)


@pytest.fixture
def reads(monkeypatch: Any) -> list[bytes]:
    """The bodies webob really read."""
    done: list[bytes] = []
    original = pecan_speedups._read_body

    def counting(request: Any) -> bytes:
        done.append(original(request))
        return done[-1]

    monkeypatch.setattr(pecan_speedups, '_read_body', counting)
    return done


# -- the kept body


@pytest.mark.parametrize('body,length', [
    (b'{"a": 1}', True), (b'{"a": 1}', False), (b'', True), (b'', False),
    (b'x' * 300000, True), (b'[1, 2]' * 5000, False)])
def test_same_bytes_as_webob(body: bytes, length: bool) -> None:
    request = _request(body, length)
    for _ in range(3):
        assert pecan_speedups.request_body(request) == body
        assert request.body == body
        # webob's own reading of the same request agrees, and leaves the
        # stream where a kept read leaves it.
        assert webob.Request(request.environ).body == body
        if body:
            assert request.body_file_raw.tell() == 0


def test_body_is_read_once(reads: list[bytes]) -> None:
    request = _request(b'{"workflow_name": "wf"}')
    plain = webob.Request(request.environ)  # the middleware's view
    assert pecan_speedups.request_body(plain) == b'{"workflow_name": "wf"}'
    assert request.body == b'{"workflow_name": "wf"}'
    assert pecan_speedups.request_json(request) == {'workflow_name': 'wf'}
    assert request.json == {'workflow_name': 'wf'}  # pecan's parameters
    assert reads == [b'{"workflow_name": "wf"}']


def test_json_is_parsed_once() -> None:
    request = _request(b'{"a": [1]}')
    first = pecan_speedups.request_json(request)
    assert pecan_speedups.request_json(request) is first
    # webob's own parsing still gives a new value every time.
    assert request.json == first and request.json is not first


def test_bad_json_raises_every_time() -> None:
    request = _request(b'{"a": ')
    for _ in range(2):
        with pytest.raises(ValueError):
            pecan_speedups.request_json(request)


def test_a_rewound_stream_after_a_partial_read() -> None:
    request = _request(b'0123456789')
    assert request.body == b'0123456789'
    request.body_file_raw.read(4)
    assert request.body == b'0123456789'
    assert request.body_file_raw.tell() == 0


@pytest.mark.parametrize('change,expected', [
    (lambda r: setattr(r, 'body', b'{"a": 2}'), b'{"a": 2}'),
    (lambda r: setattr(r, 'json', {'a': 2}), b'{"a":2}'),
    (lambda r: setattr(r, 'body_file', io.BytesIO(b'{"a": 2}')),
     b'{"a": 2}'),
    # The same length from another stream.
    (lambda r: r.environ.update({'wsgi.input': io.BytesIO(b'{"a": 2}')}),
     b'{"a": 2}'),
])
def test_a_changed_body_is_read_again(change: Any, expected: bytes) -> None:
    request = _request(b'{"a": 1}')
    assert pecan_speedups.request_body(request) == b'{"a": 1}'
    assert pecan_speedups.request_json(request) == {'a': 1}
    change(request)
    assert pecan_speedups.request_body(request) == expected
    assert request.body == expected
    assert pecan_speedups.request_json(request) == {'a': 2}


def test_a_shorter_length_is_read_again() -> None:
    request = _request(b'{"a": 1}  ')
    assert request.body == b'{"a": 1}  '
    request.content_length = 3  # the same stream, less of it
    assert request.body == b'{"a' == webob.Request(request.environ).body


# -- the API answers as without the fast paths


@contextlib.contextmanager
def _plain(monkeypatch: Any) -> Iterator[None]:
    """Every body read by webob, and WSME's own argument parsing."""
    with monkeypatch.context() as m:
        m.setattr(pecan_speedups, 'request_body', lambda r: r.body)
        m.setattr(pecan_speedups, 'request_json',
                  lambda r: json.loads(r.body))
        m.setattr(pecan_speedups, 'Request', pecan.core.Request)
        m.setattr(wsme_args, 'args_from_args',
                  wsme_speedups._original_args_from_args)
        m.setattr(wsme_args, 'args_from_params',
                  wsme_speedups._original_args_from_params)
        m.setattr(wsme_args, 'args_from_body',
                  wsme_speedups._original_args_from_body)
        yield


@pytest.fixture
def apps(db: Any, engine: Any, monkeypatch: Any) -> Any:
    fast = webtest.TestApp(api_app.setup_app())
    with _plain(monkeypatch):
        plain = webtest.TestApp(api_app.setup_app())

    def call(method: str, path: str, body: Any = None, ctype: str = JSON,
             mask: tuple[str, ...] = ()) -> Any:
        answers = []
        for app in (fast, plain):
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
            else:
                data = body.encode() if isinstance(body, str) else body
            request = webob.Request.blank(path, method=method)
            if data is not None:
                request.body = data
                request.content_type = ctype
            with _plain(monkeypatch) if app is plain else \
                    contextlib.nullcontext():
                resp = app.do_request(request, expect_errors=True)
            text = resp.body
            if mask:
                value = json.loads(text)
                text = {k: v for k, v in value.items() if k not in mask}
            answers.append((resp.status, sorted(resp.headerlist), text))
        assert answers[0] == answers[1]
        return answers[0]

    # The fast app must have its speedups on (the plain one installs none).
    assert wsme_args.args_from_params is wsme_speedups.args_from_params
    c.create_wf(fast)
    return call


WF_EX_MASK = ('id', 'created_at', 'updated_at')

BAD_BODIES = [
    b'{"workflow_name": ', b'[1, 2]', b'"text"', b'12', b'null', b'',
    b'{"workflow_name": []}', b'{"workflow_name": {}}',
    b'{"workflow_name": "wf1", "tags": "x"}',
    b'{"workflow_name": "wf1", "tags": [[]]}',
    b'{"workflow_name": "wf1", "nope": 1}',
    b'{"workflow_name": "\xff"}', b'\xef\xbb\xbf{"workflow_name": "wf1"}',
    b'{"workflow_name": "wf1", "input": ' + b'[' * 500 + b']' * 500 + b'}',
    b'{"workflow_name": "wf1", "input": "' + b'[' * 500 + b'"}',
]


@pytest.mark.parametrize('body', BAD_BODIES)
def test_refused_bodies_answer_the_same(apps: Any, body: bytes) -> None:
    status = apps('POST', '/v2/executions', body)[0]
    assert status.startswith('4'), status
    apps('POST', '/v2/executions', body, ctype='text/plain')
    apps('PUT', '/v2/executions/%s' % ('0' * 36), body)


def test_oversized_body_answers_the_same(apps: Any, conf: Any) -> None:
    conf('max_request_body_kb', 1, group='limits')
    body = {'workflow_name': 'wf1', 'input': {'a': 'x' * 2000}}
    assert apps('POST', '/v2/executions', body)[0].startswith('413')


def test_accepted_bodies_answer_the_same(apps: Any) -> None:
    for body in ({'workflow_name': 'wf1'},
                 {'workflow_name': 'wf1', 'input': json.dumps({'name': 1}),
                  'description': 'd', 'params': {'env': {'a': 1}}}):
        status = apps('POST', '/v2/executions', body, mask=WF_EX_MASK)[0]
        assert status.startswith('201'), status


def test_maintenance_answers_the_same(apps: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(maintenance, 'get_status', lambda: maintenance.PAUSED)
    path = '/v2/executions/%s' % ('0' * 36)
    assert apps('PUT', path, {'state': 'PAUSED'})[0].startswith('423')
    # A cancellation passes (and meets the missing execution).
    assert apps('PUT', path, {'state': 'CANCELLED'})[0].startswith('404')
    for body in (b'', b'{"state": ', b'[]', b'{"state": "CANCELLED"'):
        assert apps('PUT', path, body)[0].startswith('423')
    apps('POST', '/v2/executions', {'workflow_name': 'wf1'})


QUERIES = [
    '', 'workflow_name=wf1&fields=id,state&limit=1', 'limit=abc',
    'limit=1&limit=2', 'marker=nope', 'marker=%s' % ('0' * 36), 'nope=1',
    'fields.x=1', 'fields[0]=id', 'sort_keys[0]=id', 'all_projects=maybe',
    'include_output=false', 'include_output=', 'limit=', 'fields=',
    'sort_keys=Created_At&sort_dirs=DESC', 'tags=a&tags=b', 'state=SUCCESS',
    'created_at=gt:2020-01-01', 'id=in:a,b', '__body__=x',
]


@pytest.mark.parametrize('query', QUERIES)
def test_queries_answer_the_same(apps: Any, query: str) -> None:
    for resource in ('executions', 'workflows', 'tasks', 'action_executions',
                     'cron_triggers', 'event_triggers', 'environments'):
        apps('GET', '/v2/%s?%s' % (resource, query))
    apps('GET', '/v2/executions/%s?%s' % ('0' * 36, query))
    apps('DELETE', '/v2/executions/%s?%s' % ('0' * 36, query))


# -- WSME's argument parsing, function by function


class _Thing:
    name = wtypes.text
    size = int


wtypes.register_type(_Thing)


class _Wrapped(wtypes.UserType):
    """A user type over an array: it matches ``name[0]`` paths."""

    basetype = wtypes.ArrayType(wtypes.text)
    name = 'wrapped'

    def frombasetype(self, value: Any) -> Any:
        return None if value is None else ['w'] + list(value)


class _Twice(wtypes.UserType):
    basetype = types.uniquelist
    name = 'twice'

    def frombasetype(self, value: Any) -> Any:
        return None if value is None else value * 2


class _NotNone(wtypes.UserType):
    """``frombasetype`` answers something for ``None`` (and may fail)."""

    basetype = wtypes.text
    name = 'notnone'

    def frombasetype(self, value: Any) -> Any:
        if value == 'boom':
            raise ValueError('boom')
        return 'default' if value is None else value


class _Outer(wtypes.UserType):
    """Over another user type: the order of the calls shows."""

    basetype = _NotNone()
    name = 'outer'

    def frombasetype(self, value: Any) -> Any:
        return None if value is None else value.upper()


def _synthetic() -> Any:
    funcdef = wsme_api.FunctionDefinition(lambda: None)
    for name, datatype in [
            ('text', wtypes.text), ('num', int), ('day', datetime.date),
            ('when', datetime.datetime), ('flag', types.boolean),
            ('ids', types.uniquelist), ('twice', _Twice()),
            ('notnone', _NotNone()), ('outer', _Outer()),
            ('thing', _Thing),
            ('things', wtypes.ArrayType(_Thing)),
            ('texts', wtypes.ArrayType(wtypes.text)),
            ('map', wtypes.DictType(wtypes.text, int)),
            ('wrapped', _Wrapped()), ('file', wtypes.File),
            ('data', types.jsontype)]:
        funcdef.arguments.append(
            wsme_api.FunctionArgument(name, datatype, False, None))
    return funcdef


def _funcdefs() -> list[Any]:
    found = [_synthetic()]
    for info in pkgutil.iter_modules(v2.__path__):
        module = importlib.import_module('%s.%s' % (v2.__name__, info.name))
        for _, cls in inspect.getmembers(module, inspect.isclass):
            for _, member in inspect.getmembers(cls, inspect.isfunction):
                funcdef = getattr(member, '_wsme_definition', None)
                if funcdef is not None and funcdef not in found:
                    found.append(funcdef)
    assert len(found) > 30
    return found


def _norm(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if wtypes.iscomplex(type(value)):
        return (type(value).__name__, {
            a.key: _norm(getattr(value, a.key))
            for a in wtypes.list_attributes(type(value))})
    return value


def _outcome(func: Any, *args: Any) -> Any:
    try:
        return 'ok', _norm(func(*args))
    except Exception as e:
        return type(e), str(e), getattr(e, 'faultstring', None)


SAMPLES = ['1', 'abc', '', 'true', '2020-01-02', '2020-01-02T03:04:05',
           '0' * 36, 'a,B,a', '{"a": [1]}', 'boom']


def _params_sets(funcdef: Any) -> Iterator[Any]:
    names = [a.name for a in funcdef.arguments]
    yield multidict.MultiDict()
    yield multidict.MultiDict([('nope', '1'), ('__body__', '{}')])
    for name in names:
        for sample in SAMPLES:
            yield multidict.MultiDict([(name, sample)])
        yield multidict.MultiDict([(name, '1'), (name, '2')])
        for path in ('%s.name' % name, '%s.size' % name, '%s[0]' % name,
                     '%s[1].name' % name, '%s[k]' % name, '%s.x' % name):
            yield multidict.MultiDict([(path, '3'), ('other', '4')])
    yield multidict.MultiDict([(n, '1') for n in names])


def test_args_from_params_as_wsme() -> None:
    checked = 0
    for funcdef in _funcdefs():
        for params in _params_sets(funcdef):
            for ignore in (False, True):
                funcdef.ignore_extra_args, saved = ignore, \
                    funcdef.ignore_extra_args
                try:
                    assert _outcome(wsme_speedups.args_from_params, funcdef,
                                    params) == _outcome(
                        wsme_speedups._original_args_from_params, funcdef,
                        params), (funcdef.name, params)
                finally:
                    funcdef.ignore_extra_args = saved
                checked += 1
    assert checked > 1000


def test_args_from_args_as_wsme() -> None:
    for funcdef in _funcdefs():
        count = len(funcdef.arguments)
        defaults = [a.default for a in funcdef.arguments]
        for args in ([None] * count, defaults, defaults[:1],
                     *([s] * count for s in SAMPLES),
                     [['1', '2']] * count):
            kwargs = {a.name: args[0] for a in funcdef.arguments[:1]}
            for kw in ({}, kwargs):
                assert _outcome(wsme_speedups.args_from_args, funcdef, args,
                                kw) == _outcome(
                    wsme_speedups._original_args_from_args, funcdef, args,
                    kw), (funcdef.name, args)


def test_args_from_body_as_wsme() -> None:
    for funcdef in _funcdefs():
        for body in (b'', None, '', b'{"a": 1}', b'{'):
            for mimetype in (None, JSON, 'text/plain',
                             'application/x-www-form-urlencoded'):
                assert _outcome(wsme_speedups.args_from_body, funcdef, body,
                                mimetype) == _outcome(
                    wsme_speedups._original_args_from_body, funcdef, body,
                    mimetype), (funcdef.name, body, mimetype)


def test_only_name_only_types_skip_dispatch() -> None:
    name_only = {a.name for a in _synthetic().arguments
                 if wsme_speedups._name_only(a.datatype)}
    assert name_only == {'text', 'num', 'day', 'when', 'flag', 'ids',
                         'twice', 'notnone', 'outer', 'data'}
    none_chains = {a.name: wsme_speedups._none_chain(a.datatype)
                   for a in _synthetic().arguments}
    assert none_chains['text'] == () and none_chains['thing'] == ()
    assert none_chains['day'] is None and none_chains['file'] is None
    assert none_chains['twice'] is not None and len(none_chains['twice']) == 2
