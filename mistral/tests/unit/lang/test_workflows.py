import json

import pytest

from mistral import exceptions as exc
from mistral import lang
from mistral.workflow import states

WF = """---
version: '2.0'

wf1:
  description: sample
  tags: [t1]
  input:
    - name
    - greeting: Hello
  output:
    msg: <% $.msg %>
  output-on-error:
    err: <% $.e %>
  vars:
    counter: 0
  tasks:
    t1:
      action: std.echo output="<% $.greeting %>, <% $.name %>"
      publish:
        msg: <% task().result %>
      on-success:
        - t2
    t2:
      action: std.noop
"""


def versioned(text):
    """The document with the ``version`` key every stored one needs."""
    return text if 'version:' in text else "version: '2.0'\n" + text


def one(text, **kw):
    specs = lang.parse_workflows(versioned(text), **kw)
    assert len(specs) == 1
    return specs[0]


def test_workflow_attributes():
    spec = one(WF)
    assert spec.name == 'wf1'
    assert spec.type == 'direct'
    assert spec.description == 'sample'
    assert spec.tags == ['t1']
    assert spec.input_spec == ['name', {'greeting': 'Hello'}]
    assert spec.required_input == ['name']
    assert spec.input_defaults == {'greeting': 'Hello'}
    assert spec.output == {'msg': '<% $.msg %>'}
    assert spec.output_on_error == {'err': '<% $.e %>'}
    assert spec.vars == {'counter': 0}
    assert list(spec.tasks) == ['t1', 't2']
    assert spec.interface == {'input': ['name', {'greeting': 'Hello'}],
                              'output': ['msg']}
    assert spec.definition == WF
    assert spec.start_task_names() == ['t1']
    assert spec.inbound_task_names('t2') == ['t1']
    assert lang.input_string(spec.input_spec) == 'name, greeting="Hello"'


def test_task_attributes():
    t1 = one(WF).tasks['t1']
    assert t1.action == 'std.echo'
    assert t1.workflow is None
    assert t1.input == {'output': '<% $.greeting %>, <% $.name %>'}
    assert t1.publish == {'msg': '<% task().result %>'}
    assert [t.name for t in t1.on_success.next] == ['t2']
    assert t1.keep_result is True
    assert t1.type == 'ACTION'
    assert one(WF).tasks['t2'].action == 'std.noop'


def test_to_dict_is_json_and_round_trips():
    spec = one(WF)
    data = json.loads(json.dumps(spec.to_dict()))
    rebuilt = lang.workflow_spec_from_dict(data)
    assert rebuilt.to_dict() == spec.to_dict()
    assert rebuilt.start_task_names() == ['t1']
    assert rebuilt.tasks['t1'].input == spec.tasks['t1'].input
    assert data['tasks']['t1']['name'] == 't1'
    assert data['tasks']['t1']['type'] == 'direct'


def test_version_forms():
    body = 'wf:\n  tasks:\n    a:\n      action: std.noop\n'
    for version in ("'2.0'", '2.0', '2'):
        assert one(f'version: {version}\n' + body).name == 'wf'
    # Without the key: refused when validated (as upstream), 2.0 otherwise.
    with pytest.raises(exc.InvalidModelException) as e:
        lang.parse_workflows(body)
    assert "no 'version' key" in str(e.value)
    assert lang.parse_workflows(body, validate=False)[0].name == 'wf'
    # As upstream, only the key's type is checked: any non-empty string
    # or number >= 0 is accepted.
    for version in ("'1.0'", '3', 'abc', '0.5', '0'):
        assert one(f'version: {version}\n' + body).name == 'wf'
    for version in ('null', 'true', "''", '-1', '[2]', '{a: 1}'):
        with pytest.raises(exc.InvalidModelException) as e:
            one(f'version: {version}\n' + body)
        assert "'version' must be a non-empty string or a number" in \
            str(e.value)
    act = "ac:\n  base: std.noop\n"
    assert lang.parse_actions('version: abc\n' + act)[0].name == 'ac'
    with pytest.raises(exc.InvalidModelException):
        lang.parse_actions('version: null\n' + act)


def test_several_workflows_get_their_own_definition():
    text = """version: '2.0'
a:
  tasks:
    t:
      action: std.noop
b:
  type: reverse
  tasks:
    t:
      action: std.noop
"""
    a, b = lang.parse_workflows(text)
    assert (a.name, b.name) == ('a', 'b')
    assert b.type == 'reverse'
    assert lang.parse_yaml(a.definition) == {
        'version': '2.0', 'a': {'tasks': {'t': {'action': 'std.noop'}}}}


