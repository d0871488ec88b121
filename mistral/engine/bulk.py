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
from sqlalchemy import event, orm

_KEY = 'mistral_pending_rows'
_DELETES = 'mistral_pending_deletes'


def add(session: orm.Session, model: type, row: dict[str, Any]) -> None:
    session.info.setdefault(_KEY, []).append((model, row))


def delete_item_later(session: orm.Session, model: Any, task_ex_id: str,
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
            .execution_options(synchronize_session=False))
    pending = session.info.pop(_KEY, None)
    if not pending:
        return
    # Their parents (task executions) may still be unflushed ORM objects.
    session.flush()
    by_model: dict[type, list[dict[str, Any]]] = {}
    for model, row in pending:
        by_model.setdefault(model, []).append(row)
    for model, rows in by_model.items():
        session.execute(model.__table__.insert(), rows)


@event.listens_for(orm.Session, 'do_orm_execute')
def _before_statement(state: orm.ORMExecuteState) -> None:
    info = state.session.info
    if (info.get(_KEY) or info.get(_DELETES)) and not state.is_insert:
        flush(state.session)
