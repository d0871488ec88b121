"""Database engine, sessions and transactions.

Each unit of work runs in its own session and transaction
(:func:`transaction`); sessions are never shared between threads and there is
no process-wide lock. Concurrency control is the database's: row locks on
the workflow execution being changed (``SELECT ... FOR UPDATE``) on
PostgreSQL and MariaDB, and ``BEGIN IMMEDIATE`` (a single writer) on SQLite.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import threading
import time
from typing import Any, Callable, Iterator, TypeVar

import sqlalchemy as sa
import tenacity
from oslo_config import cfg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm

from mistral import exceptions as exc
from mistral.db import field_limits  # noqa: F401  (before_flush check)
from mistral.db import write_buffer

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

_engine: sa.engine.Engine | None = None
_sessionmaker: orm.sessionmaker | None = None
_init_lock = threading.Lock()

T = TypeVar('T')


def _configure_sqlite(engine: sa.engine.Engine) -> None:
    # pysqlite's own transaction handling would start transactions lazily
    # and in DEFERRED mode, where two writers deadlock on lock upgrade.
    # Take control and begin every transaction IMMEDIATE: one writer at a
    # time, the others wait up to busy_timeout. WAL lets readers proceed.
    @event.listens_for(engine, 'connect')
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute('PRAGMA journal_mode=WAL')
        cur.execute('PRAGMA busy_timeout=30000')
        cur.execute('PRAGMA synchronous=NORMAL')
        cur.execute('PRAGMA foreign_keys=ON')
        cur.close()

    @event.listens_for(engine, 'begin')
    def _begin(conn):
        # Readers take no write lock (WAL lets them see the last commit).
        if conn.get_execution_options().get('mistral_read_only'):
            conn.exec_driver_sql('BEGIN')
        else:
            conn.exec_driver_sql('BEGIN IMMEDIATE')


# A pooled connection idle longer than this is checked (SELECT 1) before
# use; one in steady use is not: a round trip saved per transaction. A
# connection that dies anyway (the server restarted within this time) fails
# its transaction, which retry_on_db_error runs again on a new connection
# (SQLAlchemy then invalidates the whole pool).
PING_AFTER_IDLE_SECONDS = 2.0


def _ping_idle_connections(engine: sa.engine.Engine) -> None:
    @event.listens_for(engine.pool, 'checkin')
    def _checkin(dbapi_conn, record):
        record.info['mistral_idle_since'] = time.monotonic()

    @event.listens_for(engine.pool, 'checkout')
    def _checkout(dbapi_conn, record, proxy):
        since = record.info.get('mistral_idle_since')
        if since is not None and \
                time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            # The dialect's own ping (no transaction left open).
            engine.dialect.do_ping(dbapi_conn)
        except Exception as e:
            # The pool drops this connection and checks out another.
            raise sa_exc.DisconnectionError(str(e)) from e


def get_engine() -> sa.engine.Engine:
    global _engine, _sessionmaker
    if _engine is not None:
        return _engine
    with _init_lock:
        if _engine is None:
            url = sa.engine.make_url(CONF.database.connection)
            kwargs: dict[str, Any] = {'future': True}
            if url.get_backend_name() == 'sqlite':
                kwargs['connect_args'] = {'check_same_thread': False,
                                          'timeout': 30}
                kwargs['poolclass'] = sa.pool.QueuePool
                kwargs['pool_size'] = 5
                kwargs['max_overflow'] = 20
            else:
                # Our concurrency control relies on row locks plus READ
                # COMMITTED (MariaDB's default REPEATABLE READ would hide
                # rows committed after a transaction's first read). It is
                # PostgreSQL's default: setting it there would only cost a
                # statement per connection checkout.
                if url.get_backend_name() != 'postgresql':
                    kwargs['isolation_level'] = 'READ COMMITTED'
                # oslo.db's options size the pool; idle connections above
                # max_pool_size are closed, so many processes on one
                # server do not exhaust its connection limit.
                kwargs['pool_size'] = CONF.database.max_pool_size or 5
                kwargs['max_overflow'] = CONF.database.max_overflow or 15
                kwargs['pool_recycle'] = CONF.database.connection_recycle_time
                if url.get_driver_name() == 'psycopg2':
                    # An UPDATE of many rows (the results of a batch of
                    # actions, in one statement of executemany) goes as
                    # pages of statements, one round trip each, instead
                    # of one round trip per row. (Row counts of such an
                    # executemany are then not reported; nothing reads
                    # them.)
                    kwargs['executemany_mode'] = 'values_plus_batch'
            engine = sa.create_engine(url, **kwargs)
            if url.get_backend_name() == 'sqlite':
                _configure_sqlite(engine)
            else:
                _ping_idle_connections(engine)
                write_buffer.install(engine)
            _sessionmaker = orm.sessionmaker(bind=engine,
                                             expire_on_commit=False)
            _engine = engine
    return _engine


def dispose() -> None:
    """Close all pooled connections (tests, and after fork)."""
    global _engine, _sessionmaker
    with _init_lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _sessionmaker = None


def is_sqlite() -> bool:
    return get_engine().dialect.name == 'sqlite'


# Seconds: the scale of the random, growing waits between attempts.
_RETRY_WAIT = 0.02


def _is_retriable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        text = str(error.orig).lower() if error.orig else str(error).lower()
        return any(s in text for s in (
            'deadlock', 'database is locked', 'could not serialize',
            'lock wait timeout', 'server has gone away',
            'lost connection', 'connection refused', 'too many connections',
            'server closed the connection', 'terminating connection',
            'connection reset', "can't connect"))
    return False


def _warn_retry(name: Any, error: BaseException | None) -> None:
    LOG.warning('Retrying %s after a database error: %s', name, error)


def retry_on_db_error(func: Callable[..., T]) -> Callable[..., T]:
    """Retry a whole transaction on deadlocks and lost connections.

    The decorated function must be safe to repeat: it opens its own
    transaction, so a retry starts from a clean state.
    """
    name = getattr(func, '__name__', func)
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_is_retriable),
        wait=tenacity.wait_random_exponential(multiplier=_RETRY_WAIT,
                                              max=2),
        stop=tenacity.stop_after_delay(60),
        reraise=True,
        before_sleep=lambda rs: _warn_retry(name, rs.outcome.exception()),
    )

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        # The first attempt goes without tenacity: its bookkeeping (a copy
        # of the retrying object and a call state per call) cost more than
        # a small claim's own Python work. Only a failure worth retrying
        # enters the retrying loop, after the loop's first wait.
        try:
            return func(*args, **kwargs)
        except Exception as e:
            if not _is_retriable(e):
                raise
            _warn_retry(name, e)
        time.sleep(random.uniform(0, _RETRY_WAIT))
        return retrying.copy()(func, *args, **kwargs)
    return wrapper


@contextlib.contextmanager
def transaction() -> Iterator[orm.Session]:
    """A session in one transaction: committed on success, else rolled back.

    Integrity errors on unique keys become DBDuplicateEntryError.
    """
    get_engine()
    assert _sessionmaker is not None
    session = _sessionmaker()
    try:
        with session.begin():
            yield session
    except sa_exc.IntegrityError as e:
        raise _to_duplicate_error(e) from e
    finally:
        session.close()


@contextlib.contextmanager
def read_connection() -> Iterator[sa.engine.Connection]:
    """A Core connection for reads only (its transaction is rolled back).

    On SQLite a plain BEGIN (``mistral_read_only``: no write lock). On
    PostgreSQL, under READ COMMITTED, every statement takes its own
    snapshot in a transaction or not: reading without one saves the BEGIN
    and ROLLBACK round trips (a third of a small API read). The driver's
    autocommit flag is switched client-side, without a round trip
    (SQLAlchemy's AUTOCOMMIT isolation level costs one each way), and
    always switched back before the connection returns to the pool.
    """
    engine = get_engine()
    conn = engine.connect().execution_options(mistral_read_only=True)
    try:
        if engine.dialect.name == 'postgresql':
            with _driver_autocommit(conn):
                yield conn
        else:
            yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def _driver_autocommit(conn: sa.engine.Connection) -> Iterator[None]:
    """The PostgreSQL driver's autocommit flag on ``conn`` while inside,
    switched client-side (no round trip) and always switched back: a
    connection that cannot be switched back is not returned to the pool
    (not usable as a transactional connection any more)."""
    raw: Any = conn.connection.dbapi_connection
    raw.autocommit = True
    try:
        yield
    finally:
        try:
            raw.autocommit = False
        except Exception:
            conn.invalidate()


@contextlib.contextmanager
def read_session() -> Iterator[orm.Session]:
    """A session for reads only (see :func:`read_connection`)."""
    with read_connection() as conn:
        assert _sessionmaker is not None
        session = _sessionmaker(bind=conn)
        try:
            yield session
        finally:
            session.rollback()
            session.close()


@contextlib.contextmanager
def autocommit() -> Iterator[sa.engine.Connection]:
    """A Core connection whose statements commit one by one.

    For work that is one atomic statement (a claim with UPDATE ...
    RETURNING): on PostgreSQL it runs without a transaction, which saves
    the BEGIN and COMMIT round trips (the driver's autocommit flag is
    switched client-side, as in :func:`read_connection`). Other databases
    run it in a transaction committed at the end.
    """
    engine = get_engine()
    if engine.dialect.name != 'postgresql':
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn, _driver_autocommit(conn):
        yield conn


def _to_duplicate_error(error: sa_exc.IntegrityError) -> exc.MistralError:
    text = str(error.orig)
    low = text.lower()
    if 'unique' in low or 'duplicate' in low:
        return exc.DBDuplicateEntryError('Duplicate entry: %s' % text)
    return exc.DBError('Database integrity error: %s' % text)


# The lock statements, by (model, SQLite?, columns undeferred, many?).
_LOCK_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _lock_statement(model: type, undefer: tuple[str, ...],
                    many: bool) -> Any:
    """SELECT ... FOR UPDATE of one row by ``lock_id`` or, ``many``, of
    the rows of ``lock_ids`` in id order. Built once per shape: building
    and keying a statement costs more than running it (it runs on every
    engine step)."""
    key = (model, is_sqlite(), undefer, many)
    stmt = _LOCK_STATEMENTS.get(key)
    if stmt is None:
        if many:
            stmt = sa.select(model).where(
                model.id.in_(sa.bindparam('lock_ids', expanding=True))
            ).order_by(model.id)
        else:
            stmt = sa.select(model).where(
                model.id == sa.bindparam('lock_id'))
        if undefer:
            stmt = stmt.options(*(orm.undefer(getattr(model, column))
                                  for column in undefer))
        if not key[1]:
            stmt = stmt.with_for_update()
        _LOCK_STATEMENTS[key] = stmt
    return stmt


def lock_many_for_update(session: orm.Session, model: type,
                         ids: list[str], undefer: tuple[str, ...] = ()
                         ) -> list[Any]:
    """Load several rows and lock them until the transaction ends, in one
    statement, in the order of their ids (as lock_for_update one at a time
    in that order would: two transactions wanting some of the same rows
    wait for each other, never in a circle)."""
    stmt = _lock_statement(model, undefer, many=True)
    return list(session.execute(stmt, {'lock_ids': ids}).scalars())


def lock_for_update(session: orm.Session, model: type, id_: str,
                    undefer: tuple[str, ...] = ()) -> Any:
    """Load one row and lock it until the transaction ends.

    Every change to a workflow execution's tasks happens under the lock of
    that execution's row, so two engines never decide for the same workflow
    at the same time. SQLite has no row locks; BEGIN IMMEDIATE already made
    this transaction the only writer.
    """
    stmt = _lock_statement(model, undefer, many=False)
    return session.execute(stmt, {'lock_id': id_}).scalar_one_or_none()

