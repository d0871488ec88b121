"""Execution trees: the unit the import copies.

A tree is a root workflow execution with its sub-workflow executions at
every depth, their task executions and the tasks' action executions; an
action execution run on its own (no task) is a tree of one row. A tree is
copied whole or not at all, so what one pass copies is always consistent,
and a later pass replaces a tree that changed as a whole.

A tree is *in flight* when one of its workflow executions has not
finished (IDLE, RUNNING or PAUSED upstream), or, for an action alone, when
the action has not. Tasks or actions left unfinished inside finished
workflows (a cancelled workflow leaves its running action as it was) do
not make a tree in flight: upstream never continues them either.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Iterable

import sqlalchemy as sa

from mistral.db.upstream_import import convert
from mistral.db.upstream_import import source as source_mod

WF = 'workflow_executions_v2'
TASK = 'task_executions_v2'
ACTION = 'action_executions_v2'


@dataclasses.dataclass
class Tree:
    root: str                    # root workflow (or lone action) id
    kind: str                    # 'workflow' or 'action'
    state: str                   # the root's state
    name: str | None
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None
    wf_ids: list[str] = dataclasses.field(default_factory=list)
    # States of its workflow executions that have not finished.
    unfinished: list[tuple[str, str]] = dataclasses.field(
        default_factory=list)

    @property
    def in_flight(self) -> bool:
        return bool(self.unfinished)

    @property
    def stamp(self) -> datetime.datetime | None:
        return self.updated_at or self.created_at


@dataclasses.dataclass
class Forest:
    trees: dict[str, Tree]
    # Workflow execution id -> root id.
    root_of: dict[str, str]
    # Sub-workflow executions whose parent could not be found (left out).
    orphans: list[str]


_WF_SUMMARY = ('id', 'state', 'workflow_name', 'task_execution_id',
               'root_execution_id', 'created_at', 'updated_at')
_ACTION_SUMMARY = ('id', 'state', 'name', 'created_at', 'updated_at')


def load_forest(src: source_mod.Source) -> Forest:
    """Every tree of the source, from a scan of a few small columns."""
    wfs = {r.id: r for r in src.scan(WF, _WF_SUMMARY)}
    root_of: dict[str, str] = {}
    need_parent: dict[str, str] = {}
    for wf_id, r in wfs.items():
        if not r.task_execution_id:
            root_of[wf_id] = wf_id
        elif r.root_execution_id in wfs and \
                not wfs[r.root_execution_id].task_execution_id:
            root_of[wf_id] = r.root_execution_id
        else:
            need_parent[wf_id] = r.task_execution_id
    # Sub-workflows without a usable root id (rows older than upstream's
    # root_execution_id column): resolved through their parent tasks, one
    # level per round.
    parent_wf: dict[str, str | None] = {}
    pending = set(need_parent)
    while pending:
        unknown = {need_parent[w] for w in pending} - set(parent_wf)
        for t in src.rows_in(TASK, 'id', unknown,
                             ['id', 'workflow_execution_id']):
            parent_wf[t['id']] = t['workflow_execution_id']
        progress = False
        for wf_id in list(pending):
            parent = parent_wf.get(need_parent[wf_id])
            if parent is None or parent not in wfs:
                pending.discard(wf_id)
            elif parent in root_of:
                root_of[wf_id] = root_of[parent]
                pending.discard(wf_id)
                progress = True
        if not progress:
            break
    orphans = sorted(set(need_parent) - set(root_of))
    trees: dict[str, Tree] = {}
    for wf_id, root in root_of.items():
        tree = trees.get(root)
        if tree is None:
            r = wfs[root]
            tree = trees[root] = Tree(
                root=root, kind='workflow', state=r.state or 'IDLE',
                name=r.workflow_name, created_at=r.created_at,
                updated_at=r.updated_at)
        tree.wf_ids.append(wf_id)
        state = wfs[wf_id].state or 'IDLE'
        if state not in convert.WF_DONE:
            tree.unfinished.append((wf_id, state))
    for r in src.scan(ACTION, _ACTION_SUMMARY,
                      where=lambda t: t.c.task_execution_id.is_(None)):
        state = r.state or 'IDLE'
        tree = Tree(root=r.id, kind='action', state=state, name=r.name,
                    created_at=r.created_at, updated_at=r.updated_at)
        if state not in convert.ACTION_DONE:
            tree.unfinished.append((r.id, state))
        trees[r.id] = tree
    # Roots first in upstream's order of creation (then by id): copies
    # and reports follow it.
    ordered = dict(sorted(trees.items(), key=lambda kv: (
        kv[1].created_at or convert.EPOCH, kv[0])))
    return Forest(trees=ordered, root_of=root_of, orphans=orphans)


def touched_roots(src: source_mod.Source, forest: Forest,
                  since: datetime.datetime) -> set[str]:
    """Roots of trees with a row created or changed at ``since`` or later.
    """
    def recent(t: sa.Table) -> Any:
        return sa.or_(t.c.updated_at >= since, sa.and_(
            t.c.updated_at.is_(None), t.c.created_at >= since))

    roots: set[str] = set()
    for r in src.rows(WF, ['id'], where=recent):
        if r['id'] in forest.root_of:
            roots.add(forest.root_of[r['id']])
    task_wf: dict[str, str] = {}
    for r in src.rows(TASK, ['id', 'workflow_execution_id'], where=recent):
        task_wf[r['id']] = r['workflow_execution_id']
    actions = src.rows(ACTION, ['id', 'task_execution_id'], where=recent)
    for r in actions:
        if r['task_execution_id'] is None:
            roots.add(r['id'])
    missing = {r['task_execution_id'] for r in actions
               if r['task_execution_id'] and
               r['task_execution_id'] not in task_wf}
    for r in src.rows_in(TASK, 'id', missing,
                         ['id', 'workflow_execution_id']):
        task_wf[r['id']] = r['workflow_execution_id']
    for r in actions:
        wf_id = task_wf.get(r['task_execution_id'] or '')
        if wf_id in forest.root_of:
            roots.add(forest.root_of[wf_id])
    for wf_id in task_wf.values():
        if wf_id in forest.root_of:
            roots.add(forest.root_of[wf_id])
    return roots


@dataclasses.dataclass
class Rows:
    """Converted rows of some trees, ready to write."""

    workflows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    tasks: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    actions: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def count(self) -> int:
        return len(self.workflows) + len(self.tasks) + len(self.actions)


def read_trees(src: source_mod.Source, trees: Iterable[Tree],
               fail: bool) -> Rows:
    """Read and convert every row of ``trees``. Unfinished rows of trees
    in flight become ERROR when ``fail`` (else they are copied as they
    are: only finished trees and ``fail`` ones are ever read)."""
    trees = list(trees)
    failing = {t.root for t in trees if fail and t.in_flight}
    wf_root = {w: t.root for t in trees for w in t.wf_ids}
    lone = [t.root for t in trees if t.kind == 'action']
    wf_rows = src.rows_in(WF, 'id', list(wf_root))
    task_rows = src.rows_in(TASK, 'workflow_execution_id', list(wf_root))
    task_ids = [t['id'] for t in task_rows]
    action_rows = src.rows_in(ACTION, 'task_execution_id', task_ids)
    action_rows += src.rows_in(ACTION, 'id', lone)
    task_wf = {t['id']: t['workflow_execution_id'] for t in task_rows}

    out = Rows()
    actions_by_task: dict[str, list[dict[str, Any]]] = {}
    for a in action_rows:
        task_id = a.get('task_execution_id')
        wf_id = task_wf.get(task_id) if task_id else None
        root = wf_root.get(wf_id) if wf_id else a['id']
        row = convert.action_execution(a, wf_id, root in failing)
        out.actions.append(row)
        if task_id:
            actions_by_task.setdefault(task_id, []).append(row)
    subs_by_task: dict[str, list[dict[str, Any]]] = {}
    tasks_by_wf: dict[str, list[dict[str, Any]]] = {}
    # Sub-workflows first (their state counts in their parent task), then
    # the tasks, then the workflows (whose counters count the tasks).
    wf_failing = {r['id']: wf_root[r['id']] in failing for r in wf_rows}
    converted_state: dict[str, str] = {}
    for r in wf_rows:
        state = r.get('state') or 'IDLE'
        if wf_failing[r['id']] and state not in convert.WF_DONE:
            state = 'ERROR'
        converted_state[r['id']] = state
        if r.get('task_execution_id'):
            subs_by_task.setdefault(r['task_execution_id'], []).append(
                {'state': state})
    for t in task_rows:
        children = subs_by_task.get(t['id'], []) \
            if convert.task_type(t) == 'WORKFLOW' \
            else actions_by_task.get(t['id'], [])
        row = convert.task_execution(t, children,
                                     wf_failing.get(
                                         t['workflow_execution_id'], False))
        out.tasks.append(row)
        tasks_by_wf.setdefault(t['workflow_execution_id'], []).append(row)
    for r in wf_rows:
        out.workflows.append(convert.workflow_execution(
            r, tasks_by_wf.get(r['id'], []), wf_failing[r['id']]))
    return out
