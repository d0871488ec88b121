"""Stored data for expression functions (task(), tasks(), execution()...)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy import orm

from mistral.db import models
from mistral.db import rows
from mistral.workflow import task_machine


def task_result(session: orm.Session, task_ex: models.TaskExecution) -> Any:
    """The result of a task: its action's result, a sub-workflow's output,
    or for with-items the list of results ordered by item index."""
    children = _children(session, task_ex.type == 'WORKFLOW', [task_ex.id])
    return _result(children.get(task_ex.id, []),
                   task_machine.has_with_items(task_ex.runtime_context))


_IN_CHUNK = 500  # ids per IN list: SQLite caps bound parameters


_WF = models.WorkflowExecution
_AE = models.ActionExecution
# Built once: with-items tasks and task() read them on every step.
_SUB_WORKFLOW_RESULTS = (
    sa.select(_WF.task_execution_id, _WF.output, _WF.params)
    .where(_WF.task_execution_id.in_(sa.bindparam('ids', expanding=True)),
           _WF.accepted.is_(True))
    .order_by(_WF.created_at))
_ACTION_RESULTS = (
    sa.select(_AE.task_execution_id, _AE.output, _AE.runtime_context)
    .where(_AE.task_execution_id.in_(sa.bindparam('ids', expanding=True)),
           _AE.accepted.is_(True))
    .order_by(_AE.created_at))


def _children(session: orm.Session, workflows: bool, task_ids: list[str]
              ) -> dict[str, list[tuple[int, Any]]]:
    """(item index, result) of the accepted children of each task, oldest
    first. Plain rows, not ORM objects: a with-items task may have
    thousands."""
    out: dict[str, list[tuple[int, Any]]] = {}
    for at in range(0, len(task_ids), _IN_CHUNK):
        ids = task_ids[at:at + _IN_CHUNK]
        if workflows:
            for r in session.execute(_SUB_WORKFLOW_RESULTS, {'ids': ids}):
                out.setdefault(r.task_execution_id, []).append(
                    ((r.params or {}).get('index', 0), r.output))
        else:
            for r in session.execute(_ACTION_RESULTS, {'ids': ids}):
                out.setdefault(r.task_execution_id, []).append(
                    ((r.runtime_context or {}).get('index', 0),
                     (r.output or {}).get('result')))
    return out


def _result(items: list[tuple[int, Any]], with_items: bool) -> Any:
    if with_items:
        return [out for _, out in sorted(items, key=lambda p: p[0])]
    return items[-1][1] if items else None


_RECORD_COLUMNS = ('id', 'name', 'state', 'state_info', 'published', 'type',
                   'workflow_execution_id', 'created_at', 'updated_at')


def task_record(session: orm.Session, task_ex: models.TaskExecution,
                result: Any = None, with_result: bool = True
                ) -> dict[str, Any]:
    data = rows.to_dict(task_ex, _RECORD_COLUMNS)
    data['result'] = (task_result(session, task_ex) if with_result
                      else result)
    data['spec'] = None
    return data


def task_records(session: orm.Session, found: Sequence[Any]
                 ) -> list[dict[str, Any]]:
    """task_record of many tasks given as rows of _RECORD_COLUMNS and
    ``runtime_context``, with two queries for their results instead of
    one per task."""
    children: dict[str, list[tuple[int, Any]]] = {}
    for workflows in (False, True):
        ids = [r.id for r in found if (r.type == 'WORKFLOW') == workflows]
        if ids:
            children.update(_children(session, workflows, ids))
    out = []
    for r in found:
        data = rows.columns_dict(r, _RECORD_COLUMNS)
        data['result'] = _result(
            children.get(r.id, []),
            task_machine.has_with_items(r.runtime_context))
        data['spec'] = None
        out.append(data)
    return out


class DbDataAccess:
    """Answers expression functions from the database, inside the engine's
    current transaction (so it sees this transaction's own writes)."""

    def __init__(self, session: orm.Session,
                 wf_ex: models.WorkflowExecution,
                 wf_spec: Any = None) -> None:
        self._s = session
        self._wf_ex = wf_ex
        self._wf_spec = wf_spec

    def task(self, name: str | None, context: Mapping[str, Any]
             ) -> dict[str, Any] | None:
        if name is None:
            current = (context or {}).get('__task_execution') or {}
            name = current.get('name')
            if name is None:
                return None
        task_ex = self._s.execute(
            sa.select(models.TaskExecution)
            .where(models.TaskExecution.workflow_execution_id
                   == self._wf_ex.id,
                   models.TaskExecution.name == name)
            .order_by(models.TaskExecution.created_at.desc())
            .limit(1)).scalar_one_or_none()
        if task_ex is None:
            return None
        record = task_record(self._s, task_ex)
        if self._wf_spec is not None and name in self._wf_spec.tasks:
            record['spec'] = self._wf_spec.tasks[name].to_dict()
        return record

    def tasks(self, workflow_execution_id: str | None, recursive: bool,
              state: str | None, flat: bool, context: Mapping[str, Any]
              ) -> list[dict[str, Any]]:
        wf_ex_id = workflow_execution_id or self._wf_ex.id
        ids = [wf_ex_id]
        if recursive:
            ids = self._descendants(wf_ex_id)
        te = models.TaskExecution
        # Columns, not ORM objects: tasks of earlier transactions would
        # each be built as an object (and all of them tracked) only to be
        # read once.
        stmt = sa.select(*[getattr(te, c) for c in _RECORD_COLUMNS],
                         te.runtime_context).where(
            te.workflow_execution_id.in_(ids))
        if state:
            stmt = stmt.where(te.state == state)
        found = self._s.execute(stmt.order_by(te.created_at)).all()
        if flat:
            found = [t for t in found if t.type == 'ACTION'
                     or self._differs_from_child(t.id, t.state)]
        return task_records(self._s, found)

    def _differs_from_child(self, task_ex_id: str, task_state: str) -> bool:
        child_states = self._s.execute(
            sa.select(models.WorkflowExecution.state).where(
                models.WorkflowExecution.task_execution_id == task_ex_id)
        ).scalars().all()
        return any(s != task_state for s in child_states)

    def _descendants(self, wf_ex_id: str) -> list[str]:
        found = [wf_ex_id]
        frontier = [wf_ex_id]
        while frontier:
            task_ids = self._s.execute(
                sa.select(models.TaskExecution.id).where(
                    models.TaskExecution.workflow_execution_id.in_(
                        frontier))).scalars().all()
            if not task_ids:
                break
            frontier = list(self._s.execute(
                sa.select(models.WorkflowExecution.id).where(
                    models.WorkflowExecution.task_execution_id.in_(
                        task_ids))).scalars().all())
            found += frontier
        return found

    def execution(self, context: Mapping[str, Any]) -> dict[str, Any]:
        wf = self._wf_ex
        data = rows.to_dict(wf, ('id', 'name', 'input', 'params',
                                 'created_at', 'updated_at',
                                 'root_execution_id'))
        data['spec'] = (self._wf_spec.to_dict() if self._wf_spec is not None
                        else None)
        return data

    def executions(self, id: str | None, root_execution_id: str | None,
                   state: str | None, from_time: Any, to_time: Any,
                   context: Mapping[str, Any]) -> list[dict[str, Any]]:
        wf = models.WorkflowExecution
        stmt = sa.select(wf).where(wf.project_id == self._wf_ex.project_id)
        if id:
            stmt = stmt.where(wf.id == id)
        if root_execution_id:
            stmt = stmt.where(wf.root_execution_id == root_execution_id)
        if state:
            stmt = stmt.where(wf.state == state)
        if from_time:
            stmt = stmt.where(wf.created_at >= from_time)
        if to_time:
            stmt = stmt.where(wf.created_at < to_time)
        return [rows.to_dict(r) for r in
                self._s.execute(stmt.order_by(wf.created_at)).scalars()]

    def global_var(self, name: str, context: Mapping[str, Any]) -> Any:
        return (self._wf_ex.context or {}).get(name)

