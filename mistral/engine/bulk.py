"""Rows inserted in bulk at the last useful moment.

Inline actions of a large with-items task create thousands of action
executions in one transaction. Building an ORM object for each costs more
than running the action, so they are kept as plain rows and inserted with
one multi-row INSERT: before the next statement of the transaction that
could read them (any ORM-executed statement but an insert) and at the end
of the unit of work. Deletions of waiting with-items elements are gathered
the same way.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import orm

# Imported first so its before_flush check (length/NUL of new rows) is
# registered before, and runs before, the direct insert below.
from mistral.db import field_limits  # noqa: F401
from mistral.db import models
from mistral.db import write_buffer

_KEY = 'mistral_pending_rows'
_DELETES = 'mistral_pending_deletes'


def add(session: orm.Session, model: type, row: dict[str, Any]) -> None:
    session.info.setdefault(_KEY, []).append((model, row))


def pending_rows(session: orm.Session, model: type) -> dict[str, Any]:
    """{id: row} of the rows of ``model`` added with :func:`add` and not
    inserted yet (they may still be changed)."""
    return {row.get('id'): row for m, row in session.info.get(_KEY) or ()
            if m is model}


def delete_item_later(session: orm.Session, model: type[Any], task_ex_id: str,
                      item_index: int) -> None:
    """Delete the row (``task_execution_id``, ``item_index``) of ``model``
    with the others of this transaction, in one statement (a with-items
    task with a concurrency launches one waiting element per completion)."""
    session.info.setdefault(_DELETES, {}).setdefault(
        (model, task_ex_id), []).append(item_index)


def flush(session: orm.Session) -> None:
    deletes = session.info.pop(_DELETES, None)
    for (model, task_ex_id), indexes in (deletes or {}).items():
        session.execute(
            sa.delete(model).where(model.task_execution_id == task_ex_id,
                                   model.item_index.in_(indexes))
            .execution_options(synchronize_session=False,
                               **{write_buffer.HOLD: True}))
    pending = session.info.pop(_KEY, None)
    if not pending:
        return
    # Their parents (task executions) may still be unflushed ORM objects.
    session.flush()
    # One executemany per model and set of columns (some rows of a model
    # may carry more: an executor's claim of the actions it takes).
    by_shape: dict[tuple[type[Any], tuple[str, ...]],
                   list[dict[str, Any]]] = {}
    for model, row in pending:
        by_shape.setdefault((model, tuple(row)), []).append(row)
    conn = session.connection()
    for (model, _columns), rows in by_shape.items():
        conn.execute(_statement(model, 'insert'), rows)


@event.listens_for(orm.Session, 'do_orm_execute')
def _before_statement(state: orm.ORMExecuteState) -> None:
    info = state.session.info
    if (info.get(_KEY) or info.get(_DELETES)) and not state.is_insert:
        flush(state.session)


# New workflow and task executions are inserted with Core statements built
# from their attributes instead of by the ORM's unit of work, whose
# per-object bookkeeping was a third of the engine's CPU for a small
# workflow. Parents first (tasks reference their workflow execution).
_DIRECT = ('WorkflowExecution', 'TaskExecution')


def _default(column: Any) -> Any:
    default = column.default
    if default is None:
        return None
    if default.is_callable:
        return default.arg(None)
    return default.arg


_statements: dict[tuple[type, str], Any] = {}


def _statement(cls: type, kind: str) -> Any:
    """The INSERT or UPDATE (by id) of ``cls``'s table, built once; the
    columns written follow the parameters given."""
    stmt = _statements.get((cls, kind))
    if stmt is None:
        table: Any = cls.__table__  # type: ignore[attr-defined]
        if kind == 'insert':
            stmt = table.insert()
        else:
            stmt = table.update().where(table.c.id == sa.bindparam('_pk'))
        # Nobody reads their row counts: they may go with the next
        # statement (mistral.db.write_buffer).
        stmt = stmt.execution_options(**{write_buffer.HOLD: True})
        _statements[(cls, kind)] = stmt
    return stmt


def insert_new(session: orm.Session) -> None:
    """Insert the session's new workflow/task executions directly; they
    stay in the session as persistent objects (later changes are UPDATEs
    of the next flush, as before)."""
    if not session.new:
        return
    groups: dict[str, list[Any]] = {}
    for obj in session.new:
        name = type(obj).__name__
        if name in _DIRECT:
            groups.setdefault(name, []).append(obj)
    if not groups:
        return
    conn = session.connection()
    for name in _DIRECT:
        objs = groups.get(name)
        if not objs:
            continue
        cls = type(objs[0])
        plan = models.table_columns(cls).items()
        rows = []
        for obj in objs:
            values = obj.__dict__
            row = {}
            for key, column in plan:
                if key in values:
                    row[column.key] = values[key]
                else:
                    # Set on the object too: an attribute left unset would
                    # be expired once persistent (a SELECT on first read).
                    value = _default(column)
                    setattr(obj, key, value)
                    row[column.key] = value
            rows.append(row)
        conn.execute(_statement(cls, 'insert'), rows)
        for obj in objs:
            session.expunge(obj)
            orm.make_transient_to_detached(obj)
            session.add(obj)


_NO_VALUE = (orm.base.NO_VALUE, orm.base.NEVER_SET)


def _changes(state: Any, columns: dict[str, Any]
             ) -> dict[str, Any] | None:
    """{column key: new value} of a persistent object's changed columns;
    None when the ORM must write it (a relationship or an attribute not
    loaded changed)."""
    changes = {}
    values = state.dict
    for key, old in state.committed_state.items():
        column = columns.get(key)
        if column is None or key not in values:
            return None
        new = values[key]
        if old in _NO_VALUE or not column.type.compare_values(old, new):
            changes[column.key] = new
    return changes


def update_dirty(session: orm.Session) -> None:
    """Write the session's changed workflow/task executions with Core
    UPDATEs (those with the same changed columns in one executemany) and
    mark them clean, as a flush would: one statement per row as the unit
    of work issues, without its per-object bookkeeping (in a chain step,
    a task and its workflow execution change; the unit of work's flush of
    the two cost more CPU than the rest of writing the step)."""
    dirty = [o for o in session.dirty if type(o).__name__ in _DIRECT]
    if not dirty:
        return
    groups: dict[tuple[type, tuple[str, ...]], list[Any]] = {}
    written = []
    for obj in dirty:
        cls = type(obj)
        columns = models.table_columns(cls)
        state = sa.inspect(obj)
        if state.deleted or not state.persistent:
            continue
        changes = _changes(state, columns)
        if changes is None:
            continue  # left to the unit of work
        written.append(state)
        if changes:
            changes['_pk'] = obj.id
            key = (cls, tuple(sorted(changes)))
            groups.setdefault(key, []).append(changes)
    conn = session.connection() if groups else None
    for (cls, _keys), rows in groups.items():
        assert conn is not None
        conn.execute(_statement(cls, 'update'), rows)
    for state in written:
        state._commit_all(state.dict, session.identity_map)


@event.listens_for(orm.Session, 'before_flush')
def _insert_new_directly(session: orm.Session, _context: Any,
                         _instances: Any) -> None:
    insert_new(session)
    update_dirty(session)
