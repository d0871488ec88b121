"""Comparing what an execution did with what a case expects.

The drivers give the same plain shapes (dicts of JSON values), so one set of
checks serves the embedded engine and the deployed API alike.
"""

from __future__ import annotations

import re
from typing import Any, Callable

TYPES = {'str': str, 'int': int, 'float': float, 'list': list,
         'dict': dict, 'bool': bool, 'null': type(None)}


def subset(expected: Any, got: Any) -> bool:
    """``expected`` is contained in ``got`` (dicts recursively)."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(
            k in got and subset(v, got[k]) for k, v in expected.items())
    return expected == got


def _dig(data: Any, path: str) -> Any:
    for part in path.split('.'):
        if isinstance(data, list):
            data = data[int(part)]
        else:
            data = data[part]
    return data


def check_execution(exp: dict[str, Any], ex: dict[str, Any],
                    tasks: list[dict[str, Any]],
                    action_count: Callable[[str], int]) -> list[str]:
    """Every mismatch, as a readable line (empty: the case passed)."""
    errors: list[str] = []

    def expect(ok: bool, what: str, want: Any, got: Any) -> None:
        if not ok:
            errors.append('%s: expected %r, got %r' % (what, want, got))

    if 'state' in exp:
        expect(ex['state'] == exp['state'], 'state', exp['state'],
               (ex['state'], ex['state_info']))
    if 'state_info' in exp:
        info = ex['state_info'] or ''
        expect(exp['state_info'] in info, 'state_info contains',
               exp['state_info'], info)
    output = ex['output']
    if 'output' in exp:
        expect(output == exp['output'], 'output', exp['output'], output)
    if 'output_keys' in exp:
        expect(isinstance(output, dict)
               and sorted(output) == sorted(exp['output_keys']),
               'output keys', sorted(exp['output_keys']),
               sorted(output) if isinstance(output, dict) else output)
    if 'output_subset' in exp:
        expect(subset(exp['output_subset'], output), 'output subset',
               exp['output_subset'], output)
    for path, tname in (exp.get('output_types') or {}).items():
        try:
            val = _dig(output, path)
        except (KeyError, IndexError, TypeError, ValueError):
            errors.append('output.%s missing in %r' % (path, output))
            continue
        expect(type(val) is TYPES[tname], 'type of output.%s' % path,
               tname, val)
    for path, pattern in (exp.get('output_regex') or {}).items():
        try:
            val = _dig(output, path)
        except (KeyError, IndexError, TypeError, ValueError):
            errors.append('output.%s missing in %r' % (path, output))
            continue
        expect(isinstance(val, str) and re.search(pattern, val)
               is not None, 'output.%s matches' % path, pattern, val)
    names = [t['name'] for t in tasks]
    if 'tasks_run' in exp:
        expect(sorted(set(names)) == sorted(exp['tasks_run']),
               'tasks run', sorted(exp['tasks_run']), sorted(set(names)))
    if 'task_sequence' in exp:
        expect(names == exp['task_sequence'], 'task sequence',
               exp['task_sequence'], names)
    if 'task_count' in exp:
        expect(len(tasks) == exp['task_count'], 'task executions',
               exp['task_count'], len(tasks))
    for tname, texp in (exp.get('tasks') or {}).items():
        runs = [t for t in tasks if t['name'] == tname]
        if not runs:
            errors.append('task %s never ran (ran: %s)' % (tname, names))
            continue
        if 'count' in texp:
            expect(len(runs) == texp['count'], '%s executions' % tname,
                   texp['count'], len(runs))
        # The last run is the one task(name) sees; ``first`` picks the
        # first, for cycles.
        t = runs[0] if texp.get('first') else runs[-1]
        what = 'task %s ' % tname
        if 'state' in texp:
            expect(t['state'] == texp['state'], what + 'state',
                   texp['state'], (t['state'], t['state_info']))
        if 'state_info' in texp:
            info = t['state_info'] or ''
            expect(texp['state_info'] in info, what + 'state_info',
                   texp['state_info'], info)
        if 'published' in texp:
            expect((t['published'] or {}) == texp['published'],
                   what + 'published', texp['published'], t['published'])
        if 'published_subset' in texp:
            expect(subset(texp['published_subset'], t['published']),
                   what + 'published subset', texp['published_subset'],
                   t['published'])
        if 'runtime_context' in texp:
            expect(subset(texp['runtime_context'], t['runtime_context']),
                   what + 'runtime_context', texp['runtime_context'],
                   t['runtime_context'])
        if 'timestamps' in texp:
            # true: started_at and finished_at set, in that order; false:
            # neither (the task never ran).
            started, finished = t.get('started_at'), t.get('finished_at')
            if texp['timestamps']:
                expect(started is not None and finished is not None and
                       started <= finished, what + 'started_at <= '
                       'finished_at', 'both set', (started, finished))
            else:
                expect(started is None and finished is None,
                       what + 'timestamps', 'unset', (started, finished))
        if 'actions' in texp:
            n = action_count(t['id'])
            expect(n == texp['actions'], what + 'action executions',
                   texp['actions'], n)
    return errors
