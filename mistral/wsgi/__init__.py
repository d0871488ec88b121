"""WSGI entry point for running the API under uWSGI, mod_wsgi, gunicorn.

``mistral.wsgi:application``. Configuration comes from the files named by
``MISTRAL_CONFIG_FILE`` / ``MISTRAL_CONFIG_DIR`` (or the default search
path).

The application is built when this module is imported by a process that
has not read Mistral's configuration yet (a WSGI server), so that what
cannot work stops the server at start (uWSGI ``need-app``) with one line
that says why, as ``mistral-server`` does: a missing database driver,
authentication without ``[keystone_authtoken]``, an unreachable database,
a schema that is behind. The embedded default (SQLite) brings its schema
up to date, as ``mistral-server`` does. Database connections opened by
these checks are closed again: a server that forks its workers after the
import must not share them.
"""

from __future__ import annotations

import logging as std_logging
import threading
from typing import Any, Callable

_lock = threading.Lock()
_app: Callable[..., Any] | None = None

LOG = std_logging.getLogger(__name__)


def init_application() -> Callable[..., Any]:
    global _app
    with _lock:
        if _app is None:
            from oslo_log import log as logging

            from mistral import config
            from mistral import exceptions
            from mistral.api import app
            from mistral.db import api as db_api
            from mistral.service import handoffs
            from mistral.service import startup

            config.parse_args([])
            logging.setup(config.CONF, 'mistral')
            refused = None
            try:
                startup.prepare(['api'])
                # The API wakes schedulers (cron triggers) like any
                # component does.
                handoffs.wire()
                _app = app.setup_app()
            except exceptions.StartupError as e:
                refused = e
            finally:
                db_api.dispose()
            if refused is not None:
                # The WSGI server reports the exception too; this is the
                # line that says what to do.
                LOG.error('%s', refused)
                raise refused
    return _app


def application(environ: dict, start_response: Callable) -> Any:
    return init_application()(environ, start_response)


def _imported_by_a_server() -> bool:
    from mistral import config

    # A process that configured Mistral itself (tests, an embedding
    # program) builds the application on first use instead.
    return not config.is_parsed()


if _imported_by_a_server():
    init_application()
