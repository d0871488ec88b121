"""WSGI entry point for running the API under uWSGI, mod_wsgi, gunicorn.

``mistral.wsgi:application``. Configuration comes from the files named by
``MISTRAL_CONFIG_FILE`` / ``MISTRAL_CONFIG_DIR`` (or the default search
path); it is parsed once, when this module is first imported.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

_lock = threading.Lock()
_app: Callable[..., Any] | None = None


def init_application() -> Callable[..., Any]:
    global _app
    with _lock:
        if _app is None:
            from oslo_log import log as logging

            from mistral import config
            from mistral.api import app

            config.parse_args([])
            logging.setup(config.CONF, 'mistral')
            _app = app.setup_app()
    return _app


def application(environ: dict, start_response: Callable) -> Any:
    return init_application()(environ, start_response)
