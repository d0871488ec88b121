"""std.http's short way (mistral.actions.http_direct) against requests.

Every case runs twice against a real server on 127.0.0.1 that records the
raw bytes it receives and answers scripted bytes: once the way std.http
takes (the short way where it applies) and once with the short way turned
off (requests). The request bytes and the results must be the same,
except ``elapsed``; the cases the short way must leave to requests are
checked to do so.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import threading
from typing import Any, Iterator

import pytest

from mistral.actions import http_direct
from mistral.actions import runner
from mistral.actions import std
from mistral.tests.unit.actions import servers

_JSON = b'{"n": 1}'
_GZ = gzip.compress(b'{"zipped": true}')

# path -> the response's bytes after the status line
_ANSWERS = {
    '/json': b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n'
             % len(_JSON) + _JSON,
    '/dup': b'X-Dup: one\r\nX-Dup: two\r\n'
            b'Set-Cookie: a=1; Path=/\r\n'
            b'Set-Cookie: b=2; Path=/elsewhere\r\n'
            b'Set-Cookie: c=3; Domain=other.example\r\n'
            b'Content-Length: 2\r\n\r\nok',
    '/gzip': b'Content-Type: application/json\r\nContent-Encoding: gzip\r\n'
             b'Content-Length: %d\r\n\r\n' % len(_GZ) + _GZ,
    '/latin': b'Content-Type: text/html; charset=latin-1\r\n'
              b'Content-Length: 4\r\n\r\ncaf\xe9',
    '/nocharset': b'Content-Type: text/plain\r\nContent-Length: 4\r\n\r\n'
                  b'caf\xe9',
    '/notjson': b'Content-Type: application/json\r\nContent-Length: 3\r\n'
                b'\r\n{x}',
    '/empty': b'Content-Length: 0\r\n\r\n',
    '/chunked': b'Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n'
                b'0\r\n\r\n',
}
_STATUS = {'/missing': b'404 Not Found', '/nothing': b'204 No Content',
           '/moved': b'302 Found'}


class RawServer:
    """Keeps connections open, records each request's bytes."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.seen: list[bytes] = []
        threading.Thread(target=servers.accept_forever,
                         args=(self.sock, self._serve), daemon=True).start()

    def url(self, path: str) -> str:
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    def _serve(self, conn: socket.socket) -> None:
        buf = b''
        with conn:
            while True:
                while b'\r\n\r\n' not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b'\r\n\r\n')
                length = 0
                for line in head.split(b'\r\n')[1:]:
                    name, _, value = line.partition(b':')
                    if name.strip().lower() == b'content-length':
                        length = int(value)
                while len(buf) < length:
                    buf += conn.recv(65536)
                body, buf = buf[:length], buf[length:]
                self.seen.append(head + b'\r\n\r\n' + body)
                target = head.split(b' ')[1].decode('latin-1')
                path = target.split('?')[0]
                status = _STATUS.get(path, b'200 OK')
                if path == '/moved':
                    rest = b'Location: /json\r\nContent-Length: 0\r\n\r\n'
                elif path == '/nothing':
                    rest = b'\r\n'
                else:
                    rest = _ANSWERS.get(path, _ANSWERS['/json'])
                if head.startswith(b'HEAD '):
                    rest = rest.split(b'\r\n\r\n')[0] + b'\r\n\r\n'
                conn.sendall(b'HTTP/1.1 ' + status + b'\r\n' + rest)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope='module')
def raw_server() -> Iterator[RawServer]:
    srv = RawServer()
    yield srv
    srv.close()


@pytest.fixture
def short_way(monkeypatch: Any) -> dict[str, Any]:
    """Counts the requests the short way sent; ``on`` turns it off."""
    state = {'on': True, 'sent': 0}
    real = http_direct.send

    def send(*args: Any, **kwargs: Any) -> Any:
        if not state['on']:
            return None
        resp = real(*args, **kwargs)
        if resp is not None:
            state['sent'] += 1
        return resp

    monkeypatch.setattr(http_direct, 'send', send)
    return state


def _result(ctx: Any, **kwargs: Any) -> dict[str, Any]:
    """What runner.run answers for std.http with ``kwargs``, without what
    differs between any two calls (the time taken, objects' addresses)."""
    res = runner.run(std.HTTPAction(**kwargs), None, ctx)
    for key, part in res.items():
        if isinstance(part, dict):
            part.pop('elapsed', None)
        elif isinstance(part, str):
            res[key] = re.sub(' at 0x[0-9a-f]+', '', part)
    return res


