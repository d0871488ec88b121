"""doc/source/user/language_checklist.rst stays true: it lists every
language row of the reference checklist, and every test it names exists."""

from __future__ import annotations

import ast
import os
import re

from mistral.tests.functional.corpus import loader

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..'))
DOC = os.path.join(ROOT, 'doc', 'source', 'user', 'language_checklist.rst')
TESTS = os.path.join(ROOT, 'mistral', 'tests')
ROWS = list(range(95, 151)) + list(range(164, 168))
# Language keywords quoted in the table (not test names).
KEYWORDS = ('atomic', 'target', 'task_name')


def _rows() -> dict[int, str]:
    with open(DOC) as f:
        text = f.read()
    found = re.findall(r'^   \* - (\d+)\n     - .*\n     - (.*)$', text,
                       flags=re.M)
    return {int(num): tests for num, tests in found}


def _test_functions(path: str) -> set[str]:
    with open(path) as f:
        tree = ast.parse(f.read())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_every_language_row_is_listed_once_with_tests():
    rows = _rows()
    assert sorted(rows) == ROWS
    assert all('``' in tests for tests in rows.values())


def test_every_named_test_exists():
    cases = {c['name'] for c in loader.load()}
    missing = []
    for num, tests in _rows().items():
        current_file = None
        for part in re.split(r'[;,]', tests):
            names = re.findall(r'``([^`]+)``', part)
            for name in names:
                if name.startswith('$') or name in KEYWORDS:
                    continue
                if '::' in name:
                    current_file, func = name.split('::')
                elif name.endswith('.py'):
                    current_file, func = name, None
                elif re.fullmatch(r'test_\w+', name):
                    func = name
                else:
                    if name not in cases:
                        missing.append((num, name))
                    continue
                base = TESTS if current_file.startswith('functional/') \
                    else os.path.join(TESTS, 'unit')
                path = os.path.join(base, current_file)
                if not os.path.exists(path):
                    missing.append((num, current_file))
                elif func and func not in _test_functions(path):
                    missing.append((num, '%s::%s' % (current_file, func)))
    assert missing == []
