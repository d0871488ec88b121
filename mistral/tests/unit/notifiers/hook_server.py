"""A real HTTP server on 127.0.0.1 that records the webhooks it gets."""

from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any


class HookServer:
    def __init__(self, status: int = 200, port: int = 0) -> None:
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                status = outer.status
                with outer._lock:
                    outer.requests.append({
                        'path': self.path, 'headers': dict(self.headers),
                        'body': json.loads(body or b'null'),
                        'status': status})
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', port),
                                                      Handler)
        self.url = 'http://127.0.0.1:%d' % self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        daemon=True)

    def __enter__(self) -> HookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r['body'] for r in self.requests]

    def accepted(self) -> list[Any]:
        """The bodies of the requests answered with a 2xx."""
        with self._lock:
            return [r['body'] for r in self.requests
                    if 200 <= r['status'] < 300]

    def wait_for(self, predicate, timeout: float = 30.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.bodies()
            if predicate(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError('webhook calls so far: %r' % (got,))
            time.sleep(0.05)
