"""mistral-db-manage on an upstream database (refused, untouched) and on a
database of ours still versioned in alembic_version (adopted)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from typing import Iterator

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db.migration import cli as db_cli
from mistral.db.migration import schema_state
from mistral.tests.unit.upstream_import import fake_upstream

CONF = cfg.CONF


def manage(conf: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, '-m', 'mistral.cmd.db_manage', '--config-file',
         conf, *args], capture_output=True, text=True, timeout=120,
        check=False)


def _conf(tmp_path, url: str) -> str:
    path = str(tmp_path / 'm.conf')
    with open(path, 'w') as f:
        f.write('[database]\nconnection = %s\n' % url)
    return path


def _digest(path: str) -> str:
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize('built_by', ['models', 'migrations'])
def test_upstream_database_refused_and_untouched(tmp_path, built_by) -> None:
    path = str(tmp_path / 'upstream.sqlite')
    up = fake_upstream.Upstream(path, built_by=built_by)
    up.workflow()
    conf = _conf(tmp_path, up.url)
    before, tables = _digest(path), _tables(up.url)
    for args in (['upgrade', 'head'], ['current'], ['stamp', 'head'],
                 ['downgrade', '-1'], ['populate']):
        proc = manage(conf, *args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        err = proc.stderr
        assert 'was created by OpenStack Mistral (upstream)' in err, err
        assert 'Back it up first' in err
        assert 'mistral-db-manage import-upstream --from %s' % up.url in err
        assert 'Traceback' not in err
    assert _digest(path) == before
    assert _tables(up.url) == tables
    assert not os.path.exists(path + '-wal')


def test_both_schemas_refused(tmp_path) -> None:
    path = str(tmp_path / 'mixed.sqlite')
    up = fake_upstream.Upstream(path)
    with up.engine.begin() as conn:
        conn.execute(sa.text('CREATE TABLE outbox (id VARCHAR(36))'))
    proc = manage(_conf(tmp_path, up.url), 'upgrade', 'head')
    assert proc.returncode == 1
    assert 'has tables of both OpenStack Mistral (upstream) and this ' \
        'service' in proc.stderr


def _legacy(url: str, revision: str) -> None:
    """Turn a database of ours into what our revisions 001..004 left: the
    version in alembic_version."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text('DROP TABLE %s' %
                                 schema_state.VERSION_TABLE))
            conn.execute(sa.text('CREATE TABLE alembic_version (version_num '
                                 'VARCHAR(32) NOT NULL PRIMARY KEY)'))
            conn.execute(sa.text('INSERT INTO alembic_version VALUES (:v)'),
                         {'v': revision})
            if revision == '003':
                conn.execute(sa.text('DROP TABLE notification_deliveries'))
    finally:
        engine.dispose()


def _version(url: str) -> tuple[set[str], str | None]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            version = None
            if schema_state.VERSION_TABLE in tables:
                version = conn.execute(sa.text(
                    'SELECT version_num FROM %s' %
                    schema_state.VERSION_TABLE)).scalar()
            return tables, version
    finally:
        engine.dispose()


def test_our_legacy_version_table_adopted_by_upgrade(tmp_path) -> None:
    url = 'sqlite:///' + str(tmp_path / 'ours.sqlite')
    conf = _conf(tmp_path, url)
    assert manage(conf, 'upgrade', 'head').returncode == 0
    _legacy(url, '003')
    proc = manage(conf, 'upgrade', 'head')
    assert proc.returncode == 0, proc.stderr
    tables, version = _version(url)
    assert 'alembic_version' not in tables
    assert 'notification_deliveries' in tables        # 004 ran
    assert version == schema_state.head_revision()
    proc = manage(conf, 'current')
    assert proc.returncode == 0
    assert schema_state.head_revision() in proc.stdout + proc.stderr


@pytest.fixture
def configured(tmp_path) -> Iterator[str]:
    url = 'sqlite:///' + str(tmp_path / 'ours.sqlite')
    CONF.set_override('connection', url, group='database')
    db_api.dispose()
    try:
        yield url
    finally:
        db_api.dispose()


def test_server_start_status_adopts_legacy_table(configured) -> None:
    db_cli.upgrade('head')
    db_api.dispose()
    _legacy(configured, '004')
    status = schema_state.status()
    assert status.kind == schema_state.OURS
    assert status.current == '004' and not status.behind
    tables, version = _version(configured)
    assert 'alembic_version' not in tables and version == '004'


def test_status_of_an_upstream_database_changes_nothing(tmp_path) -> None:
    path = str(tmp_path / 'upstream.sqlite')
    up = fake_upstream.Upstream(path, built_by='migrations')
    before = _digest(path)
    CONF.set_override('connection', up.url, group='database')
    db_api.dispose()
    try:
        status = schema_state.status()
    finally:
        db_api.dispose()
    assert status.kind == schema_state.UPSTREAM and status.current is None
    assert _digest(path) == before


def test_unknown_ids_in_alembic_version_refused(configured) -> None:
    db_cli.upgrade('head')
    db_api.dispose()
    _legacy(configured, '045')
    with pytest.raises(schema_state.UpstreamDatabaseError,
                       match='holds 045'):
        db_cli.upgrade('head')


@pytest.mark.parametrize('tables,kind', [
    (set(), schema_state.EMPTY),
    ({'mistral_alembic_version'}, schema_state.EMPTY),
    ({'outbox', 'workflow_executions_v2'}, schema_state.OURS),
    ({'delayed_calls_v2', 'workflow_executions_v2'}, schema_state.UPSTREAM),
    ({'executions_v2'}, schema_state.UPSTREAM),
    ({'workflow_executions_v2'}, schema_state.UPSTREAM),
    ({'named_locks', 'outbox'}, schema_state.MIXED),
    ({'something_else'}, schema_state.FOREIGN),
])
def test_classify(tables, kind) -> None:
    assert schema_state.classify(tables) == kind
