"""listing.list_rows: Core selects on a read connection give the rows the
mapped objects hold (fields, filters, nulls, sorting, markers, JSON)."""

from __future__ import annotations

import datetime
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from mistral import exceptions as exc
from mistral.db import api as db_api
from mistral.db import listing
from mistral.db import models
from mistral.db import types as db_types

WfEx = models.WorkflowExecution
COLUMNS = ['id', 'state', 'tags', 'input', 'params', 'updated_at',
           'description', 'task_execution_id', 'accepted', 'created_at']
BASE = datetime.datetime(2026, 1, 1)


def _add_executions() -> None:
    specs = [
        # (project, state, tags, updated_at minutes, description)
        ('p1', 'RUNNING', ['a', 'b'], None, 'first run'),
        ('p1', 'SUCCESS', ['b'], 5, None),
        ('p1', 'ERROR', [], 5, 'third run'),
        ('p1', 'SUCCESS', None, None, 'fourth'),
        ('p1', 'RUNNING', ['a'], 1, 'fifth run'),
        ('p2', 'RUNNING', ['a'], 2, 'other project'),
    ]
    with db_api.transaction() as session:
        for i, (project, state, tags, updated, desc) in enumerate(specs):
            session.add(WfEx(
                id='%08d-0000-4000-8000-000000000000' % (10 - i),
                name='wf', workflow_name='wf', state=state, tags=tags,
                project_id=project, description=desc,
                input={'n': i, 'nested': {'k': [i, None]}},
                params={'env': {}} if i % 2 else None,
                task_execution_id=None if i < 4 else 't-%d' % i,
                accepted=bool(i % 2),
                created_at=BASE + datetime.timedelta(minutes=i),
                updated_at=None if updated is None
                else BASE + datetime.timedelta(minutes=updated)))


def _objects(project: str | None) -> list[dict[str, Any]]:
    """Every row as the ORM loads it, in created_at, id order."""
    with db_api.read_session() as session:
        stmt = sa.select(WfEx).order_by(WfEx.created_at, WfEx.id)
        if project is not None:
            stmt = stmt.where(WfEx.project_id == project)
        return [{c: getattr(o, c) for c in COLUMNS}
                for o in session.execute(stmt).scalars()]


@pytest.fixture
def statements(db: Any) -> Iterator[list[Any]]:
    """The statements run through the engine's connections."""
    seen: list[Any] = []

    def before_execute(conn, clause, multiparams, params, options):
        seen.append(clause)

    engine = db_api.get_engine()
    sa.event.listen(engine, 'before_execute', before_execute)
    yield seen
    sa.event.remove(engine, 'before_execute', before_execute)


def _list(**kw: Any) -> list[dict[str, Any]]:
    kw.setdefault('columns', COLUMNS)
    kw.setdefault('limit', 100)
    kw.setdefault('sort_keys', ['created_at'])
    kw.setdefault('sort_dirs', ['asc'])
    kw.setdefault('project_id', 'p1')
    with db_api.read_connection() as conn:
        return listing.list_rows(conn, WfEx, **kw)


def _pages(keys: list[str], dirs: list[str], **kw: Any
           ) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    marker = None
    while True:
        page = _list(sort_keys=list(keys), sort_dirs=list(dirs), limit=2,
                     marker=marker, **kw)
        rows += page
        if len(page) < 2:
            return rows
        marker = page[-1]['id']


def _null_lowest(rows: list[dict[str, Any]], key: str, desc: bool
                 ) -> list[dict[str, Any]]:
    by_id = sorted(rows, key=lambda r: r['id'])
    # Stable: ties keep id order, also in reverse.
    return sorted(by_id, key=lambda r: (r[key] is not None,
                                        r[key] or BASE), reverse=desc)


@pytest.mark.parametrize('db', ['sqlite', 'postgresql'], indirect=True)
def test_rows_are_the_mapped_objects_values(statements: list[Any]) -> None:
    _add_executions()
    mine = _objects('p1')
    everyone = _objects(None)
    statements.clear()
    assert _list() == mine
    assert _list(insecure=True) == everyone
    # Fields: only those, JSON decoded.
    assert _list(columns=['id', 'tags', 'input']) == [
        {c: r[c] for c in ('id', 'tags', 'input')} for r in mine]
    # Filters and nulls.
    flts = [listing.parse_filter('state', 'in:RUNNING,SUCCESS'),
            listing.parse_filter('tags', 'a'),
            listing.parse_filter('description', 'has:run')]
    assert _list(filters=flts) == [
        r for r in mine if r['state'] in ('RUNNING', 'SUCCESS')
        and 'a' in (r['tags'] or []) and 'run' in (r['description'] or '')]
    assert _list(nulls=['updated_at']) == [
        r for r in mine if r['updated_at'] is None]
    assert _list(filters=[listing.parse_filter('accepted', 'true')]) == [
        r for r in mine if r['accepted']]
    assert _list(filters=[listing.parse_filter(
        'created_at', 'gte:2026-01-01 00:02:00')]) == [
        r for r in mine if r['created_at'] >= BASE.replace(minute=2)]
    assert _list(filters=[listing.parse_filter(
        'params', '{"env": {}}')]) == [r for r in mine if r['params']]
    # Keyset pages over a column holding NULLs, both directions.
    for desc in (False, True):
        d = 'desc' if desc else 'asc'
        assert _pages(['updated_at'], [d]) == _null_lowest(
            mine, 'updated_at', desc)
        assert _pages(['state', 'updated_at'], ['asc', d]) == sorted(
            _null_lowest(mine, 'updated_at', desc), key=lambda r: r['state'])
    # Neither the page nor the marker lookup is an ORM statement: those
    # go through the ORM's compile state and result machinery.
    assert statements
    for stmt in statements:
        assert stmt._propagate_attrs.get('compile_state_plugin') != 'orm'


