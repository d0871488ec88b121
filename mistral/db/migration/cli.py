"""Schema migrations (Alembic): the configuration, the checks before any
command, and the upgrade the embedded default runs at start.

The ``mistral-db-manage`` command line is :mod:`mistral.cmd.db_manage`
(it also installs pre-installed content, which needs the services: the
database layer does not import them).
"""

from __future__ import annotations

import os

from alembic import command as alembic_cmd
from alembic import config as alembic_config
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db.migration import schema_state

CONF = cfg.CONF


def alembic_cfg() -> alembic_config.Config:
    ini = os.path.join(os.path.dirname(__file__), 'alembic.ini')
    config = alembic_config.Config(ini)
    config.set_main_option('sqlalchemy.url',
                           CONF.database.connection.replace('%', '%%'))
    return config


def prepare_database() -> None:
    """Refuse an upstream database; move a database of ours off the old
    shared version table. Nothing else is changed."""
    # Looked at read-only first: opening an upstream SQLite file with our
    # engine would already change it (WAL mode).
    schema_state.refuse_upstream(CONF.database.connection)
    with db_api.get_engine().begin() as conn:
        schema_state.adopt_legacy_version_table(conn)


def upgrade(revision: str = 'head') -> None:
    """Bring the schema to ``revision`` (used by the embedded default too).

    Raises :class:`schema_state.UpstreamDatabaseError` on a database of
    upstream Mistral, which it leaves untouched.
    """
    prepare_database()
    alembic_cmd.upgrade(alembic_cfg(), revision)
