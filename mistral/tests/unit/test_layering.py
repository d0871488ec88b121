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
# The services that hand work to each other through mistral.handoff (the
# outbox, the notification queue, leases) and must not import each other
# for it.
SERVICES = ('mistral.engine', 'mistral.executor', 'mistral.notifiers',
            'mistral.scheduler', 'mistral.event_engine')
# (package, imports it must never make). Function-level imports count as
# much as module-level ones (_imports walks the whole tree).
LAYERS = [
    ('db', ('mistral.api', 'mistral.rpc', 'mistral.engine',
            'mistral.executor', 'mistral.service', 'mistral.handoff',
            'mistral.services', 'mistral.actions', 'mistral.auth',
            'mistral.notifiers', 'mistral.scheduler',
            'mistral.event_engine')),
    # The engine hands work on by writing outbox rows or calling a hook
    # (mistral.handoff.hooks) that the process wired at start.
    ('engine', ('mistral.api', 'mistral.rpc', 'mistral.service',
                'mistral.services', 'mistral.executor', 'mistral.notifiers',
                'mistral.scheduler', 'mistral.event_engine')),
    # Executors apply results with the engine's code (by design), and
    # nothing else of the other services.
    ('executor', ('mistral.api', 'mistral.service', 'mistral.notifiers',
                  'mistral.scheduler', 'mistral.event_engine')),
    ('notifiers', ('mistral.api', 'mistral.service', 'mistral.engine',
                   'mistral.executor', 'mistral.scheduler',
                   'mistral.event_engine')),
    ('scheduler', ('mistral.api', 'mistral.service', 'mistral.engine',
                   'mistral.executor', 'mistral.notifiers',
                   'mistral.event_engine')),
    ('handoff', SERVICES + ('mistral.rpc', 'mistral.api', 'mistral.service',
                            'mistral.services')),
    ('rpc', ('mistral.api', 'mistral.service', 'mistral.handoff')
     + SERVICES),
    # The services the API, the scheduler and the event engine share
    # (triggers, maintenance, expiration) run no engine code.
    ('services', ('mistral.api', 'mistral.service', 'mistral.engine',
                  'mistral.executor', 'mistral.notifiers',
                  'mistral.scheduler', 'mistral.event_engine')),
    # The API is composed by mistral.service; its authentication's start-up
    # checks live with the authentication (mistral.auth.checks).
    ('api', ('mistral.service', 'mistral.cmd', 'mistral.wsgi')),
    ('auth', ('mistral.api', 'mistral.service', 'mistral.services',
              'mistral.db', 'mistral.rpc') + SERVICES),
    # Within the pure core: workflow builds on lang, lang on expressions.
    ('lang', ('mistral.workflow',)),
    ('expressions', ('mistral.lang', 'mistral.workflow')),
]
# Packages at the bottom, and the only parts of mistral each may use
# (besides the standard library and third-party packages).
USES = [
    # The neutral home of durable hand-offs.
    ('handoff', ('mistral.handoff', 'mistral.db', 'mistral.utils',
                 'mistral.metrics')),
    # Helpers for everyone, the pure core included.
    ('utils', ('mistral.utils', 'mistral.exceptions')),
    # Every option is defined and registered here (the action subsystem's
    # and the console's too), so the packages that read options import
    # the configuration, never the other way round. It hands the pure
    # core its settings through the core's own interfaces
    # (mistral.config.core_settings).
    ('config', ('mistral.config', 'mistral.config_compat', 'mistral.utils',
                'mistral.version', 'mistral.lang.limits',
                'mistral.expressions.options')),
]

# Services that hand work over through mistral.handoff and must not run
# engine code, not even through the modules they import (transitively,
# package __init__ modules and function-level imports included).
ENGINE_FREE = ('scheduler', 'event_engine', 'notifiers')

