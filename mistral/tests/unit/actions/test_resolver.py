"""One action resolver for the engine and the executor, and the cache of
parsed ad-hoc specs behind it (invalidated by updates and deletes)."""

from __future__ import annotations

import types

import pytest
import sqlalchemy as sa

from mistral import exceptions as exc
from mistral.actions import adhoc
from mistral.actions import registry
from mistral.actions import resolver
from mistral.api.controllers.v2 import action as action_ctl
from mistral.api.controllers.v2 import workbook as workbook_ctl
from mistral.db import api as db_api
from mistral.db import models
from mistral.lang import parser

PROJECT = '<default-project>'
CTX = types.SimpleNamespace(project_id=PROJECT)


def _actions(output: str) -> str:
    return ("version: '2.0'\nsay:\n  base: std.echo\n  input:\n"
            "    - name\n  base-input:\n    output: %s\n" % output)


def _workbook(output: str) -> str:
    return ("version: '2.0'\nname: wb\nactions:\n  hi:\n    base: std.echo"
            "\n    base-input:\n      output: %s\nworkflows:\n  wf:\n"
            "    tasks:\n      t:\n        action: hi\n" % output)


@pytest.fixture
def db(tmp_path, conf):
    conf('connection', 'sqlite:///%s' % (tmp_path / 'resolver.db'),
         group='database')
    db_api.dispose()
    models.Base.metadata.create_all(db_api.get_engine())
    registry.reset()
    adhoc.clear_cache()
    yield
    adhoc.clear_cache()
    db_api.dispose()


@pytest.fixture
def parses(monkeypatch):
    """How many ad-hoc specs were parsed from their stored dicts."""
    calls = []
    real = parser.action_spec_from_dict

    def counting(data):
        calls.append(data.get('name'))
        return real(data)
    monkeypatch.setattr(parser, 'action_spec_from_dict', counting)
    return calls


def _upsert_actions(text: str, namespace: str = '') -> None:
    specs = parser.parse_actions(text)
    with db_api.transaction() as s:
        action_ctl.upsert(s, CTX, [(sp.name, sp) for sp in specs],
                          namespace, 'private', definition=text)


def _store_workbook(text: str, update: bool) -> None:
    with db_api.transaction() as s:
        workbook_ctl._store(s, CTX, parser.parse_workbook(text), '',
                            'private', update)


def _output(desc, action_input):
    return desc.instantiate(action_input, {}).base_action.output


def test_not_found_and_message(fresh_registry):
    with pytest.raises(exc.InvalidActionException) as e:
        resolver.find('std.nope')
    assert str(e.value) == 'Failed to find action [action_name=std.nope]'
    assert resolver.lookup('std.nope') is None


def test_resolve_checks_the_input(fresh_registry):
    name, desc = resolver.resolve('std.echo', {'output': 1})
    assert name == 'std.echo' and desc.name == 'std.echo'
    with pytest.raises(exc.MistralError):
        resolver.resolve('std.echo', {'no_such_param': 1})


def test_workbook_short_names_first(monkeypatch):
    seen = []

    def find(name, namespace='', project_id=None):
        seen.append(name)
        return object() if name == 'wb.hi' else None
    monkeypatch.setattr(registry, 'find', find)
    assert resolver.candidates('hi', 'wb.wf') == ['wb.hi', 'hi']
    assert resolver.candidates('hi', 'wf') == ['hi']
    assert resolver.find('hi', workflow_name='wb.wf')[0] == 'wb.hi'
    seen.clear()
    with pytest.raises(exc.InvalidActionException) as e:
        resolver.find('x', workflow_name='wb.wf')
    assert seen == ['wb.x', 'x']
    assert 'action_name=x]' in str(e.value)


def test_memo_answers_repeated_lookups(monkeypatch):
    calls = []

    def find(name, namespace='', project_id=None):
        calls.append((name, namespace, project_id))
        return None if name == 'missing' else ('desc', name)
    monkeypatch.setattr(registry, 'find', find)
    memo: resolver.Memo = {}
    for _ in range(5):
        assert resolver.lookup('a', 'ns', 'p', memo) == ('desc', 'a')
        assert resolver.lookup('missing', 'ns', 'p', memo) is None
    assert calls == [('a', 'ns', 'p'), ('missing', 'ns', 'p')]
    # Another project or namespace is another lookup; no memo, always.
    resolver.lookup('a', 'ns', 'q', memo)
    resolver.lookup('a', '', 'p', memo)
    resolver.lookup('a', 'ns', 'p')
    assert len(calls) == 5


