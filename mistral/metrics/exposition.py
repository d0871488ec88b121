"""Serving the metrics: ``/metrics`` on the API, a port per component.

Ports of non-API components (``[metrics]``): a component's own
``<component>_port`` if set, else ``port`` + its offset below if ``port``
is set, else none. Components that share a process (``--server all``)
share one registry: each of their ports shows the same metrics.

Under a multi-process WSGI server set ``PROMETHEUS_MULTIPROC_DIR`` (see
prometheus-client) and ``/metrics`` aggregates every worker.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable

import prometheus_client as prom
from oslo_config import cfg
from prometheus_client import multiprocess

from mistral.metrics import definitions  # noqa: F401  (registers them)

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

PATH = '/metrics'

# Offsets from [metrics] port; the option name is <key>_port.
OFFSETS = {'engine': 0, 'executor': 1, 'scheduler': 2, 'notifier': 3,
           'event-engine': 4}


def _registry() -> prom.CollectorRegistry:
    if os.environ.get('PROMETHEUS_MULTIPROC_DIR'):
        registry = prom.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prom.REGISTRY


def mount(app: Callable[..., Any]) -> Callable[..., Any]:
    """``app`` with ``GET /metrics`` answered before it (and before
    authentication: Prometheus scrapes anonymously)."""
    metrics_app = prom.make_wsgi_app(_registry())

    def wrapper(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get('PATH_INFO') == PATH:
            return metrics_app(environ, start_response)
        return app(environ, start_response)
    return wrapper


def port_for(component: str) -> int | None:
    """The metrics port of ``component``, or None."""
    if not CONF.metrics.enabled or component not in OFFSETS:
        return None
    own = getattr(CONF.metrics, component.replace('-', '_') + '_port')
    if own:
        return own
    if CONF.metrics.port:
        return CONF.metrics.port + OFFSETS[component]
    return None


class _Servers:
    """HTTP servers by port, shared by the components of a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[int, list[Any]] = {}  # port -> [server, users]

    def start(self, component: str) -> int | None:
        """Serve the metrics for ``component``; return the port or None."""
        port = port_for(component)
        if port is None:
            return None
        with self._lock:
            entry = self._servers.get(port)
            if entry is None:
                try:
                    server, _thread = prom.start_http_server(
                        port, addr=CONF.metrics.host, registry=_registry())
                except OSError:
                    # Metrics are not worth a component that won't start.
                    LOG.exception('Cannot serve metrics on %s:%s',
                                  CONF.metrics.host, port)
                    return None
                entry = self._servers[port] = [server, 0]
                LOG.info('%s metrics on http://%s:%s%s', component,
                         CONF.metrics.host, port, PATH)
            entry[1] += 1
        return port

    def stop(self, port: int | None) -> None:
        if port is None:
            return
        with self._lock:
            entry = self._servers.get(port)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del self._servers[port]
        entry[0].shutdown()
        entry[0].server_close()


servers = _Servers()
