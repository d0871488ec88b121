"""Workflow start and finish rules (pure)."""

from __future__ import annotations

import pytest

from mistral import exceptions as exc
from mistral.lang import parser
from mistral.utils import dicts
from mistral.workflow import data_flow
from mistral.workflow import lifecycle
from mistral.workflow import states
from mistral.workflow import task_plan

WF = """
version: '2.0'
wf:
  input:
    - name
    - greeting: Hello
    - opts: {a: 1}
  vars:
    hi: <% $.greeting %> <% $.name %>
  output:
    msg: <% $.msg %>
    env_k: <% env().k %>
  output-on-error:
    oe: <% $.name %>
  tasks:
    t1:
      action: std.echo output="<% $.hi %>"
"""


@pytest.fixture
def spec():
    return parser.parse_workflows(WF)[0]


def test_input_defaults_filled_in_declaration_order(spec):
    got = lifecycle.complete_input(spec, {'name': 'Bob'})
    assert list(got) == ['name', 'greeting', 'opts']
    assert got == {'name': 'Bob', 'greeting': 'Hello', 'opts': {'a': 1}}


def test_missing_and_unexpected_input_is_a_400(spec):
    with pytest.raises(exc.InputException) as e:
        lifecycle.complete_input(spec, {'bogus': 1})
    assert e.value.http_code == 400
    msg = str(e.value)
    assert "missing=['name']" in msg and "unexpected=['bogus']" in msg
    assert 'name=wf' in msg


def test_vars_are_evaluated_over_input(spec):
    got = lifecycle.evaluate_vars(spec, env={},
                                  wf_input={'name': 'Bob',
                                            'greeting': 'Hi'})
    assert got == {'hi': 'Hi Bob'}


def test_success_output_is_evaluated_with_env(spec):
    out = lifecycle.finish(spec, final_context={'msg': 'm'}, env={'k': 'v'},
                           wf_context={}, wf_input={'name': 'Bob'})
    assert out.state == states.SUCCESS and out.state_info is None
    assert out.output == {'msg': 'm', 'env_k': 'v'}


def test_without_output_clause_the_final_context_is_the_output():
    spec = parser.parse_workflows("""
version: '2.0'
wf:
  tasks:
    t:
      action: std.noop
""")[0]
    final = data_flow.merge_end_contexts([{'a': 1, '__env': {}},
                                          {'b': 2}])
    out = lifecycle.finish(spec, final_context=final, env={}, wf_context={},
                           wf_input={})
    assert out.output == {'a': 1, 'b': 2}


def test_failure_info_and_output_on_error(spec):
    failed = [lifecycle.FailedTask('tid', 'boom', 'bad thing',
                                   [('aid', 0, 'bad thing')])]
    out = lifecycle.finish(spec, final_context={}, env={}, wf_context={},
                           wf_input={'name': 'Bob'}, failed=failed)
    assert out.state == states.ERROR
    assert out.state_info == (
        'Failure caused by error in tasks: boom\n\n'
        '  boom [task_ex_id=tid] -> bad thing\n'
        '    [action_ex_id=aid, idx=0]: bad thing\n')
    assert out.output == {'result': out.state_info, 'oe': 'Bob'}


def test_forced_fail_message_becomes_state_info(spec):
    out = lifecycle.finish(spec, final_context={}, env={}, wf_context={},
                           wf_input={'name': 'x'},
                           forced_state=states.ERROR, forced_info='stop')
    assert (out.state, out.state_info) == (states.ERROR, 'stop')
    assert out.output['result'] == 'stop'


def test_task_plan_merges_inline_params_and_env_action_defaults(spec):
    plan = task_plan.plan(spec.tasks['t1'], task_id='x',
                          env={'__actions': {'std.echo': {'output': 'd',
                                                          'delay': 0}}},
                          in_context={}, wf_context={'hi': 'yo'},
                          wf_input={})
    run = plan.runs[0]
    assert plan.type == 'ACTION'
    assert run.action_name == 'std.echo'
    # The task's own input wins over env defaults.
    assert run.input == {'output': 'yo', 'delay': 0}


