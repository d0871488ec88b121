"""Pooled connections the server dropped are replaced, not used.

Connections idle for a while are pinged before use; one dropped while in
steady use fails its transaction, which retry_on_db_error runs again on a
new connection.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.tests.functional import harness

_KILL = {
    'postgresql': "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE datname = '%s' AND pid <> pg_backend_pid()",
    'mysql': "SELECT id FROM information_schema.processlist "
             "WHERE db = '%s' AND id <> CONNECTION_ID()",
}


@pytest.fixture(params=['postgresql', 'mysql'])
def db(request):
    with harness.in_process_database(request.param) as database:
        yield database


def _drop_server_side(database) -> int:
    name = sa.engine.make_url(database.url).database
    rows = database.execute(_KILL[db_api.get_engine().dialect.name] % name)
    if db_api.get_engine().dialect.name == 'mysql':
        for (conn_id,) in rows:
            database.execute('KILL %d' % conn_id)
    return len(rows)


def _backend_id() -> int:
    with db_api.transaction() as s:
        if db_api.get_engine().dialect.name == 'postgresql':
            return s.execute(sa.text('SELECT pg_backend_pid()')).scalar()
        return s.execute(sa.text('SELECT CONNECTION_ID()')).scalar()


def test_an_idle_dropped_connection_is_pinged_and_replaced(db,
                                                           monkeypatch):
    monkeypatch.setattr(db_api, 'PING_AFTER_IDLE_SECONDS', 0.2)
    first = _backend_id()
    assert _drop_server_side(db) >= 1
    time.sleep(0.5)
    # No error: the ping found the connection dead and took a new one.
    assert _backend_id() != first


def test_a_busy_dropped_connection_fails_once_then_retries(db,
                                                           monkeypatch):
    monkeypatch.setattr(db_api, 'PING_AFTER_IDLE_SECONDS', 3600)
    first = _backend_id()
    assert _drop_server_side(db) >= 1
    calls = []

    @db_api.retry_on_db_error
    def work() -> int:
        calls.append(1)
        return _backend_id()

    assert work() != first
    assert len(calls) == 2


def test_reads_run_outside_a_transaction_and_leave_none_behind(db) -> None:
    """On PostgreSQL a read session takes no transaction (no BEGIN and
    ROLLBACK round trips); the pooled connection it used is transactional
    again afterwards, so a write session on it still rolls back as one."""
    with db_api.transaction() as s:
        s.execute(sa.text('CREATE TABLE probe (v INTEGER)'))
    postgres = db_api.get_engine().dialect.name == 'postgresql'
    with db_api.read_session() as s:
        rows = s.execute(sa.text('SELECT count(*) FROM probe')).scalar()
        assert rows == 0
        if postgres:
            # now() is the start of the transaction: equal to the
            # statement's own start time only outside a transaction block.
            assert s.execute(sa.text(
                'SELECT now() = statement_timestamp()')).scalar() is True
            raw = s.connection().connection.dbapi_connection
            assert raw.autocommit is True
    with pytest.raises(RuntimeError):
        with db_api.transaction() as s:
            s.execute(sa.text('INSERT INTO probe VALUES (1)'))
            if postgres:
                assert s.connection().connection.dbapi_connection \
                    .autocommit is False
            raise RuntimeError('roll back')
    with db_api.read_session() as s:
        assert s.execute(sa.text('SELECT count(*) FROM probe')).scalar() \
            == 0
