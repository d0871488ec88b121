"""tools/bench/http_target.py: keeps a connection open unless asked not to
(clients that reuse connections and clients that do not are both served)."""

from __future__ import annotations

import http.client
import pathlib
import subprocess
import sys
from typing import Iterator

import pytest

TARGET = pathlib.Path(__file__).resolve().parents[3] / 'tools' / 'bench' / \
    'http_target.py'


@pytest.fixture
def port() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, str(TARGET), '--port', '0'],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        yield int(line.split()[1])
    finally:
        proc.kill()
        proc.wait()


def test_keep_alive_serves_several_requests_on_one_connection(port):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    for value in ('1', '"two"', '[3]'):
        conn.request('GET', '/?v=%s' % value)
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.getheader('Connection') is None
        assert resp.read().decode() == value
    conn.close()


def test_connection_close_is_honoured(port):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    conn.request('GET', '/?v=7', headers={'Connection': 'close'})
    resp = conn.getresponse()
    assert resp.getheader('Connection') == 'close'
    assert resp.read() == b'7'
    assert resp.will_close