# Imports (file, module) that close a cycle of the package graph and are
# accepted, each for a reason; any other cycle fails
# test_no_package_cycles, and an entry that no longer exists fails
# test_accepted_cycle_imports_exist.
# None is left: mistral-db-manage (whose populate command needs the action
# catalogue) lives in mistral.cmd, above the database layer.
ACCEPTED_CYCLE_IMPORTS: set[tuple[str, str]] = set()


def _accepted(rel: str, name: str) -> bool:
    # "from mistral.services import populate" names mistral.services too.
    return any(rel == f and (name == target or target.startswith(name + '.'))
               for f, target in ACCEPTED_CYCLE_IMPORTS)


def _imports(path: pathlib.Path) -> set[str]:
    # ast.walk: imports inside functions (lazy ones) are found too.
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update('%s.%s' % (node.module, a.name) for a in node.names)
    return found


def _paths(package: str) -> list[pathlib.Path]:
    here = ROOT / package
    return sorted(here.rglob('*.py')) if here.is_dir() else [
        ROOT / (package + '.py')]


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in _paths(package):
        rel = str(path.relative_to(ROOT))
        for name in _imports(path):
            if any(name == f or name.startswith(f + '.') for f in forbidden) \
                    and not _accepted(rel, name):
                bad.append('%s imports %s' % (rel, name))
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


def _foreign_uses(package: str, uses: tuple[str, ...]) -> list[str]:
    bad = []
    for path in _paths(package):
        for name in _imports(path):
            if (name == 'mistral' or name.startswith('mistral.')) and \
                    not any(name == u or name.startswith(u + '.')
                            # "from mistral.lang import limits" names
                            # mistral.lang too.
                            or u.startswith(name + '.') for u in uses):
                bad.append('%s imports %s' % (path.relative_to(ROOT), name))
    return bad


@pytest.mark.parametrize('package,uses', USES)
def test_bottom_packages_use_only_what_they_may(package, uses):
    assert _foreign_uses(package, uses) == []


def test_the_rule_sees_an_option_module_importing_its_reader(
        tmp_path, monkeypatch):
    # The cycle this rule removed: the configuration gathering the options
    # of the packages that read them.
    pkg = tmp_path / 'config'
    pkg.mkdir()
    (pkg / '__init__.py').write_text(
        'def list_opts():\n'
        '    from mistral.api import console\n'
        '    return console.list_opts()\n')
    (pkg / 'core_settings.py').write_text(
        'from mistral.lang import limits\n')
    monkeypatch.setattr(sys.modules[__name__], 'ROOT', tmp_path)
    assert sorted(_foreign_uses('config', dict(USES)['config'])) == [
        'config/__init__.py imports mistral.api',
        'config/__init__.py imports mistral.api.console']


def test_the_rule_sees_lazy_imports(tmp_path, monkeypatch):
    # A function-level import is the usual way a cycle comes back.
    pkg = tmp_path / 'engine'
    pkg.mkdir()
    (pkg / 'a.py').write_text(
        'def send():\n'
        '    from mistral.executor import executor\n'
        '    return executor\n')
    (pkg / 'b.py').write_text(
        'class C:\n'
        '    def m(self):\n'
        '        import mistral.rpc.clients\n')
    monkeypatch.setattr(sys.modules[__name__], 'ROOT', tmp_path)
    found = _violations('engine', dict(LAYERS)['engine'])
    assert sorted(found) == [
        'engine/a.py imports mistral.executor',
        'engine/a.py imports mistral.executor.executor',
        'engine/b.py imports mistral.rpc.clients',
    ]


