"""Playing one corpus case on one server and recording what it did.

:class:`RecordingDriver` is the corpus's deployed driver (python-
mistralclient) with what a comparison needs besides: every task run with
its action and sub-workflow executions, its trigger chain, and a record
of a step or a wait that did not work out instead of an exception.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from mistral.tests.functional.corpus import checks
from mistral.tests.functional.corpus import driver as corpus_driver
from mistral.tests.functional.corpus.deployed import DeployedDriver

# Enough for every case's task and action lists in one page.
LIST_LIMIT = 1000
# Once the execution has ended, the record is re-read until two reads
# agree (a task or an action may still be settling).
SETTLE_POLL = 0.3
SETTLE_MAX = 5.0


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _message(exc: BaseException) -> str:
    # mistralclient's APIException carries the server's faultstring.
    return str(getattr(exc, 'error_message', None) or exc)


class RecordingDriver(DeployedDriver):
    poll = 0.1

    def __init__(self, client: Any, db_url: str | None = None,
                 async_grace: float = 0.5) -> None:
        super().__init__(client, db_url)
        # Without a database to read is_sync from, a running action is
        # given this long to be reported async before its result is sent.
        self.async_grace = async_grace
        self.created: list[tuple[str, str, str]] = []

    # -- bookkeeping of what was stored, for cleanup on a shared server

    def _define(self, spec: dict[str, Any], namespace: str) -> None:
        c = self.client
        if spec.get('actions'):
            for a in c.actions.create(spec['actions'], namespace=namespace):
                self.created.append(('action', a.name, namespace))
        if spec.get('workbook'):
            wb = c.workbooks.create(spec['workbook'], namespace=namespace)
            self.created.append(('workbook', wb.name, namespace))
        if spec.get('workflows'):
            for w in c.workflows.create(spec['workflows'],
                                        namespace=namespace):
                self.created.append(('workflow', w.name, namespace))

    def action_ids(self, task_id: str, running: bool = False) -> list[str]:
        ids = super().action_ids(task_id, running)
        if running and ids and self._db is None:
            time.sleep(self.async_grace)
        return ids

    # -- reading a finished execution

    def execution_full(self, ex_id: str) -> dict[str, Any]:
        ex = self.client.executions.get(ex_id)
        return {'state': ex.state, 'state_info': ex.state_info,
                'output': _json(ex.output)}

    def task_runs(self, ex_id: str) -> list[dict[str, Any]]:
        c = self.client
        runs = []
        for t in c.tasks.list(workflow_execution_id=ex_id,
                              limit=LIST_LIMIT):
            rc = _json(t.runtime_context) or {}
            actions = c.action_executions.list(task_execution_id=t.id,
                                               limit=LIST_LIMIT)
            subs = c.executions.list(task=t.id, limit=LIST_LIMIT)
            runs.append({
                'id': t.id, 'name': t.name, 'state': t.state,
                'state_info': t.state_info,
                'published': _json(t.published),
                'triggered_by': [(tr.get('task_id'), tr.get('event'))
                                 for tr in rc.get('triggered_by') or []],
                'actions': len(actions),
                'action_states': sorted(a.state for a in actions),
                'workflows': len(subs),
                'workflow_states': sorted(s.state for s in subs),
                'created_at': t.created_at, 'started_at': t.started_at,
                'finished_at': t.finished_at})
        return name_runs(runs)

    def snapshot(self, ex_id: str) -> dict[str, Any]:
        snap = self.execution_full(ex_id)
        snap['tasks'] = self.task_runs(ex_id)
        return snap

    # -- cleanup

    def cleanup(self, ex_ids: list[str]) -> list[str]:
        """Delete what this driver made (on a shared server); returns the
        problems met, never raises."""
        problems = []
        c = self.client
        for ex_id in ex_ids:
            try:
                ex = c.executions.get(ex_id)
                if ex.state not in corpus_driver.TERMINAL:
                    self.stop(ex_id, 'CANCELLED', 'differential cleanup')
                    self.wait(ex_id, corpus_driver.TERMINAL, 30)
                children = c.executions.list(root_execution_id=ex_id,
                                             limit=LIST_LIMIT)
                for child in children:
                    if child.id != ex_id:
                        c.executions.delete(child.id)
                c.executions.delete(ex_id)
            except Exception as e:  # report and go on cleaning
                problems.append('execution %s: %s' % (ex_id, _message(e)))
        for kind, name, ns in reversed(self.created):
            try:
                if kind == 'workbook':
                    c.workbooks.delete(name, namespace=ns)
                    # Upstream keeps a workbook's workflows and actions
                    # when it is deleted.
                    for w in c.workflows.list(namespace=ns,
                                              limit=LIST_LIMIT):
                        if w.name.startswith(name + '.'):
                            c.workflows.delete(w.id)
                    for a in c.actions.list(namespace=ns,
                                            limit=LIST_LIMIT):
                        if a.name.startswith(name + '.'):
                            c.actions.delete(a.id)
                elif kind == 'workflow':
                    c.workflows.delete(name, namespace=ns)
                else:
                    c.actions.delete(name, namespace=ns)
            except Exception as e:  # report and go on cleaning
                if '404' not in str(getattr(e, 'error_code', '')):
                    problems.append('%s %s/%s: %s' % (kind, ns, name,
                                                      _message(e)))
        return problems


def name_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Put task runs in the order of the language and name each
    ``task#k`` (its k-th run), without ids or time.

    The order comes from ``runtime_context.triggered_by``: a run's depth
    is the longest chain of triggers from a start task, so in a cycle
    each round is deeper than the last on both servers. Runs of one task
    at the same depth (two branches reaching a task that is not a join)
    have no order of their own and are ordered by content. Triggers are
    only used for this: what each server writes into ``triggered_by``
    (e.g. a reverse workflow's tasks, the inbound tasks of a join that
    cannot run any more) is its own bookkeeping and is not compared.
    """
    by_id = {r['id']: r for r in runs}
    depth: dict[str, int] = {}

    def depth_of(rid: str, seen: frozenset[str] = frozenset()) -> int:
        if rid in depth:
            return depth[rid]
        r = by_id[rid]
        parents = [p for p, _ in r['triggered_by']
                   if p in by_id and p not in seen and p != rid]
        d = 1 + max((depth_of(p, seen | {rid}) for p in parents),
                    default=-1)
        depth[rid] = d
        return d

    def content(r: dict[str, Any]) -> str:
        return json.dumps({k: r[k] for k in ('state', 'state_info',
                                             'published', 'actions',
                                             'action_states', 'workflows',
                                             'workflow_states')},
                          sort_keys=True, default=str)

    ordered = sorted(runs, key=lambda r: (depth_of(r['id']), r['name'],
                                          content(r)))
    counts: dict[str, int] = {}
    for r in ordered:
        counts[r['name']] = counts.get(r['name'], 0) + 1
        r['run'] = '%s#%d' % (r['name'], counts[r['name']])
        r['depth'] = depth_of(r['id'])
    return ordered


