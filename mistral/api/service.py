"""The built-in API server: cheroot in a background thread."""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Any, Callable

from cheroot import wsgi
from oslo_config import cfg

from mistral import exceptions as exc
from mistral.api import app as api_app

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


class ApiServer:
    """Serve the API on ``[api] host:port`` until stopped.

    ``port=0`` picks a free port (tests); ``bound_port`` tells which.
    """

    def __init__(self, app: Callable[..., Any] | None = None,
                 host: str | None = None, port: int | None = None,
                 threads: int | None = None) -> None:
        self._app = app
        self._host = CONF.api.host if host is None else host
        self._port = CONF.api.port if port is None else port
        self._threads = threads or CONF.api.threads
        self._server: wsgi.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def bound_port(self) -> int:
        assert self._server is not None
        return self._server.bind_addr[1]

    @property
    def url(self) -> str:
        host = self._host if self._host not in ('0.0.0.0', '::') \
            else '127.0.0.1'
        scheme = 'https' if CONF.api.enable_ssl_api else 'http'
        return '%s://%s:%d' % (scheme, host, self.bound_port)

    @staticmethod
    def _ssl_adapter() -> Any:
        """cheroot's TLS adapter for ``[ssl]`` (``[api] enable_ssl_api``)."""
        from cheroot.ssl import builtin

        cert, key = CONF.ssl.cert_file, CONF.ssl.key_file
        if not cert or not key:
            raise exc.MistralError(
                '[api] enable_ssl_api needs [ssl] cert_file and key_file')
        try:
            adapter = builtin.BuiltinSSLAdapter(cert, key)
            if CONF.ssl.ciphers:
                adapter.context.set_ciphers(CONF.ssl.ciphers)
            if CONF.ssl.ca_file:
                adapter.context.load_verify_locations(CONF.ssl.ca_file)
                adapter.context.verify_mode = ssl.CERT_REQUIRED
        except (OSError, ssl.SSLError) as e:
            raise exc.MistralError(
                'Cannot use the [ssl] certificate files or ciphers '
                '(cert_file=%s, key_file=%s, ca_file=%s, ciphers=%s): %s'
                % (cert, key, CONF.ssl.ca_file, CONF.ssl.ciphers, e)) from e
        return adapter

    def start(self) -> None:
        app = self._app or api_app.setup_app()
        self._server = wsgi.Server((self._host, self._port), app,
                                   numthreads=self._threads,
                                   server_name='mistral-api')
        if CONF.api.enable_ssl_api:
            self._server.ssl_adapter = self._ssl_adapter()
        # Bind now so that start() fails loudly on a busy port and the
        # chosen port is known before the thread runs.
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve,
                                        name='mistral-api', daemon=True)
        self._thread.start()
        LOG.info('API listening on %s:%s%s', self._host, self.bound_port,
                 ' (HTTPS)' if CONF.api.enable_ssl_api else '')

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
