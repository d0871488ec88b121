"""What must hold once the faults stop and the executions settle.

Each check returns a list of violations (strings); an empty list is a pass.
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa

from tools.chaos import workflows

TERMINAL = ('SUCCESS', 'ERROR', 'CANCELLED')
LOST_EXECUTOR = 'executor running this action stopped'
REDELIVERED = 'Request to run an action was redelivered'

# Violations that reproduce a bug already described in
# doc/source/admin/reliability.rst ("Known bugs"): (pattern, bug id). The
# smoke test tolerates them so that it fails only on something new; the
# full run counts them as violations.
KNOWN_BUGS: list[tuple[str, str]] = []

# Tasks that may own more than one action execution, and how many.
_MAX_ACTIONS = {('chaos_retry', 'flaky'): 7, ('chaos_retry', 'doomed'): 2}


def _json(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def known_bug(violation: str) -> str | None:
    """The id of the known bug this violation shows, if any."""
    for pattern, bug in KNOWN_BUGS:
        if re.match(pattern, violation):
            return bug
    return None


def load(engine: sa.Engine) -> dict[str, list[Any]]:
    """The rows the checks look at."""
    with engine.connect() as conn:
        q = lambda sql: conn.execute(sa.text(sql)).all()  # noqa: E731
        return {
            'executions': q(
                'SELECT id, workflow_name, state, state_info, input, output,'
                ' root_execution_id, task_execution_id '
                'FROM workflow_executions_v2'),
            'tasks': q(
                'SELECT id, workflow_execution_id, workflow_name, name, '
                'state, state_info FROM task_executions_v2'),
            'actions': q(
                'SELECT id, task_execution_id, workflow_execution_id, name, '
                'state, state_info, is_sync, executor_id '
                'FROM action_executions_v2'),
            'outbox': q('SELECT id, target, method, due_at FROM outbox'),
        }


def non_terminal(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT COUNT(*) FROM workflow_executions_v2 WHERE state NOT IN "
            "('SUCCESS', 'ERROR', 'CANCELLED')")).scalar() or 0


def _pid(executor_id: str | None) -> int | None:
    """The pid in an executor id (``host:pid:random``)."""
    try:
        return int((executor_id or '').split(':')[1])
    except (IndexError, ValueError):
        return None


def explained_errors(data: dict[str, list[Any]],
                     killed: set[int] | None = None,
                     redelivered: set[str] | None = None
                     ) -> tuple[set[str], list[str]]:
    """Root executions whose ERROR comes from an action that was not
    safe-rerun and lost its executor, or that the harness sent a
    run_action marked redelivered for (``redelivered``: action ids):
    failing it is the documented outcome, not a violation. An action
    failed as lost although its executor was never killed, or failed as
    redelivered although no such message was sent for it, is a violation
    (returned second)."""
    roots = {e.id: (e.root_execution_id or e.id) for e in data['executions']}
    out, false_lost = set(), []
    for a in data['actions']:
        if a.state == 'ERROR' and (a.state_info or '').startswith(
                REDELIVERED):
            if redelivered is None or a.id not in redelivered:
                false_lost.append(
                    'false redelivery: action %s (%s) was failed as '
                    'redelivered, but no redelivered message was sent for '
                    'it' % (a.id, a.name))
                continue
            out.add(roots.get(a.workflow_execution_id,
                              a.workflow_execution_id))
            continue
        if a.state == 'ERROR' and LOST_EXECUTOR in (a.state_info or ''):
            pid = _pid(getattr(a, 'executor_id', None))
            if killed is not None and pid not in killed:
                false_lost.append(
                    'false lost: action %s (%s) was failed as lost, but '
                    'its executor (pid %s) was not killed' % (a.id, a.name,
                                                               pid))
                continue
            out.add(roots.get(a.workflow_execution_id,
                              a.workflow_execution_id))
    return out, false_lost


def outcomes(data: dict[str, list[Any]],
             submitted: dict[str, tuple[str, int]],
             killed: set[int] | None = None,
             redelivered: set[str] | None = None
             ) -> tuple[list[str], dict[str, int]]:
    """Every submitted execution ended as a clean run ends.

    ``killed``: pids of the processes killed; when given, only their
    actions may have been failed as lost. ``redelivered``: ids of the
    actions a run_action marked redelivered was sent for; only they may
    have been failed as redelivered.
    """
    counts = {'success': 0, 'explained_error': 0}
    by_id = {e.id: e for e in data['executions']}
    explained, violations = explained_errors(data, killed, redelivered)
    for ex_id, (wf, n) in sorted(submitted.items()):
        ex = by_id.get(ex_id)
        if ex is None:
            violations.append('lost: execution %s (%s) does not exist'
                              % (ex_id, wf))
            continue
        expected = workflows.BY_NAME[wf].expected_output(n)
        output = _json(ex.output)
        if ex.state == 'SUCCESS' and output == expected:
            counts['success'] += 1
        elif ex.state == 'ERROR' and ex_id in explained:
            counts['explained_error'] += 1
        else:
            violations.append(
                'wrong outcome: %s %s(n=%d) is %s with output %r, expected '
                'SUCCESS with %r (state_info: %.300s)' % (
                    ex_id, wf, n, ex.state, output, expected,
                    ex.state_info))
    return violations, counts


def stuck(data: dict[str, list[Any]]) -> list[str]:
    return ['stuck: execution %s (%s) is %s' % (e.id, e.workflow_name,
                                                 e.state)
            for e in data['executions'] if e.state not in TERMINAL]


def orphans(data: dict[str, list[Any]]) -> list[str]:
    out = []
    wfs = {e.id: e for e in data['executions']}
    tasks = {t.id: t for t in data['tasks']}
    for t in data['tasks']:
        wf = wfs.get(t.workflow_execution_id)
        if wf is None:
            out.append('orphan: task %s (%s) has no workflow execution'
                       % (t.id, t.name))
        elif wf.state in TERMINAL and t.state not in TERMINAL:
            out.append('orphan: task %s (%s) is %s in %s execution %s' % (
                t.id, t.name, t.state, wf.state, wf.id))
    for a in data['actions']:
        if a.task_execution_id is None:
            continue
        t = tasks.get(a.task_execution_id)
        if t is None:
            out.append('orphan: action %s (%s) has no task' % (a.id,
                                                                a.name))
        elif t.state in TERMINAL and a.state not in TERMINAL:
            out.append('orphan: action %s (%s) is %s in %s task %s (%s)' % (
                a.id, a.name, a.state, t.state, t.id, t.name))
    for row in data['outbox']:
        out.append('leftover: outbox row %s %s.%s due %s' % (
            row.id, row.target, row.method, row.due_at))
    return out


def run_once(data: dict[str, list[Any]], ledger: dict[str, int]
             ) -> list[str]:
    """No task twice, no action more often than allowed, no ledger key
    (an action with effects, not safe-rerun) hit twice, and every
    successful execution's effects happened exactly once."""
    out = []
    seen: dict[tuple[str, str], int] = {}
    per_task: dict[str, int] = {}
    for t in data['tasks']:
        k = (t.workflow_execution_id, t.name)
        seen[k] = seen.get(k, 0) + 1
    for (wf_id, name), n in seen.items():
        if n > 1:
            out.append('twice: task %s of %s exists %d times'
                       % (name, wf_id, n))
    for a in data['actions']:
        if a.task_execution_id:
            per_task[a.task_execution_id] = per_task.get(
                a.task_execution_id, 0) + 1
    wfs = {e.id: e for e in data['executions']}
    for t in data['tasks']:
        n = per_task.get(t.id, 0)
        wf = wfs.get(t.workflow_execution_id)
        limit = _MAX_ACTIONS.get((t.workflow_name, t.name), 1)
        if t.name == 'each' and wf is not None:
            limit = _json(wf.input).get('k', 1)
        if n > limit:
            out.append('twice: task %s (%s) has %d action executions, at '
                       'most %d expected' % (t.id, t.name, n, limit))
    for key, n in ledger.items():
        if not key.startswith('flaky/') and n > 1:
            out.append('twice: ledger key %s was called %d times' % (key, n))
    for e in data['executions']:
        shape = workflows.BY_NAME.get(e.workflow_name or '')
        if shape is None or e.state != 'SUCCESS':
            continue
        for pattern in shape.once_keys(_json(e.input) or {}):
            key = pattern.format(id=e.id)
            if ledger.get(key, 0) != 1:
                out.append('effect: %s succeeded but ledger key %s was '
                           'called %d times' % (e.id, key,
                                                 ledger.get(key, 0)))
    return out