def test_input_string_forms():
    assert lang.input_string(['a', {'b': None}, {'c': [1, 2, 3]},
                              {'d': True}]) == \
        'a, b="None", c="[1, 2, 3]", d="True"'
    assert lang.input_string([]) == ''


def test_inline_params_merge_with_input_and_win():
    # As upstream: the inline value replaces the input's, nested dicts
    # merge key by key.
    spec = one("""
wf:
  tasks:
    t:
      action: std.echo output=1 other=2 nested={"b":2}
      input:
        output: 3
        nested: {a: 1, b: 1}
""")
    assert spec.tasks['t'].input == {'output': 1, 'other': 2,
                                     'nested': {'a': 1, 'b': 2}}


def test_input_as_expression():
    t = one("""
wf:
  tasks:
    t:
      action: std.echo x=1
      input: <% $.d %>
""").tasks['t']
    assert t.input == '<% $.d %>'
    assert t.inline_input == {'x': 1}


def test_workflow_task():
    t = one("""
wf:
  tasks:
    t:
      workflow: sub_wf a=1
      input: {b: 2}
""").tasks['t']
    assert (t.workflow, t.action, t.type) == ('sub_wf', None, 'WORKFLOW')
    assert t.input == {'a': 1, 'b': 2}


def test_transitions_conditions_and_engine_commands():
    spec = one("""
wf:
  tasks:
    a:
      on-success:
        - b: <% $.x = 1 %>
        - fail msg="bad"
        - succeed
      on-error: noop
      on-complete:
        - pause(msg=<% $.m %>)
    b:
      on-skip: c
    c: {action: std.noop}
""")
    a = spec.tasks['a']
    got = [(t.name, t.condition, t.params, t.is_engine_command)
           for t in a.all_transitions()]
    assert got == [
        ('b', '<% $.x = 1 %>', {}, False),
        ('fail', None, {'msg': 'bad'}, True),
        ('succeed', None, {}, True),
        ('noop', None, {}, True),
        ('pause', None, {'msg': '<% $.m %>'}, True),
    ]
    assert [t.name for t in spec.tasks['b'].on_skip.next] == ['c']
    assert spec.start_task_names() == ['a']
    assert spec.inbound_task_names('c') == ['b']


def test_engine_commands_win_over_same_named_tasks():
    spec = one("""
wf:
  tasks:
    a:
      on-success: fail
    fail:
      action: std.noop
""")
    [t] = spec.tasks['a'].on_success.next
    assert t.is_engine_command is True
    # The transition still counts as inbound: the task is no start task.
    assert spec.inbound_task_names('fail') == ['a']
    assert spec.start_task_names() == ['a']


def test_advanced_publish_merges_with_task_publish():
    t = one("""
wf:
  tasks:
    a:
      publish:
        p: 1
      on-success:
        publish:
          branch: {b: 2}
          global: {g: 3}
          atomic: {x: 4}
        next: [c]
      on-complete:
        publish:
          global: {h: 5}
    c: {action: std.noop}
""").tasks['a']
    assert [n.name for n in t.on_success.next] == ['c']
    pub = t.get_publish(states.SUCCESS)
    assert pub.branch == {'b': 2, 'p': 1}
    assert pub.global_ == {'g': 3, 'h': 5}
    assert pub.atomic == {'x': 4}
    assert t.get_publish(states.ERROR).global_ == {'h': 5}
    assert t.get_publish(states.SKIPPED) is None


def test_task_publish_kept_when_clause_has_only_global():
    # Upstream loses 'p' here (quirk 3.12); we keep it.
    t = one("""
wf:
  tasks:
    a:
      publish: {p: 1}
      on-success:
        publish:
          global: {g: 1}
        next: c
    c: {action: std.noop}
""").tasks['a']
    pub = t.get_publish(states.SUCCESS)
    assert pub.branch == {'p': 1} and pub.global_ == {'g': 1}


def test_publish_on_error_and_skip():
    t = one("""
wf:
  tasks:
    a:
      publish-on-error: {e: 1}
      publish-on-skip: {s: 1}
""").tasks['a']
    assert t.get_publish(states.ERROR).branch == {'e': 1}
    assert t.get_publish(states.SKIPPED).branch == {'s': 1}
    assert t.get_publish(states.SUCCESS) is None


