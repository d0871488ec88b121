"""Engines that cannot write: for looking at a database we must not change.

Used for the source of ``import-upstream`` and for looking at the
configured database before any command touches it (our own engine would
switch an SQLite file to WAL mode on connecting, which rewrites its
header). One connection per use, no pool:

* SQLite: the file opened with ``mode=ro``;
* PostgreSQL: ``default_transaction_read_only`` and ``REPEATABLE READ``
  (one snapshot per transaction);
* MySQL/MariaDB: a ``READ ONLY`` session in ``REPEATABLE READ``.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import sqlalchemy as sa


class UnsupportedDatabase(RuntimeError):
    """Not a database these engines can open read-only."""


class MissingDatabase(UnsupportedDatabase):
    """An SQLite file that does not exist (yet)."""


def driver_url(url: str) -> sa.engine.URL:
    """``url`` with a driver that is installed.

    Upstream configurations often say ``postgresql://`` or ``mysql://``;
    SQLAlchemy would pick psycopg 3 or MySQLdb for those, which may not be
    installed while psycopg2 or PyMySQL are.
    """
    parsed = sa.engine.make_url(url)
    choices = {'postgresql': (('psycopg', 'psycopg'),
                              ('psycopg2', 'psycopg2')),
               'mysql': (('mysqldb', 'MySQLdb'), ('pymysql', 'pymysql'))}
    backend = parsed.get_backend_name()
    if backend in ('mariadb',):
        backend = 'mysql'
    if '+' not in parsed.drivername and backend in choices:
        for driver, module in choices[backend]:
            if importlib.util.find_spec(module) is not None:
                return parsed.set(drivername='%s+%s' % (
                    parsed.get_backend_name(), driver))
    return parsed


def redact(url: str | sa.engine.URL) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return str(url)


def _sqlite_read_only(url: sa.engine.URL) -> sa.engine.URL:
    path = url.database
    if not path or path == ':memory:':
        raise UnsupportedDatabase('%s is an in-memory SQLite database.'
                                  % url)
    if not os.path.exists(path):
        raise MissingDatabase('The SQLite file %s does not exist.' % path)
    return url.set(database='file:%s' % os.path.abspath(path),
                   query={'mode': 'ro', 'uri': 'true'})


def engine(url: str) -> sa.engine.Engine:
    parsed = driver_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {'poolclass': sa.pool.NullPool}
    if backend == 'sqlite':
        parsed = _sqlite_read_only(parsed)
        eng = sa.create_engine(parsed, **kwargs)

        @sa.event.listens_for(eng, 'connect')
        def _connect(dbapi_conn, _record):
            # Transactions begin where SQLAlchemy begins them (one read
            # transaction: one snapshot), not at pysqlite's whim.
            dbapi_conn.isolation_level = None

        @sa.event.listens_for(eng, 'begin')
        def _begin(conn):
            conn.exec_driver_sql('BEGIN')

        return eng
    if backend == 'postgresql':
        if 'psycopg2' in parsed.drivername or 'psycopg' in parsed.drivername:
            kwargs['connect_args'] = {
                'options': '-c default_transaction_read_only=on'}
        kwargs['isolation_level'] = 'REPEATABLE READ'
        return sa.create_engine(parsed, **kwargs)
    if backend in ('mysql', 'mariadb'):
        kwargs['isolation_level'] = 'REPEATABLE READ'
        eng = sa.create_engine(parsed, **kwargs)

        @sa.event.listens_for(eng, 'connect')
        def _read_only(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute('SET SESSION TRANSACTION READ ONLY')
            cur.close()

        return eng
    raise UnsupportedDatabase('Unsupported database %s (SQLite, '
                              'PostgreSQL and MySQL/MariaDB are).'
                              % redact(url))