@pytest.mark.parametrize('db', ['sqlite'], indirect=True)
def test_messages(statements: list[Any]) -> None:
    _add_executions()
    with pytest.raises(exc.InputException,
                       match=r'^Unknown field or filter: nope$'):
        _list(columns=['id', 'nope'])
    with pytest.raises(exc.InputException,
                       match=r'^Unknown field or filter: nope$'):
        _list(sort_keys=['nope'])
    with pytest.raises(exc.InputException,
                       match=r'^Invalid boolean value for accepted: maybe '):
        _list(filters=[listing.parse_filter('accepted', 'maybe')])
    with pytest.raises(exc.DBEntityNotFoundError,
                       match=r'^WorkflowExecution not found \[id=x\]$'):
        _list(marker='x')


@pytest.mark.parametrize('db', ['postgresql'], indirect=True)
def test_postgresql_reads_outside_a_transaction(db: Any) -> None:
    import psycopg2.extensions

    _add_executions()
    with db_api.read_connection() as conn:
        raw = conn.connection.dbapi_connection
        listing.list_rows(conn, WfEx, columns=['id'], limit=5,
                          sort_keys=['created_at'], sort_dirs=['asc'],
                          marker='00000010-0000-4000-8000-000000000000',
                          project_id='p1')
        # No BEGIN was sent, so there is no ROLLBACK to send either.
        assert raw.get_transaction_status() == (
            psycopg2.extensions.TRANSACTION_STATUS_IDLE)
    # Back to transactional before returning to the pool.
    assert raw.autocommit is False
    with db_api.get_engine().connect() as conn:
        assert conn.connection.dbapi_connection.autocommit is False


@pytest.mark.parametrize('db', ['sqlite'], indirect=True)
def test_sqlite_reads_take_no_write_lock(db: Any) -> None:
    sent: list[str] = []

    def before_cursor_execute(conn, cursor, statement, *args):
        sent.append(statement)

    engine = db_api.get_engine()
    sa.event.listen(engine, 'before_cursor_execute', before_cursor_execute)
    try:
        _list()
    finally:
        sa.event.remove(engine, 'before_cursor_execute',
                        before_cursor_execute)
    assert sent[0] == 'BEGIN'


class _Base(orm.DeclarativeBase):
    pass


class _Renamed(_Base):
    """Attributes whose column has another name (and key)."""

    __tablename__ = 'renamed'

    id: orm.Mapped[str] = orm.mapped_column(sa.String(36), primary_key=True)
    label: orm.Mapped[str | None] = orm.mapped_column(
        'label_col', sa.String(20), nullable=True)
    data: orm.Mapped[Any] = orm.mapped_column(
        'data_col', db_types.JsonEncoded(), key='data_key', nullable=True)


def test_attribute_names_map_to_their_columns() -> None:
    engine = sa.create_engine('sqlite://')
    _Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(_Renamed.__table__), [
            {'id': 'a', 'label_col': 'y', 'data_key': {'v': [1]}},
            {'id': 'b', 'label_col': None, 'data_key': None},
            {'id': 'c', 'label_col': 'x', 'data_key': {'v': 'c'}}])
    with engine.connect() as conn:
        def rows(**kw: Any) -> list[dict[str, Any]]:
            return listing.list_rows(
                conn, _Renamed, columns=['id', 'label', 'data'], limit=10,
                sort_keys=['label'], sort_dirs=['asc'], **kw)

        assert rows() == [{'id': 'b', 'label': None, 'data': None},
                          {'id': 'c', 'label': 'x', 'data': {'v': 'c'}},
                          {'id': 'a', 'label': 'y', 'data': {'v': [1]}}]
        assert rows(marker='c') == [
            {'id': 'a', 'label': 'y', 'data': {'v': [1]}}]
        assert [r['id'] for r in rows(filters=[listing.parse_filter(
            'data', '{"v": "c"}')])] == ['c']
        assert [r['id'] for r in rows(nulls=['label'])] == ['b']
        # Fields are the attributes' names, not the columns'.
        for name in ('label_col', 'data_col', 'data_key'):
            with pytest.raises(exc.InputException,
                               match='Unknown field or filter: %s' % name):
                rows(filters=[listing.Filter(name, 'eq', 'x')])
    engine.dispose()
