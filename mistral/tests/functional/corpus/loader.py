"""Reading the corpus: every ``cases/*.yaml`` file holds a list of cases.

A case is a small dict (see ``README.rst``); this module only checks its
shape, so a typo in a data file fails loudly instead of silently checking
nothing.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

HERE = os.path.join(os.path.dirname(__file__), 'cases')
# Cases with mocked action results (``mocks``): played on the harness of
# mistral.testing only (a server cannot be told what an action returns).
MOCKED = os.path.join(os.path.dirname(__file__), 'mocked')

CASE_KEYS = {'name', 'area', 'deploy', 'workflows', 'actions', 'workbook',
             'extra', 'namespace', 'start', 'input', 'params', 'conf',
             'steps', 'expect', 'timeout', 'why', 'mocks'}
EXPECT_KEYS = {'state', 'state_info', 'output', 'output_keys',
               'output_subset', 'output_types', 'output_regex', 'tasks',
               'tasks_run', 'start_error', 'define_error', 'task_count',
               'task_sequence'}
TASK_KEYS = {'state', 'state_info', 'published', 'published_subset',
             'count', 'actions', 'runtime_context', 'first', 'timestamps'}
WAIT_TASK_KEYS = {'task', 'state', 'state_info', 'actions', 'started'}
STEP_KINDS = {'wait', 'wait_task', 'pause', 'resume', 'stop', 'rerun',
              'skip', 'complete_action', 'sleep'}


def _check(case: dict[str, Any], where: str) -> None:
    unknown = set(case) - CASE_KEYS
    if unknown:
        raise ValueError('%s: unknown keys %s' % (where, sorted(unknown)))
    for key in ('name', 'expect'):
        if key not in case:
            raise ValueError('%s: %s is required' % (where, key))
    if not (case.get('workflows') or case.get('workbook')):
        raise ValueError('%s: workflows or workbook is required' % where)
    if 'mocks' in case and (not isinstance(case['mocks'], dict)
                            or case.get('deploy')):
        raise ValueError('%s: mocks is a dict, and a case with mocks '
                         'cannot be deployed' % where)
    unknown = set(case['expect']) - EXPECT_KEYS
    if unknown:
        raise ValueError('%s: unknown expect keys %s'
                         % (where, sorted(unknown)))
    for tname, texp in (case['expect'].get('tasks') or {}).items():
        unknown = set(texp) - TASK_KEYS
        if unknown:
            raise ValueError('%s: task %s: unknown keys %s'
                             % (where, tname, sorted(unknown)))
    for step in case.get('steps') or []:
        if len(step) != 1 or next(iter(step)) not in STEP_KINDS:
            raise ValueError('%s: bad step %r' % (where, step))
        arg = step.get('wait_task')
        if arg is not None and (not isinstance(arg, dict) or
                                set(arg) - WAIT_TASK_KEYS):
            raise ValueError('%s: bad wait_task %r' % (where, arg))


def load_file(path: str) -> list[dict[str, Any]]:
    """The cases of one file, checked and given their defaults (area: the
    file's name). Also what ``python -m tools.differential --cases``
    reads."""
    with open(path) as f:
        doc = yaml.safe_load(f)
    fname = os.path.basename(path)
    area = os.path.splitext(fname)[0]
    cases = []
    for i, case in enumerate(doc['cases']):
        _check(case, '%s[%d]' % (fname, i))
        case.setdefault('area', area)
        # Each case lives in its own namespace, so every case can call
        # its main workflow ``wf`` without clashing with the others.
        case.setdefault('namespace', 'corpus_' + case['name'])
        case.setdefault('start', 'wf')
        case.setdefault('deploy', False)
        cases.append(case)
    return cases


def load(directory: str = HERE) -> list[dict[str, Any]]:
    """Every case of ``directory`` (the corpus; :data:`MOCKED` for the
    cases with mocked actions)."""
    cases: list[dict[str, Any]] = []
    seen: set[str] = set()
    for fname in sorted(os.listdir(directory)):
        if not fname.endswith('.yaml'):
            continue
        for case in load_file(os.path.join(directory, fname)):
            if case['name'] in seen:
                raise ValueError('%s: duplicate case %s'
                                 % (fname, case['name']))
            seen.add(case['name'])
            cases.append(case)
    return cases
