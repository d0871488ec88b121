"""Rows inserted in bulk at the last useful moment.

Inline actions of a large with-items task create thousands of action
executions in one transaction. Building an ORM object for each costs more
than running the action, so they are kept as plain rows and inserted with
one multi-row INSERT: before the next statement of the transaction that
could read them (any ORM-executed statement but an insert) and at the end
of the unit of work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, orm

_KEY = 'mistral_pending_rows'


def add(session: orm.Session, model: type, row: dict[str, Any]) -> None:
    session.info.setdefault(_KEY, []).append((model, row))


def flush(session: orm.Session) -> None:
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
    if state.session.info.get(_KEY) and not state.is_insert:
        flush(state.session)
