"""What a database holds, told from its tables before Alembic reads it.

Alembic only knows revision ids, and ids alone cannot tell our schema
from upstream OpenStack Mistral's: both kept them in ``alembic_version``
(upstream: ``001``..``045``; ours were ``001``..``004``). So:

* our revisions are recorded in a table of our own,
  :data:`VERSION_TABLE`; a database of ours that still has the old
  ``alembic_version`` is moved over transparently
  (:func:`adopt_legacy_version_table`, run by ``upgrade`` and by
  :func:`status`);
* a database is recognised as upstream's by its tables (it has
  upstream's scheduler and lock tables and none of our engine's), never by
  a revision id, and nothing touches it but ``import-upstream``, which only
  reads it (:func:`refuse_upstream`).
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

# Where our Alembic revisions are recorded (not upstream's table name).
VERSION_TABLE = 'mistral_alembic_version'
LEGACY_VERSION_TABLE = 'alembic_version'

# Tables only upstream Mistral creates: its scheduler, named locks and the
# pre-2016 single executions table (left in place by its migrations).
UPSTREAM_ONLY_TABLES = ('delayed_calls_v2', 'scheduled_jobs_v2',
                        'named_locks', 'executions_v2')
# Tables only our schema has (present since our first revision).
OURS_ONLY_TABLES = ('outbox', 'with_items_pending')
# The revision ids our chain used while it lived in alembic_version.
LEGACY_REVISIONS = ('001', '002', '003', '004')

EMPTY = 'empty'
OURS = 'ours'
UPSTREAM = 'upstream'
MIXED = 'mixed'
FOREIGN = 'foreign'


class UpstreamDatabaseError(RuntimeError):
    """The configured database is upstream Mistral's (or a mix)."""


@dataclasses.dataclass(frozen=True)
class SchemaStatus:
    """What :func:`status` found."""

    kind: str                       # EMPTY, OURS, UPSTREAM, MIXED, FOREIGN
    current: str | None             # our revision, None if unversioned
    head: str                       # the newest revision we ship
    tables: frozenset[str]

    @property
    def behind(self) -> bool:
        """Ours, and older than this code (``upgrade head`` needed)."""
        return self.kind in (OURS, EMPTY) and self.current != self.head


def classify(tables: set[str] | frozenset[str]) -> str:
    """The kind of database these table names belong to."""
    upstream = tables & set(UPSTREAM_ONLY_TABLES)
    ours = tables & set(OURS_ONLY_TABLES)
    if upstream and ours:
        return MIXED
    if upstream:
        return UPSTREAM
    if ours:
        return OURS
    mistral_tables = {'workflow_definitions_v2', 'workflow_executions_v2'}
    if tables & mistral_tables:
        # Mistral's tables without either side's own: not something we
        # can tell apart safely, so treated like upstream's.
        return UPSTREAM
    if tables - {VERSION_TABLE, LEGACY_VERSION_TABLE}:
        return FOREIGN
    return EMPTY


def head_revision() -> str:
    from alembic import script

    from mistral.db.migration import cli

    return script.ScriptDirectory.from_config(cli.alembic_cfg()
                                              ).get_current_head()


def _current(conn: sa.Connection, tables: set[str]) -> str | None:
    if VERSION_TABLE not in tables:
        return None
    return conn.execute(sa.text(
        'SELECT version_num FROM %s' % VERSION_TABLE)).scalar()


