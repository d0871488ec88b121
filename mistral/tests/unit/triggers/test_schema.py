"""The migrated schema and the models agree, on every backend."""

from __future__ import annotations

import tempfile

import pytest
from alembic import autogenerate
from alembic import migration
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db import models
from mistral.db.migration import cli as db_cli
from mistral.db.migration import schema_state
from mistral.tests.functional import harness

CONF = cfg.CONF


@pytest.fixture(params=['sqlite', 'postgresql', 'mysql'])
def migrated(request):
    tmp = tempfile.mkdtemp(prefix='mistral-schema-test-')
    db = harness.make_database(request.param, tmp)
    db.create()
    CONF.set_override('connection', db.url, group='database')
    db_api.dispose()
    try:
        db_cli.upgrade('head')
        yield db_api.get_engine()
    finally:
        db_api.dispose()
        db.drop()


def _diff(engine) -> list:
    with engine.connect() as conn:
        ctx = migration.MigrationContext.configure(
            conn, opts={'compare_type': True,
                        'version_table': schema_state.VERSION_TABLE})
        return autogenerate.compare_metadata(ctx, models.Base.metadata)


def test_models_match_migrations(migrated):
    assert _diff(migrated) == []


def test_trigger_tables_exist(migrated):
    import sqlalchemy as sa

    names = set(sa.inspect(migrated).get_table_names())
    assert {'cron_triggers_v2', 'event_triggers_v2'} <= names


def test_diff_detects_a_missing_table(migrated):
    # The comparison is able to fail: drop a table and it reports it.
    import sqlalchemy as sa

    with migrated.begin() as conn:
        conn.execute(sa.text('DROP TABLE event_triggers_v2'))
    assert any(d[0] == 'add_table' for d in _diff(migrated))
