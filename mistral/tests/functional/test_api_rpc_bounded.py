"""The API never waits on the engine longer than ``rpc_response_timeout``.

A real ``mistral-server --server api`` on RabbitMQ answers 503 with a
faultstring (not a hung request) when no engine listens, when the broker
is unreachable from the start, and when the broker goes away after the
API has talked to it; requests that only notify (event trigger changes)
still succeed. The broker "goes away" by closing a TCP proxy that
sits between the API and RabbitMQ; the shared broker itself stays up.

The requests' own client timeout (120 s) is only a safety net far above
the configured 3 s: a request that blocks is a failure, whatever its
duration.
"""

from __future__ import annotations

import configparser
import os
import socket
import threading
from typing import Any, Iterator

import pytest
import requests

from mistral.tests.functional import harness
from mistral.tests.functional.harness import Deployment

TIMEOUT = 3
# Starts go to an engine over RPC (by default mistral-server's API runs
# them itself: test_api_starts_workflows).
OVERRIDES = {'DEFAULT': {'rpc_response_timeout': TIMEOUT},
             'api': {'start_workflows': 'engine'}}
WF = "version: '2.0'\nrpc_wf:\n  tasks:\n    t:\n      action: std.noop\n"
TEXT = {'Content-Type': 'text/plain'}


class TCPProxy:
    """Forwards 127.0.0.1:<port> to a backend; ``close`` cuts everything.
    """

    def __init__(self, backend: tuple[str, int]) -> None:
        self.backend = backend
        self.sock = socket.create_server(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.backend, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.conns.clear()


def _api(dep: Deployment, transport_url: str) -> harness.ServerProcess:
    """An API process of ``dep`` that reaches the broker at another URL."""
    port = harness.free_port()
    conf = configparser.ConfigParser(interpolation=None)
    conf['DEFAULT'] = {'transport_url': transport_url}
    conf['api'] = {'port': str(port)}
    path = os.path.join(dep.tmpdir, 'api-rpc.conf')
    with open(path, 'w') as f:
        conf.write(f)
    argv = [harness._script('mistral-server'), '--config-file',
            dep.conf_path, '--config-file', path, '--server', 'api']
    proc = harness.ServerProcess(
        99, ['api'], argv, os.path.join(dep.tmpdir, 'api-rpc.log'),
        dep._child_env(), port)
    proc.start()
    return proc


@pytest.fixture
def engine_only() -> Iterator[Deployment]:
    with Deployment(db='sqlite', transport='rabbit',
                    processes=[['engine']], conf_overrides=OVERRIDES) as dep:
        yield dep


def _start(url: str, name: str = 'rpc_wf') -> requests.Response:
    return requests.post(url + '/executions', json={'workflow_name': name},
                         timeout=120)


def _unavailable(r: requests.Response, *texts: str) -> None:
    assert r.status_code == 503, r.text
    body = r.json()
    assert body['faultcode'] == 'Server'
    assert any(t in body['faultstring'] for t in texts), body
    assert 'Traceback' not in r.text


def test_no_engine_is_503_after_the_timeout(deploy: Any) -> None:
    dep = deploy(db='sqlite', transport='rabbit', processes=[['api']],
                 conf_overrides=OVERRIDES)
    r = requests.post(dep.api_url + '/workflows', data=WF, headers=TEXT,
                      timeout=60)
    assert r.status_code == 201, r.text
    _unavailable(_start(dep.api_url),
                 'The request took longer than %d seconds' % TIMEOUT)
    r = requests.post(dep.api_url + '/action_executions', timeout=120,
                      json={'name': 'std.echo', 'input': {'output': 1}})
    _unavailable(r, 'The request took longer than %d seconds' % TIMEOUT)
    # The API itself is fine meanwhile.
    r = requests.get(dep.api_url + '/executions', timeout=60)
    assert r.status_code == 200 and r.json()['executions'] == []


def test_broker_down_from_the_start(engine_only: Deployment) -> None:
    dead = 'rabbit://guest:guest@127.0.0.1:%d/' % harness.free_port()
    api = _api(engine_only, dead)
    try:
        harness.wait_for(lambda: api.ready(wait_ready_lines=False), 90,
                         'the api', logs=api.tail)
        url = 'http://127.0.0.1:%d/v2' % api.api_port
        r = requests.post(url + '/workflows', data=WF, headers=TEXT,
                          timeout=60)
        assert r.status_code == 201, r.text
        # Twice: the second call must not queue behind the first.
        for _ in range(2):
            _unavailable(_start(url), 'The message bus did not answer')
        # An event trigger is stored although the event engines cannot be
        # told (they reload their triggers periodically).
        wf_id = r.json()['workflows'][0]['id']
        r = requests.post(url + '/event_triggers', timeout=120, json={
            'name': 'et', 'workflow_id': wf_id, 'exchange': 'nova',
            'topic': 'notifications', 'event': 'x.y'})
        assert r.status_code == 201, r.text
        r = requests.get(url + '/event_triggers', timeout=60)
        assert [t['name'] for t in r.json()['event_triggers']] == ['et']
    finally:
        api.stop()


def test_broker_lost_after_first_call(engine_only: Deployment) -> None:
    dep = engine_only
    rabbit = os.environ.get('MISTRAL_TEST_RABBIT', '127.0.0.1:5672')
    host, _, port = rabbit.rpartition(':')
    proxy = TCPProxy((host, int(port)))
    url_via_proxy = dep.transport_url.replace(
        rabbit, '127.0.0.1:%d' % proxy.port)
    assert url_via_proxy != dep.transport_url
    api = _api(dep, url_via_proxy)
    try:
        harness.wait_for(lambda: api.ready(wait_ready_lines=False), 90,
                         'the api', logs=api.tail)
        url = 'http://127.0.0.1:%d/v2' % api.api_port
        r = requests.post(url + '/workflows', data=WF, headers=TEXT,
                          timeout=60)
        assert r.status_code == 201, r.text
        r = _start(url)
        assert r.status_code == 201, r.text
        first = r.json()['id']
        proxy.close()
        _unavailable(_start(url), 'The message bus is unreachable',
                     'The request took longer than', 'did not answer')
        r = requests.get(url + '/executions', timeout=60)
        assert [e['id'] for e in r.json()['executions']] == [first]
    finally:
        proxy.close()
        api.stop()
