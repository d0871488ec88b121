"""A database of ours still versioned in ``alembic_version`` (what our
revisions 001..004 left) is moved to our own version table when a server
starts on it: on SQLite by the embedded upgrade, on PostgreSQL and
MariaDB by the start's schema check. The server then runs normally."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mistral.db.migration import schema_state
from mistral.tests.functional import harness


def _to_legacy(url: str) -> str:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            version = conn.execute(sa.text(
                'SELECT version_num FROM %s' % schema_state.VERSION_TABLE)
            ).scalar()
            conn.execute(sa.text('DROP TABLE %s' %
                                 schema_state.VERSION_TABLE))
            conn.execute(sa.text('CREATE TABLE alembic_version (version_num '
                                 'VARCHAR(32) NOT NULL PRIMARY KEY)'))
            conn.execute(sa.text('INSERT INTO alembic_version VALUES (:v)'),
                         {'v': version})
        return version
    finally:
        engine.dispose()


@pytest.mark.parametrize('db', ['sqlite', 'postgresql', 'mysql'])
def test_server_start_adopts_the_old_version_table(db: str) -> None:
    dep = harness.Deployment(db=db, transport='fake', processes=[['all']])
    try:
        dep.setup()
        version = _to_legacy(dep.db_url)
        assert version in schema_state.LEGACY_REVISIONS
        dep.start_all()
        client = dep.client()
        client.workflows.create("---\nversion: '2.0'\nv:\n  tasks:\n"
                                "    t:\n      action: std.noop\n")
        ex = client.executions.create('v')
        assert dep.wait_execution(ex.id).state == 'SUCCESS'
        engine = sa.create_engine(dep.db_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                tables = set(sa.inspect(conn).get_table_names())
                now = conn.execute(sa.text(
                    'SELECT version_num FROM %s' %
                    schema_state.VERSION_TABLE)).scalar()
        finally:
            engine.dispose()
        assert 'alembic_version' not in tables
        assert now == version
    finally:
        dep.close()
