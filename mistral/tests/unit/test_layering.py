"""Imports go one way: the pure core never reaches into the shell."""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

PURE = ('lang', 'workflow', 'expressions')
# The core gets its limits and settings as values (mistral.lang.limits,
# mistral.expressions.options), never from the configuration.
FORBIDDEN = ('mistral.db', 'mistral.rpc', 'mistral.api', 'mistral.engine',
             'mistral.executor', 'mistral.service', 'sqlalchemy',
             'oslo_messaging', 'pecan', 'oslo_config', 'mistral.config')
# (package, imports it must never make)
LAYERS = [
    ('db', ('mistral.api', 'mistral.rpc', 'mistral.engine',
            'mistral.executor', 'mistral.service')),
    ('engine', ('mistral.api',)),
    ('executor', ('mistral.api',)),
    ('rpc', ('mistral.api', 'mistral.engine', 'mistral.executor')),
]


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update('%s.%s' % (node.module, a.name) for a in node.names)
    return found


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob('*.py')):
        for name in _imports(path):
            if any(name == f or name.startswith(f + '.') for f in forbidden):
                bad.append('%s imports %s' % (path.relative_to(ROOT), name))
    return bad


@pytest.mark.parametrize('package', PURE)
def test_pure_core_imports_no_shell(package):
    assert (ROOT / package).is_dir()
    assert _violations(package, FORBIDDEN) == []


def test_the_rule_sees_configuration_imports(tmp_path, monkeypatch):
    # Both spellings the core used to read the configuration are caught.
    pkg = tmp_path / 'core'
    pkg.mkdir()
    (pkg / 'a.py').write_text('from mistral.config import CONF\n')
    (pkg / 'b.py').write_text('from mistral import config\n')
    (pkg / 'c.py').write_text('import oslo_config.cfg\n')
    monkeypatch.setattr(sys.modules[__name__], 'ROOT', tmp_path)
    found = _violations('core', FORBIDDEN)
    assert {v.split()[0] for v in found} == {
        'core/a.py', 'core/b.py', 'core/c.py'}


@pytest.mark.parametrize('package,forbidden', LAYERS)
def test_layers_import_one_way(package, forbidden):
    assert _violations(package, forbidden) == []