def adopt_legacy_version_table(conn: sa.Connection) -> bool:
    """Move the revision of a database of ours from ``alembic_version``
    to :data:`VERSION_TABLE`; True if it did.

    Idempotent and safe to repeat after a crash (MariaDB commits DDL at
    once): the new table is written before the old one is dropped, and a
    leftover old table is dropped only if it holds one of our ids.
    """
    insp = sa.inspect(conn)
    tables = set(insp.get_table_names())
    if LEGACY_VERSION_TABLE not in tables or classify(tables) != OURS:
        return False
    legacy = conn.execute(sa.text(
        'SELECT version_num FROM %s' % LEGACY_VERSION_TABLE)).scalars().all()
    if len(legacy) > 1 or any(v not in LEGACY_REVISIONS for v in legacy):
        raise UpstreamDatabaseError(
            'The table alembic_version of this database holds %s, which '
            'is not a revision of this service (%s); refusing to guess '
            'what the schema is.' % (', '.join(legacy) or 'nothing',
                                     ', '.join(LEGACY_REVISIONS)))
    if VERSION_TABLE not in tables:
        version = sa.Table(VERSION_TABLE, sa.MetaData(), sa.Column(
            'version_num', sa.String(32), primary_key=True))
        version.create(conn)
        if legacy:
            conn.execute(version.insert().values(version_num=legacy[0]))
    conn.execute(sa.text('DROP TABLE %s' % LEGACY_VERSION_TABLE))
    return True


def _redact(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def upstream_message(url: str, tables: set[str] | frozenset[str],
                     kind: str = UPSTREAM) -> str:
    found = ', '.join(sorted(tables & set(UPSTREAM_ONLY_TABLES))) or \
        'workflow_executions_v2 without our engine tables'
    what = ('was created by OpenStack Mistral (upstream)' if kind == UPSTREAM
            else 'has tables of both OpenStack Mistral (upstream) and this '
            'service')
    return (
        'The database %(url)s %(what)s: it has %(found)s. This service '
        'does not use such a database in place, and nothing was changed '
        'in it. Back it up first (pg_dump, mysqldump or a copy of the '
        'SQLite file). Then point [database] connection at a new, empty '
        'database, build its schema with "mistral-db-manage upgrade head" '
        'and copy the upstream data with "mistral-db-manage '
        'import-upstream --from %(url)s" (which only reads it); see '
        '"Migrating from OpenStack Mistral" in the admin guide.'
        % {'url': _redact(url), 'what': what, 'found': found})


def look(url: str) -> tuple[str, frozenset[str]]:
    """The kind and tables of the database at ``url``, read through an
    engine that cannot change it (see :mod:`.readonly`)."""
    from mistral.db.migration import readonly

    try:
        eng = readonly.engine(url)
    except readonly.MissingDatabase:
        return EMPTY, frozenset()
    except readonly.UnsupportedDatabase:
        # Not ours to judge (e.g. an in-memory SQLite database): empty.
        return EMPTY, frozenset()
    try:
        with eng.connect() as conn:
            tables = frozenset(sa.inspect(conn).get_table_names())
    finally:
        eng.dispose()
    return classify(tables), tables


def refuse_upstream(url: str) -> None:
    """Raise :class:`UpstreamDatabaseError` if the database at ``url`` is
    upstream's (or holds both schemas); it is only looked at."""
    kind, tables = look(url)
    if kind in (UPSTREAM, MIXED):
        raise UpstreamDatabaseError(upstream_message(url, tables, kind))


def status(engine: sa.engine.Engine | None = None,
           adopt: bool = True) -> SchemaStatus:
    """The schema of the configured database (or ``engine``'s).

    With ``adopt`` (the default) a database of ours still versioned in
    ``alembic_version`` is moved to our own version table first, so that
    callers (server start, ``upgrade``) see its true revision. Upstream
    databases are only looked at (through a read-only engine), never
    opened with ``engine``.
    """
    from mistral.db import api as db_api

    if engine is None:
        engine = db_api.get_engine()
    kind, tables = look(engine.url.render_as_string(hide_password=False))
    if kind in (UPSTREAM, MIXED):
        return SchemaStatus(kind=kind, current=None, head=head_revision(),
                            tables=tables)
    with engine.begin() as conn:
        if adopt:
            adopt_legacy_version_table(conn)
        tables = set(sa.inspect(conn).get_table_names())
        current = _current(conn, tables)
    return SchemaStatus(kind=classify(tables), current=current,
                        head=head_revision(), tables=frozenset(tables))

