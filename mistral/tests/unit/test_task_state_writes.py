"""Every change of a task execution's state goes through the task machine's
transition table: the shell writes ``task_ex.state`` in one place only
(mistral.engine.tasks._transition), plus the rollback of a finish that
failed to evaluate (finish_task puts back the state it had)."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
ALLOWED = {('engine/tasks.py', '_transition'),
           ('engine/tasks.py', 'finish_task')}


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        found: list[ast.expr] = []
        for t in node.targets:
            found += list(t.elts) if isinstance(t, ast.Tuple) else [t]
        return found
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [node.target]
    return []


def _task_state_writes(path: pathlib.Path, root: pathlib.Path = ROOT
                       ) -> list[tuple[str, str, int]]:
    tree = ast.parse(path.read_text(), str(path))
    rel = str(path.relative_to(root))
    out = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            for t in _targets(node):
                if isinstance(t, ast.Attribute) and t.attr == 'state' and \
                        isinstance(t.value, ast.Name) and \
                        'task' in t.value.id:
                    out.append((rel, func.name, node.lineno))
    return out


def test_the_finder_finds_a_task_state_write(tmp_path):
    sample = tmp_path / 'sample.py'
    sample.write_text('def f(task_ex):\n    task_ex.state = "X"\n'
                      'def g(task_ex):\n    a, task_ex.state = 1, 2\n'
                      'def h(wf_ex, task_ex):\n    wf_ex.state = 1\n'
                      '    x = task_ex.state\n')
    assert [w[1] for w in _task_state_writes(sample, tmp_path)] == ['f',
                                                                    'g']


def test_task_states_change_only_through_the_machine():
    writes = []
    for path in sorted((ROOT / 'engine').rglob('*.py')):
        writes += _task_state_writes(path)
    assert {(f, fn) for f, fn, _ in writes} <= ALLOWED, writes
    assert len(writes) == 2, writes