def test_adhoc_spec_parsed_once_per_version(db, parses):
    _upsert_actions(_actions('"<% $.name %>"'))
    for _ in range(3):
        _, desc = resolver.resolve('say', {'name': 'x'})
        assert _output(desc, {'name': 'x'}) == 'x'
    assert parses == ['say']


def test_adhoc_update_is_seen_at_once(db, parses):
    _upsert_actions(_actions('"<% $.name %>"'))
    assert _output(resolver.lookup('say'), {'name': 'x'}) == 'x'
    # Updated in place (same id), within the same timestamp or not.
    _upsert_actions(_actions('"v2 <% $.name %>"'))
    assert _output(resolver.lookup('say'), {'name': 'x'}) == 'v2 x'
    assert len(parses) == 2


def test_adhoc_update_within_one_timestamp(db, monkeypatch):
    # A second update stamped with the same updated_at (a database
    # without sub-second timestamps): the text tells them apart.
    from mistral.utils import timeutils
    now = timeutils.utcnow()
    monkeypatch.setattr(timeutils, 'utcnow', lambda: now)
    _upsert_actions(_actions('"a"'))
    _upsert_actions(_actions('"b"'))
    assert _output(resolver.lookup('say'), {'name': 'x'}) == 'b'
    _upsert_actions(_actions('"c"'))
    assert _output(resolver.lookup('say'), {'name': 'x'}) == 'c'


def test_adhoc_delete_and_create_again(db):
    _upsert_actions(_actions('"old"'))
    old = resolver.lookup('say')
    assert _output(old, {'name': 'x'}) == 'old'
    with db_api.transaction() as s:
        s.execute(sa.delete(models.ActionDefinition))
    assert resolver.lookup('say') is None
    with pytest.raises(exc.InvalidActionException):
        resolver.resolve('say', {'name': 'x'})
    _upsert_actions(_actions('"new"'))
    new = resolver.lookup('say')
    assert new.id != old.id
    assert _output(new, {'name': 'x'}) == 'new'


def test_workbook_update_reaches_its_actions(db):
    _store_workbook(_workbook('one'), update=False)
    _, desc = resolver.find('hi', workflow_name='wb.wf')
    assert desc.name == 'wb.hi' and _output(desc, {}) == 'one'
    _store_workbook(_workbook('two'), update=True)
    _, desc = resolver.find('hi', workflow_name='wb.wf')
    assert _output(desc, {}) == 'two'


def test_shared_spec_defaults_are_not_shared_input(db):
    _upsert_actions("version: '2.0'\nacc:\n  base: std.echo\n  input:\n"
                    "    - items: [1]\n  base-input:\n"
                    "    output: <% $.items %>\n")
    first = resolver.lookup('acc').instantiate({}, {}).base_action.output
    first.append(2)
    again = resolver.lookup('acc').instantiate({}, {}).base_action.output
    assert again == [1]


def test_engine_resolves_a_with_items_action_once(db, parses, monkeypatch):
    # The engine's task planning (tasks._check_actions) and the pending
    # elements after it share the transaction's memo: one lookup (one
    # query) for all elements, however many.
    from mistral.engine import tasks
    from mistral.workflow import task_plan

    _store_workbook(_workbook('x'), update=False)
    lookups = []
    real = registry.find

    def counting(name, namespace='', project_id=None):
        lookups.append(name)
        return real(name, namespace, project_id=project_id)
    monkeypatch.setattr(registry, 'find', counting)
    run = types.SimpleNamespace(
        wf_ex=types.SimpleNamespace(workflow_namespace='',
                                    project_id=PROJECT,
                                    workflow_name='wb.wf'),
        resolved_actions={})
    plan = task_plan.TaskPlan('ACTION', [
        task_plan.ActionRun('hi', {}, index=i) for i in range(50)])
    descs = tasks._check_actions(run, plan)
    assert len(descs) == 50
    assert {item.action_name for item in plan.runs} == {'wb.hi'}
    assert lookups == ['wb.hi']
    # A pending element taken later in the same transaction.
    item = task_plan.ActionRun('wb.hi', {}, index=50)
    assert tasks._find_action(run, item).name == 'wb.hi'
    assert lookups == ['wb.hi', 'wb.wb.hi']
    assert len(parses) == 1  # and parsed once
    # An unknown action or a wrong input fails the plan, as before.
    bad = task_plan.TaskPlan('ACTION', [task_plan.ActionRun('hi', {'x': 1})])
    with pytest.raises(exc.MistralError):
        tasks._check_actions(run, bad)
    with pytest.raises(exc.InvalidActionException):
        tasks._check_actions(run, task_plan.TaskPlan(
            'ACTION', [task_plan.ActionRun('nope', {})]))