def _package_graph(root: pathlib.Path) -> dict[str, set[str]]:
    """Top-level package (or module) of mistral -> those it imports
    (but for ACCEPTED_CYCLE_IMPORTS)."""
    graph: dict[str, set[str]] = {}
    tops = {p.stem if p.suffix == '.py' else p.name
            for p in root.iterdir()
            if (p.suffix == '.py' and p.stem != '__init__')
            or (p / '__init__.py').exists()}
    tops.discard('tests')
    for top in tops:
        here = root / top
        paths = sorted(here.rglob('*.py')) if here.is_dir() else [
            root / (top + '.py')]
        deps = graph.setdefault(top, set())
        for path in paths:
            rel = str(path.relative_to(root))
            for name in _imports(path):
                if _accepted(rel, name):
                    continue
                parts = name.split('.')
                if parts[0] == 'mistral' and len(parts) > 1 and \
                        parts[1] in tops and parts[1] != top:
                    deps.add(parts[1])
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one package
    (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_no_package_cycles():
    assert _cycles(_package_graph(ROOT)) == []


def test_accepted_cycle_imports_exist():
    # An accepted import that went away is removed from the list, so that
    # it cannot come back unnoticed.
    for rel, target in ACCEPTED_CYCLE_IMPORTS:
        names = _imports(ROOT / rel)
        assert target in names, (rel, target)


def test_the_cycle_rule_sees_a_lazy_import_cycle(tmp_path):
    for name, body in (
            ('engine', 'from mistral.handoff import outbox\n'),
            ('handoff', 'def send():\n'
                        '    from mistral.executor import executor\n'),
            ('executor', 'from mistral.engine import unit_of_work\n'),
            ('db', '')):
        (tmp_path / name).mkdir()
        (tmp_path / name / '__init__.py').write_text(body)
    assert _cycles(_package_graph(tmp_path)) == [
        ['engine', 'executor', 'handoff']]


def _module_graph(root: pathlib.Path) -> dict[str, set[str]]:
    """Module of mistral (tests aside) -> the modules importing it runs:
    those it names and the packages above them (their __init__)."""
    modules: dict[str, pathlib.Path] = {}
    for path in root.rglob('*.py'):
        parts = list(path.relative_to(root.parent).with_suffix('').parts)
        if parts[1:2] == ['tests']:
            continue
        if parts[-1] == '__init__':
            parts.pop()
        modules['.'.join(parts)] = path
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        deps = graph.setdefault(module, set())
        for name in _imports(path):
            parts = name.split('.')
            # "from a.b import c" names a.b.c: a module, or a name in a.b.
            while parts and '.'.join(parts) not in modules:
                parts.pop()
            for i in range(2, len(parts) + 1):
                deps.add('.'.join(parts[:i]))
    return graph


def _reaches(graph: dict[str, set[str]], package: str,
             target: str) -> list[str]:
    """A chain of imports from ``package`` to ``target``, or []."""
    start = 'mistral.' + package
    came_from: dict[str, str | None] = {
        m: None for m in graph if m == start or m.startswith(start + '.')}
    todo = sorted(came_from)
    while todo:
        module = todo.pop()
        for dep in sorted(graph.get(module, ())):
            if dep in came_from:
                continue
            came_from[dep] = module
            if dep == target or dep.startswith(target + '.'):
                chain = [dep]
                while came_from[chain[-1]] is not None:
                    chain.append(came_from[chain[-1]])  # type: ignore
                return chain[::-1]
            todo.append(dep)
    return []


@pytest.mark.parametrize('package', ENGINE_FREE)
def test_services_do_not_reach_engine_code(package):
    assert _reaches(_module_graph(ROOT), package, 'mistral.engine') == []


def test_the_reach_rule_follows_imports_and_packages(tmp_path):
    # scheduler -> services.triggers (and services/__init__) -> engine:
    # the path the scheduler used to take through the trigger service.
    root = tmp_path / 'mistral'
    for rel, body in (
            ('__init__.py', ''),
            ('scheduler/__init__.py', ''),
            ('scheduler/scheduler.py',
             'from mistral.services import triggers\n'),
            ('services/__init__.py', ''),
            ('services/triggers.py', 'def f():\n'
                                     '    from mistral.db import api\n'),
            ('db/__init__.py', 'from mistral.engine import definitions\n'),
            ('db/api.py', ''),
            ('engine/__init__.py', ''),
            ('engine/definitions.py', '')):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body)
    assert _reaches(_module_graph(root), 'scheduler', 'mistral.engine') == [
        'mistral.scheduler.scheduler', 'mistral.services.triggers',
        'mistral.db', 'mistral.engine']
