"""The upstream database, read in one read-only snapshot.

Every read of a pass goes through one connection and one transaction:

* PostgreSQL: ``REPEATABLE READ`` and ``default_transaction_read_only``,
  so the whole pass sees the database as it was when the pass began, and
  the server refuses any write;
* MySQL/MariaDB: ``REPEATABLE READ`` (a consistent snapshot from the first
  read) in a ``READ ONLY`` session;
* SQLite: the file opened read-only (``mode=ro``) in one read
  transaction.

Upstream's schema may come from its Alembic migrations or from its models
(its only way on SQLite); they differ in a few columns, so columns are
read by name, those missing come back as None.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any, Iterable, Iterator, Sequence

import sqlalchemy as sa

from mistral.db.migration import readonly
from mistral.db.migration import schema_state

# Upstream 23.0.0's last revision (when its migrations built the schema).
UPSTREAM_HEAD = '045'

# Tables copied, and upstream's tables that are reported as not copied.
COPIED_TABLES = (
    'workbooks_v2', 'workflow_definitions_v2', 'action_definitions_v2',
    'environments_v2', 'code_sources', 'dynamic_action_definitions',
    'resource_members_v2', 'cron_triggers_v2', 'event_triggers_v2',
    'mistral_metrics', 'workflow_executions_v2', 'task_executions_v2',
    'action_executions_v2')
NOT_COPIED_TABLES = {
    'delayed_calls_v2': 'timers of upstream\'s engine (they name its '
                        'Python functions)',
    'scheduled_jobs_v2': 'jobs of upstream\'s scheduler (they name its '
                         'Python functions)',
    'named_locks': 'locks of upstream\'s engine (empty when idle)',
    'executions_v2': 'the single executions table of releases before '
                     '2016, left in place by upstream\'s migrations',
}
# Tables the source must have to be read at all.
REQUIRED_TABLES = ('workflow_definitions_v2', 'workflow_executions_v2',
                   'task_executions_v2', 'action_executions_v2')

IN_CHUNK = 500


class SourceError(RuntimeError):
    """The source cannot be imported (what and why in the message)."""


class Source:
    """One read-only snapshot of an upstream database (a context manager).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = readonly.engine(url)
        except readonly.UnsupportedDatabase as e:
            raise SourceError(str(e)) from e
        self.conn: sa.Connection | None = None
        self.tables: dict[str, sa.Table] = {}
        self.revision: str | None = None
        self.built_by = ''
        # The source server's clock when the snapshot began (UTC, naive).
        self.snapshot_time: datetime.datetime | None = None

    def __enter__(self) -> Source:
        try:
            self.conn = self.engine.connect()
        except sa.exc.DBAPIError as e:
            self.engine.dispose()
            raise SourceError('Cannot connect to the source %s: %s' % (
                readonly.redact(self.url), e.orig or e)) from e
        self.conn.begin()
        self._inspect()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.conn is not None:
            try:
                self.conn.rollback()
            finally:
                self.conn.close()
        self.engine.dispose()

    # -- what the source is

    def _inspect(self) -> None:
        conn = self.conn
        assert conn is not None
        names = set(sa.inspect(conn).get_table_names())
        kind = schema_state.classify(names)
        if kind == schema_state.OURS:
            raise SourceError(
                'The source %s is a database of this service, not of '
                'upstream OpenStack Mistral.' % readonly.redact(self.url))
        if kind in (schema_state.EMPTY, schema_state.FOREIGN):
            raise SourceError(
                'The source %s holds no OpenStack Mistral schema.'
                % readonly.redact(self.url))
        if kind == schema_state.MIXED:
            raise SourceError(
                'The source %s has tables of both upstream Mistral and this '
                'service; import from an upstream database only.'
                % readonly.redact(self.url))
        missing = [t for t in REQUIRED_TABLES if t not in names]
        if missing:
            raise SourceError('The source %s lacks the tables %s.' % (
                readonly.redact(self.url), ', '.join(missing)))
        if 'alembic_version' in names:
            self.revision = conn.execute(sa.text(
                'SELECT version_num FROM alembic_version')).scalar()
            self.built_by = 'migrations'
            if self.revision != UPSTREAM_HEAD:
                raise SourceError(
                    'The source %s is at upstream schema revision %s; this '
                    'import reads upstream 23.0.0 (revision %s). Upgrade it '
                    'with upstream\'s own "mistral-db-manage upgrade head" '
                    'first (after a backup).' % (readonly.redact(self.url),
                                                 self.revision,
                                                 UPSTREAM_HEAD))
        else:
            self.built_by = 'models'
        md = sa.MetaData()
        for name in COPIED_TABLES + tuple(NOT_COPIED_TABLES):
            if name in names:
                self.tables[name] = sa.Table(name, md, autoload_with=conn)
        self.snapshot_time = self._clock()

    def _clock(self) -> datetime.datetime:
        conn = self.conn
        assert conn is not None
        backend = self.engine.dialect.name
        now = datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None)
        try:
            if backend == 'postgresql':
                value = conn.execute(sa.text(
                    "SELECT now() AT TIME ZONE 'UTC'")).scalar()
            elif backend in ('mysql', 'mariadb'):
                value = conn.execute(sa.text('SELECT UTC_TIMESTAMP()')
                                     ).scalar()
            else:
                value = now
        except sa.exc.DBAPIError:
            value = now
        if not isinstance(value, datetime.datetime):
            value = now
        # Rows are stamped by upstream's hosts, whose clocks may be ahead
        # of the database's: take the later of the two.
        return max(value.replace(tzinfo=None), now)

    def has(self, table: str) -> bool:
        return table in self.tables

    def columns(self, table: str) -> list[str]:
        return [c.name for c in self.tables[table].columns]

    # -- reads

    def _cols(self, table: str, columns: Sequence[str] | None
              ) -> list[sa.ColumnElement]:
        t = self.tables[table]
        if columns is None:
            return list(t.columns)
        return [t.c[c] for c in columns if c in t.c]

    def rows(self, table: str, columns: Sequence[str] | None = None,
             where: Any = None, order_by: Any = None
             ) -> list[dict[str, Any]]:
        """Rows as dicts (missing columns as None)."""
        assert self.conn is not None
        if table not in self.tables:
            return []
        t = self.tables[table]
        stmt = sa.select(*self._cols(table, columns))
        if where is not None:
            stmt = stmt.where(where(t) if callable(where) else where)
        if order_by is not None:
            stmt = stmt.order_by(*order_by(t))
        wanted = list(columns) if columns is not None else [
            c.name for c in t.columns]
        out = []
        for row in self.conn.execute(stmt).mappings():
            out.append({c: row.get(c) for c in wanted})
        return out

    def scan(self, table: str, columns: Sequence[str],
             where: Any = None) -> list[sa.Row]:
        """Rows as tuples with attribute access (lighter than :meth:`rows`
        for scans of many rows); missing columns come back as None."""
        assert self.conn is not None
        if table not in self.tables:
            return []
        t = self.tables[table]
        cols = [t.c[c] if c in t.c else sa.null().label(c) for c in columns]
        stmt = sa.select(*cols)
        if where is not None:
            stmt = stmt.where(where(t))
        return list(self.conn.execute(stmt))

    def rows_in(self, table: str, column: str, values: Iterable[Any],
                columns: Sequence[str] | None = None,
                extra: Any = None) -> list[dict[str, Any]]:
        """Rows whose ``column`` is one of ``values`` (chunked)."""
        values = list(dict.fromkeys(v for v in values if v is not None))
        out: list[dict[str, Any]] = []
        if table not in self.tables or column not in self.tables[table].c:
            return out
        for chunk in chunks(values, IN_CHUNK):
            def where(t, chunk=chunk):
                cond = t.c[column].in_(chunk)
                return cond if extra is None else sa.and_(cond, extra(t))
            out += self.rows(table, columns, where)
        return out

    def count(self, table: str) -> int:
        assert self.conn is not None
        if table not in self.tables:
            return 0
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(
            self.tables[table])).scalar() or 0)

    def scalars(self, table: str, column: str, where: Any = None
                ) -> list[Any]:
        return [r[column] for r in self.rows(table, [column], where)]


redact = readonly.redact


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


@contextlib.contextmanager
def opened(url: str) -> Iterator[Source]:
    with Source(url) as src:
        yield src