def test_dynamic_input_must_be_a_dict():
    spec = parser.parse_workflows("""
version: '2.0'
wf:
  tasks:
    t:
      action: std.echo
      input: <% $.x %>
""")[0]
    with pytest.raises(exc.InputException):
        task_plan.plan(spec.tasks['t'], task_id='x', env={}, in_context={},
                       wf_context={}, wf_input={'x': [1]})


def test_safe_rerun_from_task_defaults_reaches_the_action_run():
    spec = parser.parse_workflows("""
version: '2.0'
wf:
  input: [safe]
  task-defaults:
    safe-rerun: <% $.safe %>
  tasks:
    a:
      action: std.noop
    b:
      action: std.noop
      safe-rerun: false
    c:
      with-items: x in [1, 2]
      action: std.echo output=<% $.x %>
""")[0]

    def runs(name, safe):
        return task_plan.plan(spec.tasks[name], task_id='x', env={},
                              in_context={}, wf_context={},
                              wf_input={'safe': safe}).runs

    assert [r.safe_rerun for r in runs('a', True)] == [True]
    assert [r.safe_rerun for r in runs('a', False)] == [False]
    # A task's own value wins over task-defaults.
    assert [r.safe_rerun for r in runs('b', True)] == [False]
    assert [r.safe_rerun for r in runs('c', True)] == [True, True]


PLAIN = """
version: '2.0'
wf:
  input: [a: 1]
  vars: {v: 2}
  tasks:
    t:
      action: std.noop
"""


def test_failed_output_is_result_merged_with_final_context():
    spec = parser.parse_workflows(PLAIN)[0]
    failed = [lifecycle.FailedTask('tid', 'boom', 'bad', [('aid', 0, 'bad')])]
    out = lifecycle.finish(spec, final_context={'p': 1, '__env': {}},
                           env={}, wf_context={'v': 2}, wf_input={'a': 1},
                           failed=failed)
    assert out.state == states.ERROR
    # Published values only: not the input, vars or internal keys.
    assert out.output == {'result': out.state_info, 'p': 1}


def test_forced_failure_and_fail_command_merge_the_final_context():
    spec = parser.parse_workflows(PLAIN)[0]
    out = lifecycle.finish(spec, final_context={'p': {'x': 1}}, env={},
                           wf_context={}, wf_input={},
                           forced_state=states.ERROR, forced_info=None)
    assert out.output == {'result': None, 'p': {'x': 1}}
    # A published 'result' wins over the message (merged over it).
    out = lifecycle.finish(spec, final_context={'result': {'r': 1}},
                           env={}, wf_context={}, wf_input={},
                           forced_state=states.ERROR, forced_info='stop')
    assert (out.state_info, out.output) == ('stop', {'result': {'r': 1}})
    # Cancelled: the message only.
    out = lifecycle.finish(spec, final_context={'p': 1}, env={},
                           wf_context={}, wf_input={},
                           forced_state=states.CANCELLED, forced_info='c')
    assert out.output == {'result': 'c'}


def test_failure_info_lists_failed_sub_workflows():
    spec = parser.parse_workflows(PLAIN)[0]
    failed = [lifecycle.FailedTask('tid', 'call', None,
                                   workflow_errors=[('w1', 1, 'None')])]
    out = lifecycle.finish(spec, final_context={}, env={}, wf_context={},
                           wf_input={}, failed=failed)
    assert out.state_info == (
        'Failure caused by error in tasks: call\n\n'
        '  call [task_ex_id=tid] -> None\n'
        '    [wf_ex_id=w1, idx=1]: None\n')


def test_deep_merged_leaves_its_inputs_alone():
    base = {'a': {'x': 1}, 'b': 1}
    other = {'a': {'y': 2}, 'b': {'z': 3}}
    assert dicts.deep_merged(base, other) == {
        'a': {'x': 1, 'y': 2}, 'b': {'z': 3}}
    assert base == {'a': {'x': 1}, 'b': 1}
    assert other == {'a': {'y': 2}, 'b': {'z': 3}}
