"""Execution trees: /executions/<id>/report, /executions/<id>/executions
and /tasks/<id>/executions.

A tree is loaded level by level, a fixed number of queries per level of
sub-workflows, never one per task or action.
"""

from __future__ import annotations

import datetime
from typing import Any, Sequence

import pecan
import sqlalchemy as sa
import webob
from pecan import rest
from sqlalchemy import orm

from mistral import exceptions as exc
from mistral.api import access
from mistral.api import errors
from mistral.api import expose
from mistral.api import hooks
from mistral.api import xml_answers
from mistral.api.controllers.v2 import execution as execution_ctl
from mistral.api.controllers.v2 import lookup
from mistral.api.controllers.v2 import resources
from mistral.db import api as db_api
from mistral.db import models
from mistral.utils import timeutils

WF_COLUMNS = ('id', 'workflow_name', 'created_at', 'updated_at', 'state',
              'state_info', 'task_execution_id')
TASK_COLUMNS = ('id', 'name', 'created_at', 'updated_at', 'state',
                'state_info', 'workflow_execution_id', 'runtime_context')
ACTION_COLUMNS = ('id', 'name', 'created_at', 'updated_at', 'state',
                  'state_info', 'accepted', 'last_heartbeat',
                  'task_execution_id')


def _select(session: orm.Session, model: type[Any], columns: tuple[str, ...],
            *conds: Any) -> list[dict[str, Any]]:
    stmt = sa.select(*[getattr(model, c) for c in columns]).where(*conds)
    stmt = stmt.order_by(model.created_at, model.id)
    return [dict(zip(columns, r, strict=False)) for r in session.execute(stmt)]


class Tree:
    """Workflow executions, their tasks and actions, down to max_depth."""

    def __init__(self, session: orm.Session, roots: list[dict[str, Any]],
                 max_depth: int = -1, with_actions: bool = True) -> None:
        self.wfs: list[dict[str, Any]] = []
        self.depth: dict[str, int] = {}
        self.tasks: dict[str, list[dict[str, Any]]] = {}
        self.actions: dict[str, list[dict[str, Any]]] = {}
        self.children: dict[str, list[dict[str, Any]]] = {}
        level, depth = roots, 0
        while level:
            self.wfs += level
            for wf in level:
                self.depth[wf['id']] = depth
                self.tasks[wf['id']] = []
            tasks = _select(session, models.TaskExecution, TASK_COLUMNS,
                            models.TaskExecution.workflow_execution_id.in_(
                                [w['id'] for w in level]))
            task_ids = [t['id'] for t in tasks]
            for task in tasks:
                self.tasks[task['workflow_execution_id']].append(task)
                self.actions[task['id']] = []
                self.children[task['id']] = []
            if with_actions and task_ids:
                for a in _select(session, models.ActionExecution,
                                 ACTION_COLUMNS,
                                 models.ActionExecution.task_execution_id
                                 .in_(task_ids)):
                    self.actions[a['task_execution_id']].append(a)
            if max_depth >= 0 and depth >= max_depth or not task_ids:
                break
            level = _select(session, models.WorkflowExecution, WF_COLUMNS,
                            models.WorkflowExecution.task_execution_id.in_(
                                task_ids))
            for wf in level:
                self.children[wf['task_execution_id']].append(wf)
            depth += 1


def _entry(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: (timeutils.to_wire(row[k])
                if isinstance(row[k], datetime.datetime) else row[k])
            for k in keys}


def _wf_entry(tree: Tree, wf: dict[str, Any], errors_only: bool
              ) -> dict[str, Any]:
    # Keys in upstream's order (its resources' attribute order, which is
    # also the order of elements in an XML answer).
    entry = _entry(wf, 'id')
    entry['name'] = wf['workflow_name']
    entry.update(_entry(wf, 'created_at', 'updated_at', 'state',
                        'state_info'))
    tasks = []
    for task in tree.tasks.get(wf['id'], []):
        if errors_only and task['state'] != 'ERROR':
            continue
        t: dict[str, Any] = {}
        t['action_executions'] = [
            _entry(a, 'accepted', 'last_heartbeat', 'id', 'name',
                   'created_at', 'updated_at', 'state', 'state_info')
            for a in tree.actions.get(task['id'], [])
            if not errors_only or a['state'] == 'ERROR']
        t['workflow_executions'] = [
            _wf_entry(tree, sub, errors_only)
            for sub in tree.children.get(task['id'], [])
            if not errors_only or sub['state'] == 'ERROR']
        retry = (task['runtime_context'] or {}).get('retry_task_policy')
        if isinstance(retry, dict) and 'retry_no' in retry:
            # Only a task the retry policy has re-run, as upstream.
            t['retry_count'] = retry['retry_no']
        t.update(_entry(task, 'id', 'name', 'created_at', 'updated_at',
                        'state', 'state_info'))
        tasks.append(t)
    entry['task_executions'] = tasks
    return entry


def _statistics(session: orm.Session, tree: Tree, root: dict[str, Any]
                ) -> dict[str, Any]:
    counts = {s: 0 for s in ('RUNNING', 'SUCCESS', 'ERROR', 'IDLE',
                             'PAUSED')}
    total = 0
    for tasks in tree.tasks.values():
        for task in tasks:
            total += 1
            if task['state'] in counts:
                counts[task['state']] += 1
    return {
        'total_tasks_count': total,
        'running_tasks_count': counts['RUNNING'],
        'success_tasks_count': counts['SUCCESS'],
        'error_tasks_count': counts['ERROR'],
        'idle_tasks_count': counts['IDLE'],
        'paused_tasks_count': counts['PAUSED'],
        'estimated_time': _estimate(session, root),
    }


