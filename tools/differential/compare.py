"""Comparing the records of one case on two servers.

A record (:func:`tools.differential.record.record`) is first reduced to
what is compared (:func:`view`: no ids, no times, the runs named ``task#k``
in the order of the language), then the two views are walked side by side
(:func:`differences`). Strings that differ are forgiven only as the
package docstring says (error wording).
"""

from __future__ import annotations

import collections
from typing import Any

from tools.differential import normalise

RUN_FIELDS = ('state', 'state_info', 'published', 'actions',
              'action_states', 'workflows', 'workflow_states')


def view(rec: dict[str, Any]) -> dict[str, Any]:
    """What is compared of a record, ids and times normalised."""
    v: dict[str, Any] = {'phase': rec['phase']}
    if rec['phase'] in ('define_error', 'start_error'):
        v['error'] = rec.get('error')
        return normalise.ids_and_times(v)
    v['steps'] = ['failed' if s else 'ok' for s in rec.get('steps') or []]
    v['timed_out'] = rec.get('timed_out', False)
    for key in ('state', 'state_info', 'output'):
        v[key] = rec.get(key)
    v['task_runs'] = sorted('%s %s' % (t['name'], t['state'])
                            for t in rec.get('tasks') or [])
    v['runs'] = [dict({'run': t['run']},
                      **{k: t[k] for k in RUN_FIELDS})
                 for t in rec.get('tasks') or []]
    return normalise.ids_and_times(v)


def values(path: str, a: Any, b: Any, words: frozenset[str]
           ) -> list[tuple[str, Any, Any]]:
    """Where ``a`` and ``b`` differ, as ``(path, a_part, b_part)``."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for k in sorted(set(a) | set(b), key=str):
            sub = '%s.%s' % (path, k) if path else str(k)
            if k not in a or k not in b:
                found.append((sub, a.get(k, '<absent>'),
                              b.get(k, '<absent>')))
            else:
                found.extend(values(sub, a[k], b[k], words))
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        found = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found.extend(values('%s[%d]' % (path, i), x, y, words))
        return found
    if isinstance(a, str) and isinstance(b, str) and a != b and \
            normalise.same_error(a, b, words):
        return []
    if type(a) is not type(b) or a != b:
        return [(path, a, b)]
    return []


def differences(ours: dict[str, Any], upstream: dict[str, Any],
                words: frozenset[str]) -> list[dict[str, Any]]:
    """Every difference between two views, ``{what, ours, upstream}``."""
    out: list[dict[str, Any]] = []

    def add(what: str, a: Any, b: Any) -> None:
        out.append({'what': what, 'ours': a, 'upstream': b})

    if ours['phase'] != upstream['phase']:
        add('phase', ours['phase'], upstream['phase'])
        for side, v in (('ours', ours), ('upstream', upstream)):
            if 'error' in v:
                out[-1][side + '_error'] = v['error']
        return out
    if 'error' in ours:
        # Both refused the definition or the start: the refusal is what
        # is compared; its message is each server's own wording.
        return out
    for key in ('steps', 'timed_out', 'state'):
        if ours[key] != upstream[key]:
            add(key, ours[key], upstream[key])
    for key in ('state_info', 'output'):
        for p, a, b in values(key, ours[key], upstream[key], words):
            add(p, a, b)
    if ours['task_runs'] != upstream['task_runs']:
        ca = collections.Counter(ours['task_runs'])
        cb = collections.Counter(upstream['task_runs'])
        add('task runs', sorted((ca - cb).elements()),
            sorted((cb - ca).elements()))
    groups_a = {r['run']: r for r in ours['runs']}
    groups_b = {r['run']: r for r in upstream['runs']}
    only_a = sorted(set(groups_a) - set(groups_b))
    only_b = sorted(set(groups_b) - set(groups_a))
    if only_a or only_b:
        add('runs', only_a, only_b)
    for run in sorted(set(groups_a) & set(groups_b)):
        for field in RUN_FIELDS:
            for p, a, b in values('%s.%s' % (run, field),
                                  groups_a[run][field],
                                  groups_b[run][field], words):
                add(p, a, b)
    return out
