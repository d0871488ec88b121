"""Ad-hoc actions: base-input, defaults, output, chains and the provider."""

from __future__ import annotations

import pytest
import sqlalchemy as sa  # noqa: F401

from mistral import exceptions
from mistral.actions import adhoc
from mistral.actions import registry
from mistral.actions import runner
from mistral.db import api as db_api
from mistral.db import models
from mistral.lang import parser

ACTIONS = """---
version: '2.0'

greet:
  base: std.echo
  base-input:
    output: "<% $.greeting %>, <% $.name %>!"
  input:
    - name
    - greeting: Hello
  output:
    text: <% $ %>
    size: <% len($) %>

shout:
  base: greet greeting="HEY"
  base-input:
    name: <% $.name %>
  output: <% $.text.toUpper() %>

inline:
  base: 'std.echo output={"a": 1}'

wait_then_echo:
  base: std.echo
  base-input:
    output: <% $.who %> from <% $.wf_var %>
  input:
    - who

loop_a:
  base: loop_b

loop_b:
  base: loop_a

broken_base:
  base: std.no_such_action

async_one:
  base: std.async_noop
  output: <% $.x %>
"""


@pytest.fixture
def specs():
    return {s.name: s for s in parser.parse_actions(ACTIONS)}


@pytest.fixture
def lookup(specs, fresh_registry):
    def find(name, namespace):
        if name in specs:
            return adhoc.AdHocActionDescriptor(specs[name], namespace,
                                               lookup=find)
        return registry.find(name, namespace)
    return find


def test_descriptor_fields(lookup):
    desc = lookup('greet', '')
    assert desc.name == 'greet'
    assert desc.params_spec == 'name, greeting="Hello"'
    assert desc.is_system is False
    assert desc.action_class == 'mistral.actions.adhoc.AdHocAction'
    assert 'base: std.echo' in desc.definition


def test_base_input_defaults_and_output(lookup, ctx):
    desc = lookup('greet', '')
    assert runner.run(desc, {'name': 'Ann'}, ctx) == {
        'data': {'text': 'Hello, Ann!', 'size': 11}}
    assert runner.run(desc, {'name': 'Bo', 'greeting': 'Hi'}, ctx) == {
        'data': {'text': 'Hi, Bo!', 'size': 7}}


def test_chain_applies_outputs_innermost_first(lookup, ctx):
    desc = lookup('shout', '')
    assert runner.run(desc, {'name': 'ann'}, ctx) == {'data': 'HEY, ANN!'}


def test_inline_base_params(lookup, ctx):
    assert runner.run(lookup('inline', ''), {}, ctx) == {'data': {'a': 1}}


def test_workflow_context_visible_to_base_input(lookup, ctx):
    action = lookup('wait_then_echo', '').instantiate(
        {'who': 'me'}, {'wf_var': 'the workflow', 'who': 'shadowed'})
    assert runner.run(action, None, ctx) == {'data': 'me from the workflow'}


def test_check_parameters(lookup):
    desc = lookup('greet', '')
    desc.check_parameters({'name': 'x'})
    with pytest.raises(exceptions.InputException) as e:
        desc.check_parameters({'nom': 'x'})
    assert str(e.value) == (
        "Invalid input [name=greet, class=mistral.actions.adhoc.AdHocAction"
        ", missing=['name'], unexpected=['nom']]")


def test_cycle_rejected(lookup, ctx):
    with pytest.raises(exceptions.InvalidActionException) as e:
        lookup('loop_a', '').instantiate({}, None)
    assert 'cycle' in str(e.value)
    assert 'cycle' in runner.run(lookup('loop_a', ''), {}, ctx)['error']


def test_missing_base(lookup):
    with pytest.raises(exceptions.InvalidActionException) as e:
        lookup('broken_base', '').instantiate({}, None)
    assert 'std.no_such_action' in str(e.value)


def test_async_base_output_applied_later(lookup, ctx):
    desc = lookup('async_one', '')
    action = desc.instantiate({}, None)
    assert action.is_sync() is False
    assert runner.run(desc, {}, ctx) is None
    # When the result arrives through the API the engine post-processes.
    from mistral_lib import actions as ml_actions
    assert desc.post_process_result(
        ml_actions.Result(data={'x': 42})) == ml_actions.Result(data=42)
    assert desc.post_process_result({'error': 'e'}) == {'error': 'e'}


@pytest.fixture
def db(tmp_path, conf):
    conf('connection', 'sqlite:///%s' % (tmp_path / 'adhoc.db'),
         group='database')
    db_api.dispose()
    models.Base.metadata.create_all(db_api.get_engine())
    registry.reset()
    yield
    db_api.dispose()


def _store(spec, namespace='', project_id='<default-project>',
           scope='private'):
    with db_api.transaction() as s:
        s.add(models.ActionDefinition(
            name=spec.name, namespace=namespace, project_id=project_id,
            scope=scope, definition=spec.definition, spec=spec.to_dict(),
            input=spec.input_string, description=spec.description,
            tags=spec.tags, is_system=False))


def test_provider_reads_the_database(db, specs, ctx):
    _store(specs['greet'])
    _store(specs['shout'], namespace='ns1')
    desc = registry.find('greet')
    assert isinstance(desc, adhoc.AdHocActionDescriptor)
    assert desc.id and desc.created_at
    assert runner.run(desc, {'name': 'Db'}, ctx) == {
        'data': {'text': 'Hello, Db!', 'size': 10}}
    # Not visible outside its namespace...
    assert registry.find('shout') is None
    # ...and found in it, with its base from the default namespace.
    assert runner.run(registry.find('shout', 'ns1'), {'name': 'x'},
                      ctx) == {'data': 'HEY, X!'}
    names = [d.name for d in registry.list_all()]
    assert 'greet' in names and 'std.echo' in names
    assert 'shout' not in names


def test_provider_project_visibility(db, specs):
    _store(specs['greet'], project_id='p1')
    assert registry.find('greet', project_id='p1') is not None
    assert registry.find('greet', project_id='p2') is None
    _store(specs['inline'], project_id='p1', scope='public')
    assert registry.find('inline', project_id='p2') is not None


def test_adhoc_action_survives_rpc_serialization(lookup, ctx):
    from mistral_lib import serialization
    poly = serialization.get_polymorphic_serializer()
    action = lookup('greet', '').instantiate({'name': 'Rpc'}, None)
    clone = poly.deserialize(poly.serialize(action))
    assert isinstance(clone, adhoc.AdHocAction)
    assert clone.name == 'greet'
    assert runner.run(clone, None, ctx) == {'data': 'Hello, Rpc!'}


def test_list_default_does_not_confuse_the_input_check(fresh_registry):
    [spec] = parser.parse_actions(
        "version: '2.0'\nsum:\n  base: std.echo\n  input:\n"
        "    - items: [1, 2, 3]\n  base-input:\n"
        "    output: <% len($.items) %>\n")
    desc = adhoc.AdHocActionDescriptor(spec)
    desc.check_parameters({})
    desc.check_parameters({'items': [4]})
    with pytest.raises(exceptions.InputException):
        desc.check_parameters({'2': 1})
    action = desc.instantiate({}, None)
    assert action.base_action.output == 3