def _estimate(session: orm.Session, root: dict[str, Any]) -> int:
    """Seconds left: 0 when finished, -1 without a history to go by."""
    if root['state'] in ('SUCCESS', 'ERROR', 'CANCELLED'):
        return 0
    wf = models.WorkflowExecution
    # Any: updated_at is nullable, but the query leaves those rows out.
    rows: Sequence[Any] = session.execute(
        sa.select(wf.created_at, wf.updated_at).where(
            wf.workflow_id == root['workflow_id'], wf.state == 'SUCCESS',
            wf.updated_at.is_not(None))
        .order_by(wf.created_at.desc()).limit(20)).all()
    if not rows:
        return -1
    average = sum((u - c).total_seconds() for c, u in rows) / len(rows)
    elapsed = (timeutils.utcnow() - root['created_at']).total_seconds()
    return max(int(average - elapsed), 0)


class ExecutionReportController(rest.RestController):
    @expose.json_or_xml()
    @errors.text_errors_wsme_body
    def get_all(self, workflow_execution_id: str, **query: Any) -> Any:
        # Query arguments come as **query: pecan would take named optional
        # arguments of a nested controller for path segments.
        ctx = hooks.current_context()
        access.enforce('executions:get', ctx)
        errors_only = lookup.parse_bool(query.get('errors_only'),
                                        'errors_only')
        statistics_only = lookup.parse_bool(query.get('statistics_only'),
                                            'statistics_only')
        try:
            max_depth = int(query.get('max_depth', -1))
        except (TypeError, ValueError):
            raise exc.InputException(
                'Invalid max_depth: %s' % query.get('max_depth')) from None
        with db_api.read_session() as session:
            root = lookup.get_row(session, models.WorkflowExecution, ctx,
                                  workflow_execution_id,
                                  WF_COLUMNS + ('workflow_id',))
            tree = Tree(session, [root], max_depth)
            report: dict[str, Any] = {
                'statistics': _statistics(session, tree, root)}
        if not statistics_only and max_depth != 0:
            report['root_workflow_execution'] = _wf_entry(tree, root,
                                                          errors_only)
        if expose.wants_xml():
            resp = webob.Response(status=200,
                                  body=xml_answers.document(report))
            resp.content_type = pecan.request.pecan['content_type']
            resp.charset = 'UTF-8'
            return resp
        return errors.json_response(report, 200,
                                    content_type='application/json')


def sub_executions(roots: list[str], errors_only: bool, max_depth: int,
                   include_output: bool) -> resources.Executions:
    """The executions with these ids and all their descendants."""
    ctx = hooks.current_context()
    columns = execution_ctl.LIST_COLUMNS + (
        ('output',) if include_output else ())
    with db_api.read_session() as session:
        rows = _select(session, models.WorkflowExecution, WF_COLUMNS,
                       models.WorkflowExecution.id.in_(roots))
        tree = Tree(session, rows, max_depth, with_actions=False)
        ids = [w['id'] for w in tree.wfs]
        full = {r['id']: r for r in _select(
            session, models.WorkflowExecution, columns,
            models.WorkflowExecution.id.in_(ids))}
    result = []
    for wf in tree.wfs:
        row = full[wf['id']]
        if not ctx.is_admin and row['project_id'] != ctx.project_id:
            continue
        if errors_only and row['state'] != 'ERROR':
            continue
        result.append(execution_ctl.to_resource(row))
    return resources.Executions(executions=result)


class SubExecutionsController(rest.RestController):
    """/v2/executions/<id>/executions: the execution and its subtree."""

    @expose.wsme_query(resources.Executions)
    def get_all(self, workflow_execution_id: str, errors_only: bool = False,
                max_depth: int = -1, include_output: bool = False
                ) -> resources.Executions:
        ctx = hooks.current_context()
        access.enforce('executions:get', ctx)
        with db_api.read_session() as session:
            lookup.get_row(session, models.WorkflowExecution, ctx,
                           workflow_execution_id, ('id',))
        return sub_executions([workflow_execution_id], errors_only,
                              max_depth, include_output)


class TaskSubExecutionsTreeController(rest.RestController):
    """/v2/tasks/<id>/executions: sub-workflows of a task, recursively."""

    @expose.wsme_query(resources.Executions)
    def get_all(self, task_execution_id: str, errors_only: bool = False,
                max_depth: int = -1, include_output: bool = False
                ) -> resources.Executions:
        ctx = hooks.current_context()
        access.enforce('executions:get', ctx)
        with db_api.read_session() as session:
            lookup.get_row(session, models.TaskExecution, ctx,
                           task_execution_id, ('id',))
            roots = list(session.execute(
                sa.select(models.WorkflowExecution.id).where(
                    models.WorkflowExecution.task_execution_id
                    == task_execution_id)
                .order_by(models.WorkflowExecution.created_at)).scalars())
        if not roots:
            return resources.Executions(executions=[])
        return sub_executions(roots, errors_only, max_depth,
                              include_output)
