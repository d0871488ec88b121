"""Checks a process makes before it starts serving.

A configuration that cannot work must stop the process at start with one
line that says what is wrong and how to fix it, not answer every request
with a 500 or leave some components running and others crashing in a
loop. Each check raises :class:`StartupError`:

* the database driver of ``[database] connection`` is not installed;
* authentication is on but cannot validate any token (no
  ``[keystone_authtoken]`` auth plugin, no ``[keycloak_oidc] auth_url``);
* the database is unreachable (retried ``[database] max_retries`` times,
  ``retry_interval`` seconds apart, one line each: a database that is
  still starting is waited for);
* the schema is missing, behind, or not one of this Mistral's.

SQLite (the embedded default) brings its own schema up to date instead:
:func:`upgrade_embedded_schema`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Callable, Iterator

import sqlalchemy as sa
from oslo_config import cfg

from mistral.exceptions import EXIT_UNAVAILABLE
from mistral.exceptions import StartupError
from mistral.service import cpu_affinity

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# StartupError and its exit codes live in mistral.exceptions, below the
# API's authentication checks (mistral.auth.checks) that raise it too.

# pip requirement of each DBAPI module SQLAlchemy may ask for.
_DRIVER_PACKAGES = {
    'psycopg': 'psycopg[binary]',
    'psycopg2': 'psycopg2-binary',
    'pymysql': 'PyMySQL',
    'MySQLdb': 'mysqlclient',
    'mysql': 'mysql-connector-python',
    'asyncpg': 'asyncpg',
    'pg8000': 'pg8000',
    'mariadb': 'mariadb',
}

# Connection failures that may go away by themselves (the server is
# starting, the network is back): retried. Anything else (a wrong
# password, a database that does not exist) is not.
_TRANSIENT = ('connection refused', "can't connect", 'could not connect',
              'timed out', 'timeout expired', 'is starting up',
              'the database system is shutting down', 'no route to host',
              'network is unreachable', 'name or service not known',
              'temporary failure in name resolution', 'server has gone away',
              'lost connection', 'connection reset', 'too many connections',
              'server closed the connection')


def _redacted(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return '<unparsable URL>'


def check_database_driver(url: str | None = None) -> None:
    """The DBAPI module of the connection URL can be imported."""
    url = url or CONF.database.connection
    try:
        parsed = sa.engine.make_url(url)
    except Exception as e:
        raise StartupError('[database] connection is not a database URL '
                           '(%s): %s' % (_redacted(url), e)) from e
    try:
        dialect = parsed.get_dialect()
    except Exception as e:
        raise StartupError(
            '[database] connection %s names a database or driver SQLAlchemy '
            'does not know (%s); use e.g. postgresql+psycopg2://, '
            'mysql+pymysql:// or sqlite:///' % (_redacted(url), e)) from e
    try:
        dialect.import_dbapi()
    except ImportError as e:
        module = (getattr(e, 'name', None) or '').split('.')[0] or '?'
        package = _DRIVER_PACKAGES.get(module, module)
        shipped = ('postgresql+psycopg2://'
                   if parsed.get_backend_name() == 'postgresql'
                   else 'mysql+pymysql://')
        raise StartupError(
            '[database] connection %s needs the Python module %r (driver '
            '%s), which is not installed: install it (pip install %s) or '
            'use a URL with the driver Mistral ships, %s...'
            % (_redacted(url), module, parsed.get_driver_name(), package,
               shipped)) from e


def _transient(error: BaseException) -> bool:
    text = str(getattr(error, 'orig', None) or error).lower()
    return any(s in text for s in _TRANSIENT)


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, 'orig', None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def wait_for_database(connect: Callable[[], None] | None = None,
                      stopped: threading.Event | None = None) -> None:
    """Connect once; retry transient failures as ``[database]
    max_retries`` (-1: for ever) and ``retry_interval`` say. Returns
    early, without a connection, once ``stopped`` is set (SIGTERM while
    waiting)."""
    from mistral.db import api as db_api

    def default_connect() -> None:
        with db_api.get_engine().connect() as conn:
            conn.execute(sa.text('SELECT 1'))

    connect = connect or default_connect
    url = _redacted(CONF.database.connection)
    retries = CONF.database.max_retries
    interval = max(float(CONF.database.retry_interval or 0), 0.1)
    attempt = 0
    while True:
        attempt += 1
        try:
            connect()
            return
        except Exception as e:
            error: Exception = e
        # Logged outside the except block: oslo.log would append the
        # exception to the line.
        reason = _first_line(error)
        if not _transient(error):
            raise StartupError('Cannot use the database %s: %s'
                               % (url, reason))
        if 0 <= retries < attempt:
            raise StartupError(
                'The database %s is unreachable (%s); gave up after %d '
                'attempts ([database] max_retries, retry_interval)'
                % (url, reason, attempt), exit_code=EXIT_UNAVAILABLE)
        LOG.warning('The database %s is unreachable (%s); retrying in '
                    '%.0f s (attempt %d of %s)', url, reason, interval,
                    attempt, 'unlimited' if retries < 0 else retries + 1)
        if (stopped or threading.Event()).wait(interval):
            return


def is_sqlite(url: str | None = None) -> bool:
    url = url or CONF.database.connection
    return sa.engine.make_url(url).get_backend_name() == 'sqlite'


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    from mistral.db.migration import cli

    try:
        script = ScriptDirectory.from_config(cli.alembic_cfg())
        return script.get_revision(revision) is not None
    except Exception:
        return False


def check_schema() -> None:
    """The database is this Mistral's and its schema is the latest
    (``mistral-db-manage upgrade head`` was run)."""
    from mistral.db.migration import schema_state

    url = _redacted(CONF.database.connection)
    try:
        st = schema_state.status()
    except schema_state.UpstreamDatabaseError as e:
        raise StartupError(str(e)) from None
    except Exception as e:
        raise StartupError('Cannot read the schema version of the '
                           'database %s: %s' % (url, _first_line(e))) from e
    if st.kind in (schema_state.UPSTREAM, schema_state.MIXED):
        raise StartupError(schema_state.upstream_message(
            CONF.database.connection, st.tables, st.kind))
    upgrade = ('run "mistral-db-manage --config-file <your config> upgrade '
               'head" (back up the database first)')
    if st.kind == schema_state.FOREIGN:
        raise StartupError(
            'The database %s holds tables that are not Mistral\'s: point '
            '[database] connection at a database of its own, then %s'
            % (url, upgrade))
    if st.current is None:
        raise StartupError('The database %s has no Mistral schema: run '
                           '"mistral-db-manage --config-file <your config> '
                           'upgrade head"' % url)
    if st.current == st.head:
        return
    if not _known_revision(st.current):
        raise StartupError(
            'The database %s has schema revision %s, which this version '
            'of Mistral does not know (a newer version made it): run the '
            'newer version, or restore a backup' % (url, st.current))
    raise StartupError('The database %s has schema revision %s; this '
                       'Mistral needs %s: %s'
                       % (url, st.current, st.head, upgrade))


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    """An exclusive lock between processes (uWSGI workers, launchers)
    that upgrade the same SQLite file at once."""
    import fcntl

    with open(path, 'a') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def upgrade_embedded_schema() -> None:
    """SQLite brings its schema up to date itself, and installs the
    pre-installed content when the schema was created or upgraded; other
    databases are upgraded by the operator with mistral-db-manage (and
    checked by :func:`check_schema`). An upstream Mistral SQLite file is
    refused untouched."""
    from mistral.db.migration import cli
    from mistral.db.migration import schema_state

    database = sa.engine.make_url(CONF.database.connection).database
    lock = (_file_lock(os.path.abspath(database) + '.lock')
            if database and database != ':memory:'
            else contextlib.nullcontext())
    try:
        with lock:
            before = schema_state.status().current
            cli.upgrade('head')
            if before != schema_state.head_revision():
                # What "mistral-db-manage populate" does after an upgrade
                # (std.wait_ssh, pre-installed workflows): a SQLite
                # database that upgrades itself gets it too.
                from mistral.services import populate

                populate.populate()
    except schema_state.UpstreamDatabaseError as e:
        raise StartupError(str(e)) from None
    except Exception as e:
        raise StartupError('Cannot bring the schema of the SQLite database '
                           '%s up to date: %s'
                           % (_redacted(CONF.database.connection),
                              _first_line(e))) from e


def prepare(names: list[str], stopped: threading.Event | None = None
            ) -> None:
    """Every check for a process that runs ``names``; the embedded
    schema is upgraded on the way. ``stopped``: a stop was asked for."""
    check_database_driver()
    cpu_affinity.check()
    if 'api' in names:
        from mistral.api import app as api_app

        api_app.check_authentication()
    if is_sqlite():
        # A file: nothing to wait for.
        upgrade_embedded_schema()
        return
    wait_for_database(stopped=stopped)
    if stopped is not None and stopped.is_set():
        return
    check_schema()
