"""An engine transaction's writes sent together (PostgreSQL, psycopg2).

A chain step ends with writes that nothing in its transaction reads
back: the action's result, the next task, the finished task, the next
action, the outbox rows. Sent one by one, each costs a round trip: the
driver's call, the server's reading of one more message, its answer. On
PostgreSQL this holds such writes (statements marked with the
``mistral_hold`` execution option: INSERTs and UPDATEs whose row counts
nobody reads) and sends them, rendered by the driver, as one message
with the next statement of any other kind (in front of it, so that a
read or an UPDATE ... RETURNING finds them done, in their order; the
driver's cursor keeps the last statement's rows), or at the end of the
unit of work, before the commit.

A write that fails then fails the transaction at the next statement or
at the end instead of at its own: the transaction is rolled back either
way, and the error is the database's, raised through SQLAlchemy as any
other (a duplicate key still becomes DBDuplicateEntryError, a deadlock
is still retried).
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from sqlalchemy import event
from sqlalchemy import orm

CONF = cfg.CONF

# Execution option of a statement whose row count is not read.
HOLD = 'mistral_hold'
# In the DBAPI connection's info: the rendered statements held, while
# this connection's transaction holds writes.
_HELD = 'mistral_held_writes'


class Stats:
    """Statements held (an executemany counts once, as SQLAlchemy's
    statement events count it) and messages that sent held statements,
    for tests and benchmarks (plain counters: exact when one thread
    writes)."""

    messages = 0
    statements = 0

    @classmethod
    def reset(cls) -> None:
        cls.messages = cls.statements = 0


def install(engine: Any) -> None:
    """Hold marked writes on ``engine``'s connections (psycopg2 only: the
    statements are rendered with its ``cursor.mogrify``)."""
    if not _applies(engine.dialect):
        return
    event.listen(engine, 'do_execute', _do_execute)
    event.listen(engine, 'do_executemany', _do_executemany)
    event.listen(engine, 'do_execute_no_params', _do_execute_no_params)
    event.listen(engine, 'rollback', _forget)


def hold(session: orm.Session) -> None:
    """From now on, hold the marked writes of ``session``'s transaction
    (until :func:`release`; a rollback drops them)."""
    # The bind's dialect: no connection taken (on SQLite, no BEGIN
    # IMMEDIATE) before the transaction's first statement needs it.
    if CONF.engine.coalesce_writes and _applies(session.get_bind().dialect):
        session.connection().info[_HELD] = []


def release(session: orm.Session) -> None:
    """Send what is held (the session's own pending changes first) and
    stop holding: what follows, the commit included, goes as usual."""
    conn = session.connection()
    if _HELD not in conn.info:
        return
    session.flush()
    held = conn.info.pop(_HELD)
    if not held:
        return
    # On the driver's own cursor: SQLAlchemy's statement events saw these
    # statements when they were held.
    try:
        with conn.connection.dbapi_connection.cursor() as cursor:
            _send(cursor, held)
    except Exception as e:
        # As SQLAlchemy raises a driver's error for its own statements
        # (IntegrityError, a lost connection invalidated, ...).
        conn._handle_dbapi_exception(e, '(held writes)', None, None, None)
        raise


def _applies(dialect: Any) -> bool:
    return dialect.name == 'postgresql' and dialect.driver == 'psycopg2'


def _held(context: Any) -> list[bytes] | None:
    try:
        info = context.root_connection.info
    except NotImplementedError:
        return None  # the engine's first connection (no pool record yet)
    return info.get(_HELD)


def _send(cursor: Any, held: list[bytes]) -> None:
    # Already rendered, so no parameters: the driver leaves any '%' in
    # them alone. Cleared first: a message that fails is not sent again.
    text = b';'.join(held)
    Stats.messages += 1
    held.clear()
    cursor.execute(text)


def _intercept(cursor: Any, context: Any, render: Any,
               one_message: bool) -> bool | None:
    """Hold this statement (``render()``: its text as the driver would
    send it), or send what is held before it: True when this statement
    needs no execution of its own."""
    held = _held(context)
    if held is None:
        return None
    if context.execution_options.get(HOLD):
        held.extend(render())
        Stats.statements += 1
        return True  # executed, as far as SQLAlchemy is concerned
    if not held:
        return None
    if one_message:
        # In front of this statement, in its message: the cursor then
        # holds this (the last) statement's rows and row count.
        held.extend(render())
        _send(cursor, held)
        return True
    with cursor.connection.cursor() as own:
        _send(own, held)
    return None


def _do_execute(cursor: Any, statement: str, parameters: Any,
                context: Any) -> bool | None:
    return _intercept(cursor, context,
                      lambda: [cursor.mogrify(statement, parameters)], True)


def _do_executemany(cursor: Any, statement: str, parameters: Any,
                    context: Any) -> bool | None:
    # An executemany goes on its own (the driver pages it).
    return _intercept(cursor, context, lambda: [
        cursor.mogrify(statement, p) for p in parameters], False)


def _do_execute_no_params(cursor: Any, statement: str,
                          context: Any) -> bool | None:
    # Never held (nothing marks such a statement), and its text has no
    # parameters to render: what is held goes first, on its own.
    return _intercept(cursor, context, lambda: [statement.encode()], False)


def _forget(conn: Any) -> None:
    if conn.invalidated:
        # What it held is gone with its DBAPI connection (SQLAlchemy
        # clears a connection's info when it replaces it; reading
        # conn.info now would try to reconnect first).
        return
    conn.info.pop(_HELD, None)