def test_policies_and_task_defaults():
    spec = one("""
wf:
  task-defaults:
    retry:
      count: 3
      delay: 1
      break-on: <% $.stop %>
    timeout: 30
    wait-before: 2
    safe-rerun: true
    on-error: [handler, a]
  tasks:
    a:
      timeout: 5
      wait-after: <% $.w %>
      pause-before: true
      concurrency: 2
      fail-on: <% $.bad %>
    b:
      retry: count=5 delay=<% $.d %>
      on-error: b_handler
    handler: {action: std.noop}
    b_handler: {action: std.noop}
""")
    a, b = spec.tasks['a'], spec.tasks['b']
    assert a.policies.timeout == 5
    assert a.policies.wait_before == 2
    assert a.policies.wait_after == '<% $.w %>'
    assert a.policies.pause_before is True
    assert a.policies.concurrency == 2
    assert a.policies.fail_on == '<% $.bad %>'
    assert (a.policies.retry.count, a.policies.retry.delay,
            a.policies.retry.break_on) == (3, 1, '<% $.stop %>')
    assert b.policies.retry.count == 5
    assert b.policies.retry.delay == '<% $.d %>'
    assert a.safe_rerun is True
    # task-defaults on-error applies, without pointing a task at itself
    assert [t.name for t in a.on_error.next] == ['handler']
    assert [t.name for t in b.on_error.next] == ['b_handler']
    assert spec.inbound_task_names('handler') == ['a', 'b_handler']
    assert spec.start_task_names() == ['b']


def test_join_forms():
    spec = one("""
wf:
  tasks:
    a: {on-success: [j1, j2, j3]}
    b: {on-success: [j1, j2, j3]}
    j1: {join: all}
    j2: {join: one}
    j3: {join: 2}
""")
    assert spec.tasks['j1'].join == 'all'
    assert spec.tasks['j2'].join == 1
    assert spec.tasks['j3'].join == 2
    assert spec.tasks['a'].join is None
    assert spec.inbound_task_names('j1') == ['a', 'b']


def test_join_zero_is_no_join():
    spec = one("""
wf:
  tasks:
    a: {action: std.noop, on-success: j}
    j: {action: std.noop, join: 0}
""")
    assert spec.tasks['j'].join is None


def test_with_items_forms():
    spec = one("""
wf:
  tasks:
    a:
      with-items: x in <% $.list %>
    b:
      with-items:
        - x in [1, 2, 3]
        - y in {{ _.ys }}
""")
    assert spec.tasks['a'].with_items == [('x', '<% $.list %>')]
    assert spec.tasks['b'].with_items == [('x', [1, 2, 3]),
                                          ('y', '{{ _.ys }}')]


def test_keep_result_safe_rerun_target():
    t = one("""
wf:
  tasks:
    a:
      keep-result: false
      safe-rerun: <% $.s %>
      target: <% $.host %>
""").tasks['a']
    assert t.keep_result is False
    assert t.safe_rerun == '<% $.s %>'
    assert t.target == '<% $.host %>'


def test_reverse_workflow_requires():
    spec = one("""
wf:
  type: reverse
  task-defaults:
    requires: [init]
  tasks:
    init: {action: std.noop}
    t1:
      action: std.echo output=1
    t2:
      requires: t1
""")
    assert spec.type == 'reverse'
    assert spec.tasks['init'].requires == []
    assert spec.tasks['t1'].requires == ['init']
    assert spec.tasks['t2'].requires == ['t1', 'init']
    assert spec.tasks['t2'].workflow_type == 'reverse'


def test_tasks_named_next_and_publish_with_conditions():
    spec = one("""
wf:
  tasks:
    a:
      action: std.noop
      on-success:
        next: <% $.x %>
      on-error:
        publish: <% $.y %>
    next: {action: std.noop}
    publish: {action: std.noop}
""")
    a = spec.tasks['a']
    assert [(t.name, t.condition) for t in a.on_success.next] == \
        [('next', '<% $.x %>')]
    assert a.on_success.publish is None
    assert [(t.name, t.condition) for t in a.on_error.next] == \
        [('publish', '<% $.y %>')]


def test_advanced_clause_with_only_next():
    spec = one("""
wf:
  tasks:
    a:
      action: std.noop
      on-success:
        next:
          - b
          - c: <% $.go %>
    b: {action: std.noop}
    c: {action: std.noop}
""")
    a = spec.tasks['a']
    assert [(t.name, t.condition) for t in a.on_success.next] == \
        [('b', None), ('c', '<% $.go %>')]
