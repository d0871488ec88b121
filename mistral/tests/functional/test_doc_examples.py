"""Every example of the documentation runs and does what its text says.

Each ``doc/source/examples/*.yaml`` file starts with a comment header::

    # expect:
    #   workflow: name to start (default: the only workflow of the file)
    #   input: {...}            workflow input
    #   params: {...}           execution params (env, task_name, ...)
    #   requires: [file.yaml]   example files to store first (ad-hoc actions)
    #   state: SUCCESS          final state of the execution
    #   output: {...}           the whole workflow output
    #   output_keys: [...]      output keys whose values vary (uuid())
    #   tasks: {name: STATE}    final state of named tasks
#   actions: {name: N}      number of action executions of named tasks
    #   state_info: text        a substring of the execution's state_info

A file with ``kind: actions`` only holds ad-hoc actions; a file whose
document has a top-level ``workflows`` key is a workbook. Every file is
stored and started on an engine and executor running in this process
(SQLite), as the API would store it: the deterministic harness of
``mistral.testing`` (waiting settles it; timers fire from a fake clock).
"""

from __future__ import annotations

import pathlib
from typing import Any, Iterator

import pytest
import yaml

from mistral.tests.functional.engine.conftest import EngineEnv
from mistral.tests.functional.engine.deterministic import harness_engine

EXAMPLES = (pathlib.Path(__file__).resolve().parents[3]
            / 'doc' / 'source' / 'examples')
FILES = sorted(p.name for p in EXAMPLES.glob('*.yaml'))


def _header(path: pathlib.Path) -> dict[str, Any]:
    lines = []
    started = False
    for line in path.read_text().splitlines():
        if not line.startswith('#'):
            break
        if line.strip() == '# expect:':
            started = True
            continue
        if started:
            lines.append(line[2:] if line.startswith('# ') else line[1:])
    assert started, '%s has no "# expect:" header' % path.name
    return yaml.safe_load('\n'.join(lines)) or {}


def _store(env: EngineEnv, name: str, namespace: str) -> list[str]:
    """Store one example file; return the names of its workflows."""
    from mistral.tests.functional.corpus.embedded import _store_workbook

    path = EXAMPLES / name
    text = path.read_text()
    head = _header(path)
    for extra in head.get('requires') or []:
        _store(env, extra, namespace)
    if head.get('kind') == 'actions':
        env.create_actions(text, namespace=namespace)
        return []
    doc = yaml.safe_load(text)
    if 'workflows' in doc:
        _store_workbook(text, namespace)
        return ['%s.%s' % (doc['name'], wf) for wf in doc['workflows']]
    if 'actions' in doc:
        env.create_actions(text, namespace=namespace)
    env.create_workflows(text, namespace=namespace)
    return [k for k in doc if k not in ('version', 'actions')]


@pytest.fixture(scope='module')
def doc_env() -> Iterator[EngineEnv]:
    with harness_engine('sqlite', prefix='mistral-doc-examples-') as env:
        yield env


def test_examples_exist() -> None:
    # The language reference includes these; an empty glob would make the
    # parametrised test below vacuous.
    assert len(FILES) >= 10, FILES


@pytest.mark.parametrize('name', FILES)
def test_example(doc_env: EngineEnv, name: str) -> None:
    head = _header(EXAMPLES / name)
    namespace = 'doc-' + name.replace('.yaml', '').replace('_', '-')
    workflows = _store(doc_env, name, namespace)
    if head.get('kind') == 'actions':
        assert 'state' not in head, name
        return
    start = head.get('workflow')
    if start is None:
        assert len(workflows) == 1, (name, workflows)
        start = workflows[0]
    ex = doc_env.start(start, head.get('input') or {},
                       wf_namespace=namespace, **(head.get('params') or {}))
    # PAUSED (pause-before) is a final state for these examples.
    wf = doc_env.wait(ex['id'], timeout=60,
                      states=('SUCCESS', 'ERROR', 'CANCELLED', 'PAUSED'))
    assert wf.state == head['state'], (name, wf.state, wf.state_info)
    if 'output' in head:
        output = dict(wf.output or {})
        for key in head.get('output_keys') or []:
            assert output.pop(key, None), (name, key, wf.output)
        assert output == head['output'], (name, wf.output)
    if 'state_info' in head:
        assert head['state_info'] in (wf.state_info or ''), (
            name, wf.state_info)
    if 'tasks' in head:
        got = {}
        for t in doc_env.tasks(wf.id):
            got[t.name] = t.state
        assert {k: got.get(k) for k in head['tasks']} == head['tasks'], (
            name, got)
    if 'actions' in head:
        counts = {t.name: len(doc_env.actions(t.id))
                  for t in doc_env.tasks(wf.id)}
        assert {k: counts.get(k) for k in head['actions']} == \
            head['actions'], (name, counts)
