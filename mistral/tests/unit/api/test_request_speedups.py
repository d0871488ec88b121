"""The request body kept per request gives the answers webob gives
itself, and the API answers the same with it as without it."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any, Iterator

import pecan.core
import pytest
import webob
import webtest

from mistral.api import app as api_app
from mistral.api import pecan_speedups
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
    """Every body read by webob."""
    with monkeypatch.context() as m:
        m.setattr(pecan_speedups, 'request_body', lambda r: r.body)
        m.setattr(pecan_speedups, 'request_json',
                  lambda r: json.loads(r.body))
        m.setattr(pecan_speedups, 'Request', pecan.core.Request)
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