def _both(server: RawServer, short_way: dict[str, Any], ctx: Any,
          kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """(short-way result, requests result), each with its request bytes;
    the results as runner.run answers them (errors included)."""
    outcome = []
    for on in (True, False):
        short_way['on'] = on
        before = len(server.seen)
        outcome.append((_result(ctx, **kwargs), server.seen[before:]))
    short_way['on'] = True
    return outcome[0], outcome[1]


PLAIN = [
    {'url': '/json'},
    {'url': '/json?v=1', 'params': {'a': 'x y', 'b': [1, 2], 'c': None}},
    {'url': '/json', 'params': 'raw=1&x'},
    {'url': '/json', 'headers': {'X-Num': 5, 'user-agent': 'me',
                                 'Accept': 'text/plain',
                                 'Connection': None}},
    {'url': '/json', 'method': 'post'},
    {'url': '/json', 'method': 'DELETE',
     'headers': {'Content-Length': '0'}},
    {'url': '/json', 'method': 'HEAD'},
    {'url': '/json', 'method': 'OPTIONS', 'timeout': 5},
    {'url': '/dup'},
    {'url': '/gzip'},
    {'url': '/latin'},
    {'url': '/nocharset'},
    {'url': '/notjson'},
    {'url': '/empty'},
    {'url': '/chunked'},
    {'url': '/missing'},
    {'url': '/nothing'},
    {'url': '/moved'},
    {'url': '/caf\u00e9 x?q=\u00e9&r=a%20b'},
    {'url': '/json#fragment'},
    {'url': '//json//twice'},
    {'url': ''},
]


@pytest.mark.parametrize('kwargs', PLAIN)
def test_same_request_and_result_as_requests(raw_server, short_way,
                                             allow_loopback, ctx, kwargs):
    kwargs = dict(kwargs, url=raw_server.url(kwargs['url']))
    (short, short_wire), (full, full_wire) = _both(raw_server, short_way,
                                                   ctx, kwargs)
    assert short_way['sent'] == 1
    assert short_wire == full_wire and len(short_wire) == 1
    assert short == full


NOT_PLAIN = [
    {'url': '/json', 'method': 'POST', 'body': 'text'},
    {'url': '/json', 'method': 'PUT', 'json': {'a': 1}},
    {'url': '/json', 'cookies': {'k': 'v'}},
    {'url': '/json', 'auth': 'bob:secret'},
    {'url': '/moved', 'allow_redirects': True},
    {'url': '/json', 'timeout': [5, 5]},
    {'url': '/json', 'headers': {'X-Bytes': b'v'}},
    {'url': '/json', 'headers': {'X-Bad': 'a\r\nInjected: 1'}},
    {'url': '/json', 'headers': {'X-List': ['a']}},
    {'url': '/json', 'userinfo': 'bob:secret@'},
]


@pytest.mark.parametrize('kwargs', NOT_PLAIN)
def test_left_to_requests(raw_server, short_way, allow_loopback, ctx,
                          kwargs):
    kwargs = dict(kwargs, url=raw_server.url(kwargs['url']))
    userinfo = kwargs.pop('userinfo', None)
    if userinfo:
        kwargs['url'] = kwargs['url'].replace('//', '//' + userinfo, 1)
    (short, short_wire), (full, full_wire) = _both(raw_server, short_way,
                                                   ctx, kwargs)
    assert short_way['sent'] == 0
    assert short_wire == full_wire
    assert short == full


def test_errors_read_the_same(short_way, allow_loopback, ctx):
    # Nothing listens on the port: the same text either way.
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    results = []
    for on in (True, False):
        short_way['on'] = on
        results.append(_result(ctx, url='http://127.0.0.1:%d/x' % port))
    assert 'Connection refused' in results[0]['error']
    assert results[0] == results[1]


def test_read_timeout_reads_the_same(short_way, allow_loopback, ctx):
    # Accepts and never answers.
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(4)
    try:
        results = []
        for on in (True, False):
            short_way['on'] = on
            results.append(_result(
                ctx, url='http://127.0.0.1:%d/x' % s.getsockname()[1],
                timeout=0.2))
        assert 'timed out' in results[0]['error']
        assert results[0] == results[1]
    finally:
        s.close()


def test_environment_proxy_leaves_it_to_requests(raw_server, short_way,
                                                 conf, ctx, monkeypatch):
    conf('denied_cidrs', [], group='action_std_http')
    for name in ('no_proxy', 'NO_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HTTP_PROXY', raw_server.url(''))
    before = len(raw_server.seen)
    res = std.HTTPAction('http://mistral-test.invalid/json').run(ctx)
    assert res['content'] == json.loads(_JSON)
    # Sent to the proxy, with the whole URL as the target.
    assert raw_server.seen[before].startswith(
        b'GET http://mistral-test.invalid/json ')
    assert short_way['sent'] == 0


def test_netrc_leaves_it_to_requests(raw_server, short_way, allow_loopback,
                                     ctx, monkeypatch, tmp_path):
    netrc = tmp_path / 'netrc'
    netrc.write_text('machine 127.0.0.1 login bob password one\n')
    netrc.chmod(0o600)
    monkeypatch.setenv('NETRC', str(netrc))
    before = len(raw_server.seen)
    std.HTTPAction(raw_server.url('/json')).run(ctx)
    assert b'Authorization: Basic Ym9iOm9uZQ==' in raw_server.seen[before]
    assert short_way['sent'] == 0
    monkeypatch.setenv('NETRC', str(tmp_path / 'missing'))
    std.HTTPAction(raw_server.url('/json')).run(ctx)
    assert short_way['sent'] == 1
