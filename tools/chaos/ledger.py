"""An HTTP ledger that records every action invocation it receives.

Workflows call it with ``std.http`` (or ``std.mistral_http``) on a URL
that carries a key unique to the invocation, e.g.
``/call/<execution id>/<task>[/<item>]``. The harness then reads how often
each key was hit: twice for an action that is not ``safe-rerun`` means the
action ran twice.

Paths:

``/call/<key>``
    Records the call; answers ``{"ok": <last key segment>}``.
``/flaky/<n>/<key>``
    Fails (HTTP 500) the first ``n`` calls of ``key``, then succeeds like
    ``/call``: a task with ``retry`` gets there after ``n`` retries.
``/async/<key>``
    For ``std.mistral_http``: records the call and, from a thread,
    completes the action through the API (``PUT
    /v2/action_executions/<id>``), retrying while the API is down.
"""

from __future__ import annotations

import collections
import http.server
import json
import random
import threading
import time
from typing import Any

import requests


class Ledger:
    """Thread-safe counts of calls per key, and the completion queue."""

    def __init__(self, api_url: str = '') -> None:
        self.api_url = api_url
        self.calls: collections.Counter[str] = collections.Counter()
        # key -> action execution ids seen (std.mistral_http only).
        self.action_ids: dict[str, list[str]] = collections.defaultdict(
            list)
        self.completions_failed = 0
        self.rng = random.Random(0)
        self.max_delay = 0.3
        self._lock = threading.Lock()

    def record(self, key: str, action_id: str | None = None) -> int:
        with self._lock:
            self.calls[key] += 1
            if action_id:
                self.action_ids[key].append(action_id)
            return self.calls[key]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def complete_async(self, action_id: str, output: Any,
                       deadline: float = 600.0) -> None:
        """PUT the result of an async action, retrying while the API is
        being killed (the harness restarts it)."""
        url = '%s/action_executions/%s' % (self.api_url, action_id)
        body = {'state': 'SUCCESS', 'output': json.dumps(output)}
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                resp = requests.put(url, json=body, timeout=30)
                if resp.status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        with self._lock:
            self.completions_failed += 1


def _handler(ledger: Ledger) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *_args: Any) -> None:
            pass  # thousands of calls; the counts are what matters

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The caller's executor was killed meanwhile; the call is
                # recorded all the same.
                self.close_connection = True

        def _serve(self) -> None:
            length = int(self.headers.get('Content-Length') or 0)
            if length:
                self.rfile.read(length)
            parts = [p for p in self.path.split('?')[0].split('/') if p]
            if len(parts) < 2:
                self._answer(404, {'error': 'no key'})
                return
            kind = parts[0]
            if kind == 'flaky':
                fail, key = int(parts[1]), '/'.join(parts[2:])
                n = ledger.record('flaky/' + key)
                if n <= fail:
                    self._answer(500, {'error': 'flaky', 'call': n})
                else:
                    self._answer(200, {'ok': parts[-1]})
                return
            key = '/'.join(parts[1:])
            if kind == 'call':
                ledger.record('call/' + key)
                # Effects take time: a kill can land in the middle.
                time.sleep(ledger.rng.uniform(0, ledger.max_delay))
                self._answer(200, {'ok': parts[-1]})
            elif kind == 'async':
                action_id = self.headers.get('Mistral-Action-Execution-Id')
                ledger.record('async/' + key, action_id)
                self._answer(200, {'accepted': True})
                if action_id:
                    threading.Thread(
                        target=ledger.complete_async,
                        args=(action_id, {'ok': parts[-1]}),
                        daemon=True).start()
            else:
                self._answer(404, {'error': 'unknown path'})

        do_GET = _serve
        do_POST = _serve
        do_PUT = _serve

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    # A with-items task's calls arrive together: the standard backlog of 5
    # would make the kernel drop connection attempts (a one-second SYN
    # retransmission each).
    request_queue_size = 256


class LedgerServer:
    """The ledger on 127.0.0.1 (a free port), served from a thread."""

    def __init__(self, api_url: str = '') -> None:
        self.ledger = Ledger(api_url)
        self.httpd = _Server(('127.0.0.1', 0), _handler(self.ledger))
        self.httpd.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LedgerServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        name='ledger', daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