def record(drv: RecordingDriver, case: dict[str, Any]) -> dict[str, Any]:
    """Play ``case`` with ``drv``; the record of what happened (plain
    JSON values, not normalised yet)."""
    rec: dict[str, Any] = {'phase': 'define', 'steps': [],
                           'timed_out': False, 'ex_id': None}
    started = time.monotonic()
    try:
        drv.define(case)
    except Exception as e:  # a refused definition is a result
        rec['phase'] = 'define_error'
        rec['error'] = _message(e)
        rec['expect_errors'] = _expect_refusal(case, 'define_error',
                                               rec['error'])
        return rec
    rec['phase'] = 'start'
    try:
        ex_id = drv.start(case)
    except Exception as e:  # a refused start is a result
        rec['phase'] = 'start_error'
        rec['error'] = _message(e)
        rec['expect_errors'] = _expect_refusal(case, 'start_error',
                                               rec['error'])
        return rec
    rec['phase'] = 'ran'
    rec['ex_id'] = ex_id
    timeout = case.get('timeout', corpus_driver.DEFAULT_TIMEOUT)
    for step in case.get('steps') or []:
        try:
            drv.step(ex_id, step, timeout)
            rec['steps'].append(None)
        except Exception as e:  # the other side may get through it
            rec['steps'].append('%s: %s' % (next(iter(step)),
                                            _message(e)))
    wanted = case['expect'].get('state')
    states = corpus_driver.TERMINAL
    if wanted and wanted not in states:
        states = states + (wanted,)
    try:
        drv.wait(ex_id, states, timeout)
    except AssertionError:
        rec['timed_out'] = True
    snap = drv.snapshot(ex_id)
    deadline = time.monotonic() + SETTLE_MAX
    while time.monotonic() < deadline:
        time.sleep(SETTLE_POLL)
        again = drv.snapshot(ex_id)
        if _stable(again) == _stable(snap):
            break
        snap = again
    rec.update(snap)
    rec['seconds'] = round(time.monotonic() - started, 2)
    tasks = [{'id': t['id'], 'name': t['name'], 'state': t['state'],
              'state_info': t['state_info'], 'published': t['published'],
              'runtime_context': {}, 'started_at': t['started_at'],
              'finished_at': t['finished_at']}
             for t in sorted(snap['tasks'],
                             key=lambda t: (t['created_at'] or '',
                                            t['started_at'] or ''))]
    counts = {t['id']: t['actions'] for t in snap['tasks']}
    exp = copy.deepcopy(case['expect'])
    # runtime_context is not recorded (it holds each server's internals).
    for texp in (exp.get('tasks') or {}).values():
        texp.pop('runtime_context', None)
    rec['expect_errors'] = checks.check_execution(
        exp, snap, tasks, lambda tid: counts.get(tid, 0))
    return rec


def _stable(snap: dict[str, Any]) -> str:
    return json.dumps(snap, sort_keys=True, default=str)


def _expect_refusal(case: dict[str, Any], key: str, msg: str) -> list[str]:
    want = case['expect'].get(key)
    if want is None:
        return ['%s: not expected (%s)' % (key, msg)]
    if want not in msg:
        return ['%s: expected %r in %r' % (key, want, msg)]
    return []
