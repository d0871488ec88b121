"""Bad documents: each must fail with a message saying what and where."""

import pytest

from mistral import exceptions as exc
from mistral import lang


def fails(text, *fragments, error=exc.DSLParsingException):
    if 'version:' not in text:
        text = "version: '2.0'\n" + text
    with pytest.raises(error) as e:
        lang.parse_workflows(text)
    message = str(e.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_unknown_task_keyword():
    fails("""
wf:
  tasks:
    t:
      action: std.noop
      actoin: x
""", "workflow 'wf', task 't'", "'actoin'")


def test_unknown_workflow_keyword():
    fails("""
wf:
  taks: {}
  tasks:
    t: {action: std.noop}
""", "workflow 'wf'", "'taks'")


def test_missing_tasks():
    fails('wf:\n  description: x\n', "workflow 'wf'", 'tasks')


def test_empty_tasks():
    fails('wf:\n  tasks: {}\n', "workflow 'wf'", 'tasks')


def test_unknown_transition_target_exact_message():
    message = fails("""
wf:
  tasks:
    t:
      action: std.noop
      on-success: missing
""")
    assert message == "Task 'missing' not found."


def test_action_and_workflow_together():
    fails("""
wf:
  tasks:
    t:
      action: std.noop
      workflow: other
""", "'t'", "'action' and 'workflow'")


def test_no_start_task():
    fails("""
wf:
  tasks:
    a: {action: std.noop, on-success: b}
    b: {action: std.noop, on-success: a}
""", "'wf'", 'start task')


def test_join_all_without_inbound():
    fails("""
wf:
  tasks:
    a: {action: std.noop}
    j: {action: std.noop, join: all, on-success: a}
""", "'j'", 'join: all')


def test_join_number_too_big():
    fails("""
wf:
  tasks:
    a: {action: std.noop, on-success: j}
    j: {action: std.noop, join: 3}
""", "'j'", 'join: 3', '1 task')


def test_bad_join_value():
    fails("""
wf:
  tasks:
    j: {action: std.noop, join: some}
""", "task 'j'", "keyword 'join'")


def test_uuid_like_workflow_name():
    fails("""
123e4567-e89b-12d3-a456-426655440000:
  tasks:
    t: {action: std.noop}
""", 'UUID')


def test_workflow_name_with_space():
    fails("""
'my wf':
  tasks:
    t: {action: std.noop}
""", "'my wf'", 'spaces')


def test_task_name_too_long():
    name = 'x' * 256
    fails(f"""
wf:
  tasks:
    {name}: {{action: std.noop}}
""", '255')


def test_join_task_name_too_long():
    name = 'j' * 209
    fails(f"""
wf:
  tasks:
    a: {{action: std.noop, on-success: {name}}}
    {name}: {{action: std.noop, join: all}}
""", '208')


def test_task_name_of_208_chars_may_join():
    name = 'j' * 208
    [spec] = lang.parse_workflows(f"""version: '2.0'
wf:
  tasks:
    a: {{action: std.noop, on-success: {name}}}
    {name}: {{action: std.noop, join: all}}
""")
    assert spec.tasks[name].join == 'all'


def test_bad_yaql_in_publish():
    fails("""
wf:
  tasks:
    t:
      action: std.noop
      publish:
        x: <% $.a + %>
""", "task 't'", "keyword 'publish'", error=exc.YaqlGrammarException)


def test_bad_jinja_in_input():
    fails("""
wf:
  tasks:
    t:
      action: std.echo
      input:
        output: "{{ _.a + }}"
""", "task 't'", "keyword 'input'", error=exc.JinjaGrammarException)


def test_bad_expression_in_inline_params():
    fails("""
wf:
  tasks:
    t:
      action: std.echo output=<% $.a $.b %>
""", "task 't'", error=exc.YaqlGrammarException)


def test_mixed_expression_languages():
    fails("""
wf:
  output:
    x: <% $.a %> {{ _.b }}
  tasks:
    t: {action: std.noop}
""", 'Mixing expression types in a single line is not allowed.')


def test_bad_expression_in_transition_condition():
    fails("""
wf:
  tasks:
    a:
      action: std.noop
      on-success:
        - b: <% $.x = %>
    b: {action: std.noop}
""", "task 'a'", "'on-success'", error=exc.YaqlGrammarException)


def test_condition_must_be_expression():
    fails("""
wf:
  tasks:
    a:
      action: std.noop
      on-success:
        - b: true
    b: {action: std.noop}
""", "'b'", 'expression')


def test_bad_with_items():
    fails("""
wf:
  tasks:
    t:
      action: std.noop
      with-items: x of $.list
""", "task 't'", 'with-items')


def test_bad_with_items_literal_list():
    fails("""
wf:
  tasks:
    t:
      action: std.noop
      with-items: x in [1, 2
""", "task 't'", 'with-items')


def test_retry_needs_count_and_delay():
    fails("""
wf:
  tasks:
    t:
      action: std.noop
      retry: count=3
""", "task 't'", 'retry', 'delay')


def test_negative_timeout():
    fails("""
wf:
  tasks:
    t: {action: std.noop, timeout: -1}
""", "task 't'", "keyword 'timeout'")


def test_policy_must_be_expression_or_integer():
    fails("""
wf:
  tasks:
    t: {action: std.noop, wait-before: soon}
""", "task 't'", "keyword 'wait-before'")


def test_unknown_task_defaults_keyword():
    fails("""
wf:
  task-defaults:
    publish: {x: 1}
  tasks:
    t: {action: std.noop}
""", 'task-defaults', "'publish'")


def test_direct_keyword_in_reverse_workflow():
    fails("""
wf:
  type: reverse
  tasks:
    t: {action: std.noop, on-success: u}
    u: {action: std.noop}
""", "task 't'", "'on-success'")


def test_requires_in_direct_workflow():
    fails("""
wf:
  tasks:
    t: {action: std.noop, requires: [u]}
    u: {action: std.noop}
""", "task 't'", "'requires'")


def test_reverse_requires_unknown_task():
    message = fails("""
wf:
  type: reverse
  tasks:
    t: {action: std.noop, requires: [nope]}
""")
    assert message == "Task 'nope' not found."


def test_reverse_requires_cycle_names_workflow_and_tasks():
    message = fails("""
wf:
  type: reverse
  tasks:
    start: {action: std.noop}
    a: {action: std.noop, requires: [start, c]}
    b: {action: std.noop, requires: a}
    c: {action: std.noop, requires: [b]}
    top: {action: std.noop, requires: c}
""", error=exc.InvalidModelException)
    assert message == (
        "Invalid DSL (workflow 'wf'): the 'requires' of tasks 'a', 'c', "
        "'b' form a cycle (a -> c -> b -> a), so none of them can ever "
        "run.")


def test_reverse_requires_self_cycle_through_task_defaults():
    # A task-defaults 'requires' never makes a task require itself ...
    lang.parse_workflows("""version: '2.0'
wf:
  type: reverse
  task-defaults: {requires: [setup]}
  tasks:
    setup: {action: std.noop}
    work: {action: std.noop}
""")
    # ... but it can close a cycle through another task.
    fails("""
wf:
  type: reverse
  task-defaults: {requires: [setup]}
  tasks:
    setup: {action: std.noop, requires: work}
    work: {action: std.noop}
""", "workflow 'wf'", 'setup -> work -> setup',
          error=exc.InvalidModelException)


def test_reverse_requires_long_chain_is_not_a_cycle():
    tasks = ''.join('    t%d: {action: std.noop, requires: t%d}\n'
                    % (i, i - 1) for i in range(1, 3000))
    [spec] = lang.parse_workflows(
        "version: '2.0'\n"
        'wf:\n  type: reverse\n  tasks:\n    t0: {action: std.noop}\n'
        + tasks)
    assert len(spec.tasks) == 3000
    fails('wf:\n  type: reverse\n  tasks:\n'
          '    t0: {action: std.noop, requires: t2999}\n' + tasks,
          't0 -> t2999 -> t2998', error=exc.InvalidModelException)


def test_bad_workflow_type():
    fails("""
wf:
  type: sideways
  tasks:
    t: {action: std.noop}
""", "workflow 'wf'", "keyword 'type'")


def test_duplicate_tags():
    fails("""
wf:
  tags: [a, a]
  tasks:
    t: {action: std.noop}
""", "keyword 'tags'")


def test_input_entries_must_be_names_or_one_key_dicts():
    fails("""
wf:
  input:
    - {a: 1, b: 2}
  tasks:
    t: {action: std.noop}
""", "keyword 'input")


def test_document_must_be_mapping():
    fails('- a\n- b\n', 'mapping')


def test_document_without_workflows():
    fails("version: '2.0'\n", 'no workflow')


def test_workflow_must_be_mapping():
    fails("version: '2.0'\nwf: 3\n", "workflow 'wf'")


def test_unknown_publish_part_in_advanced_clause():
    fails("""
wf:
  tasks:
    a:
      action: std.noop
      on-success:
        publish:
          branchy: {x: 1}
        next: b
    b: {action: std.noop}
""", "task 'a'", "'branchy'")


def test_atomic_publish_must_be_a_mapping_of_valid_expressions():
    message = fails("""
wf:
  tasks:
    a:
      action: std.noop
      on-complete:
        publish:
          atomic: [counter]
        next: b
    b: {action: std.noop}
""", error=exc.InvalidModelException)
    assert message == (
        "Invalid DSL (workflow 'wf', task 'a', 'on-complete'): "
        "'publish.atomic' must be a non-empty mapping.")
    fails("""
wf:
  tasks:
    a:
      action: std.noop
      on-success:
        publish:
          atomic: {counter: <% $.counter + %>}
""", "task 'a'", '$.counter +')


def test_validate_false_skips_checks():
    [spec] = lang.parse_workflows("""
wf:
  tasks:
    t:
      action: std.noop
      on-success: missing
""", validate=False)
    assert [t.name for t in spec.tasks['t'].on_success.next] == ['missing']


def test_task_defaults_clause_form_is_checked():
    fails("""
wf:
  task-defaults:
    on-error:
      - h: not-an-expression
  tasks:
    t: {action: std.noop}
    h: {action: std.noop}
""", 'task-defaults', "'on-error'", 'expression')


def test_task_defaults_retry_is_checked():
    fails("""
wf:
  task-defaults:
    retry: delay=1
  tasks:
    t: {action: std.noop}
""", 'task-defaults', 'retry', 'count')


def test_task_defaults_unknown_target():
    message = fails("""
wf:
  task-defaults:
    on-complete: [gone]
  tasks:
    t: {action: std.noop}
""")
    assert message == "Task 'gone' not found."


def test_empty_transition_list():
    fails("""
wf:
  tasks:
    t:
      action: std.noop
      on-success: []
""", "task 't'", "'on-success'", 'empty')


@pytest.mark.parametrize('value', [
    'std.echo output=<% $.x',
    'std.echo output="no end',
    'std.echo output=[1, 2',
])
def test_unterminated_inline_parameter(value):
    fails(f"""
wf:
  tasks:
    t:
      action: '{value}'
""", "task 't'", "keyword 'action'", "'output'", 'not closed')


def test_unterminated_parameter_in_engine_command():
    fails("""
wf:
  tasks:
    t:
      action: std.noop
      on-error:
        - fail msg="oops
""", "task 't'", "'msg'", 'not closed')


def test_unterminated_parameter_in_one_line_retry():
    fails("""
wf:
  tasks:
    t:
      action: std.noop
      retry: count=3 delay=<% $.d
""", "task 't'", 'retry', "'delay'")
