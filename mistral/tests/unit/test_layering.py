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
            'mistral.executor', 'mistral.service', 'mistral.handoff')),
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
]
# mistral.handoff is the neutral home of durable hand-offs: besides the
# standard library and third-party packages, it uses these alone.
HANDOFF_USES = ('mistral.handoff', 'mistral.db', 'mistral.utils',
                'mistral.metrics')

# Edges of the package graph that close a cycle and are accepted for now,
# each for a reason; any other cycle fails test_no_package_cycles.
ACCEPTED_CYCLE_EDGES = {
    # list_opts() gathers every option group for oslo-config-generator
    # (and registers them all up front).
    ('config', 'api'), ('config', 'service'), ('config', 'actions'),
    # The API application runs the start-up checks of its authentication
    # (mistral.service.startup), which the service package composes.
    ('api', 'service'),
    # The database tools: populating the preinstalled definitions after a
    # migration, importing an upstream database's triggers.
    ('db', 'services'),
    # std.http's egress settings are options of the actions' group.
    ('utils', 'actions'),
    # Within the pure core: specs name task states and the data-flow
    # helpers; YAQL's yaml functions use the language's safe loader.
    ('lang', 'workflow'), ('expressions', 'lang'),
}


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


def test_handoff_uses_only_the_database_and_utilities():
    bad = []
    for path in sorted((ROOT / 'handoff').rglob('*.py')):
        for name in _imports(path):
            if name.startswith('mistral') and not any(
                    name == u or name.startswith(u + '.')
                    for u in HANDOFF_USES):
                bad.append('%s imports %s' % (path.relative_to(ROOT), name))
    assert bad == []


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
    """Top-level package (or module) of mistral -> those it imports."""
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
            for name in _imports(path):
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
    graph = _package_graph(ROOT)
    for src, dst in ACCEPTED_CYCLE_EDGES:
        graph.get(src, set()).discard(dst)
    assert _cycles(graph) == []


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
