"""The direct-workflow core, driven with parsed specs and no services."""

from __future__ import annotations

import pytest

from mistral import exceptions as exc
from mistral.lang import parser
from mistral.workflow import commands as cmds
from mistral.workflow import direct
from mistral.workflow import states
from mistral.workflow import task_machine as tm


def spec_of(text: str):
    return parser.parse_workflows(text)[0]


def finished(name: str, state: str = states.SUCCESS, result=None,
             in_context=None, info=None) -> direct.FinishedTask:
    return direct.FinishedTask(id='id-' + name, name=name, state=state,
                               state_info=info, result=result,
                               in_context=in_context or {})


def decide(spec, task, **kw) -> direct.Decision:
    kw.setdefault('env', {})
    kw.setdefault('wf_context', {})
    kw.setdefault('wf_input', {})
    return direct.decide(spec, task, **kw)


CHAIN = """
version: '2.0'
wf:
  input: [name]
  tasks:
    a:
      action: std.echo output=<% $.name %>
      publish:
        got: <% task().result %>
        upper: <% task().result.toUpper() %>
      on-success:
        - b: <% $.got = 'x' %>
        - c: <% $.got != 'x' %>
      on-error: e
      on-complete: f
    b:
      action: std.noop
    c:
      action: std.noop
    e:
      action: std.noop
    f:
      action: std.noop
"""


def test_start_commands_are_tasks_without_inbound_transitions():
    spec = spec_of(CHAIN)
    names = [c.task_name for c in direct.start_commands(spec)]
    assert names == ['a']


def test_success_publishes_and_follows_true_conditions_then_complete():
    spec = spec_of(CHAIN)
    d = decide(spec, finished('a', result='x', in_context={'k': 1}),
               wf_input={'name': 'x'})
    assert d.published == {'got': 'x', 'upper': 'X'}
    assert [c.task_name for c in d.commands] == ['b', 'f']
    run_b = d.commands[0]
    # The next task starts from the outbound context: inbound + published.
    assert run_b.in_context == {'k': 1, 'got': 'x', 'upper': 'X'}
    assert run_b.triggered_by == [{'task_id': 'id-a',
                                   'event': 'on-success'}]
    assert d.commands[1].triggered_by[0]['event'] == 'on-complete'
    assert d.next_tasks == [['b', 'on-success'], ['f', 'on-complete']]
    assert d.has_next_tasks and not d.error_handled


def test_error_is_handled_by_on_error_but_not_by_on_complete():
    spec = spec_of(CHAIN)
    d = decide(spec, finished('a', states.ERROR, result='boom'))
    assert [c.task_name for c in d.commands] == ['e', 'f']
    assert d.error_handled
    # No publish on error: publish-on-error is not defined.
    assert d.published == {}

    only_complete = spec_of("""
version: '2.0'
wf:
  tasks:
    a:
      on-complete: f
    f:
      action: std.noop
""")
    d = decide(only_complete, finished('a', states.ERROR))
    assert [c.task_name for c in d.commands] == ['f']
    assert not d.error_handled


def test_engine_commands_with_messages_and_truncation():
    spec = spec_of("""
version: '2.0'
wf:
  tasks:
    a:
      on-success:
        - fail msg="stopped <% $.why %>"
        - b
    b:
      action: std.noop
""")
    d = decide(spec, finished('a', in_context={'why': 'here'}))
    assert len(d.commands) == 1
    assert isinstance(d.commands[0], cmds.FailWorkflow)
    assert d.commands[0].msg == 'stopped here'
    assert not d.has_next_tasks


def test_command_wins_over_a_task_named_like_it():
    # Upstream looks the engine command up first.
    spec = spec_of("""
version: '2.0'
wf:
  tasks:
    a:
      on-success: succeed
    succeed:
      action: std.noop
""")
    d = decide(spec, finished('a'))
    assert d.commands == [cmds.SucceedWorkflow(msg=None)]


def test_publish_state_chooses_the_publish_not_the_transitions():
    # fail-on: published as the SUCCESS it was, transitions as ERROR.
    spec = spec_of("""
version: '2.0'
wf:
  tasks:
    a:
      publish: {p: <% task().state %>}
      publish-on-error: {e: 1}
      on-success: s
      on-error: h
    s:
      action: std.noop
    h:
      action: std.noop
""")
    task = finished('a', states.ERROR, info='Failed by fail-on')
    task.publish_state = states.SUCCESS
    d = decide(spec, task)
    assert d.published == {'p': states.SUCCESS}
    assert [c.task_name for c in d.commands] == ['h']
    assert d.error_handled


def test_skipped_follows_on_success_without_on_skip():
    spec = spec_of("""
version: '2.0'
wf:
  tasks:
    a:
      publish-on-skip:
        s: 1
      on-success: b
    b:
      action: std.noop
""")
    d = decide(spec, finished('a', states.SKIPPED))
    assert [c.task_name for c in d.commands] == ['b']
    assert d.published == {'s': 1}


def test_advanced_clause_publishes_branch_and_global_with_task_publish():
    spec = spec_of("""
version: '2.0'
wf:
  tasks:
    a:
      publish:
        p: 1
      on-success:
        publish:
          branch:
            b: 2
          global:
            g: <% $.base + 10 %>
        next: b
    b:
      action: std.noop
""")
    d = decide(spec, finished('a', in_context={'base': 1}))
    # Upstream loses the task-level publish here; we keep both.
    assert d.published == {'p': 1, 'b': 2}
    assert d.published_global == {'g': 11}
    assert [c.task_name for c in d.commands] == ['b']


def test_bad_expression_raises_for_the_engine_to_fail_the_task():
    spec = spec_of("""
version: '2.0'
wf:
  tasks:
    a:
      publish:
        x: <% $.missing.deeper + 1 %>
""")
    with pytest.raises(exc.ExpressionException):
        decide(spec, finished('a'))


ATOMIC = """
version: '2.0'
wf:
  tasks:
    a:
      publish: {counter: 100}
      on-success:
        publish:
          global: {seen: <% $.counter %>, base: 1}
          atomic:
            counter: <% $.counter + 1 %>
            sum: <% $.base + $.counter %>
        next: b
      on-error:
        publish:
          atomic: {failures: <% $.failures + 1 %>}
        next: b
      on-complete:
        publish:
          atomic: {done: <% $.done + 1 %>}
    b:
      action: std.noop
"""


def test_atomic_publish_reads_globals_before_the_branch():
    spec = spec_of(ATOMIC)
    d = decide(spec, finished('a', in_context={'counter': 50}),
               wf_context={'counter': 5, 'done': 0})
    # The inbound branch value (50) shadows the global for 'global', the
    # published one (100) for the next task; 'atomic' updates the global
    # value itself (5 -> 6) and sees what 'global' just published.
    assert d.published == {'counter': 100}
    assert d.published_global == {'seen': 50, 'base': 1, 'counter': 6,
                                  'sum': 6, 'done': 1}
    assert d.commands[0].in_context == {'counter': 100}


def test_atomic_publish_on_error_merges_with_on_complete():
    spec = spec_of(ATOMIC)
    d = decide(spec, finished('a', state=states.ERROR),
               wf_context={'failures': 2, 'done': 7})
    assert d.published == {}
    assert d.published_global == {'failures': 3, 'done': 8}
    assert d.error_handled


def test_atomic_publish_applied_in_turn_never_loses_an_update():
    # The engine decides for one task at a time under the workflow's lock
    # and writes the globals before the next decision: each parallel
    # branch's increment builds on the previous one.
    spec = spec_of(ATOMIC)
    wf_context = {'counter': 0, 'done': 0}
    for i in range(3):
        d = decide(spec, finished('a', in_context={'counter': 100 + i}),
                   wf_context=wf_context)
        wf_context = {**wf_context, **d.published_global}
    assert wf_context['counter'] == 3
    assert wf_context['done'] == 3


class _StaleGlobals:
    """Storage as the engine has it while deciding: the workflow context
    before this task's publish."""

    def __init__(self, stored):
        self.stored = stored

    def global_var(self, name, context):
        return self.stored.get(name)


def test_transitions_and_atomic_see_the_globals_just_published():
    spec = spec_of("""
version: '2.0'
wf:
  tasks:
    a:
      on-success:
        publish:
          global: {g: 1}
          atomic: {twice: <% global(g) * 2 %>}
        next:
          - b: <% global(g) = 1 and global(twice) = 2 %>
          - c: <% global(g) != 1 %>
          - fail msg=<% global(g) %>
    b:
      action: std.noop
    c:
      action: std.noop
""")
    stored = {'g': 0}
    d = decide(spec, finished('a'), wf_context=stored,
               data_access=_StaleGlobals(stored))
    assert d.published_global == {'g': 1, 'twice': 2}
    assert [getattr(c, 'task_name', None) for c in d.commands] == ['b', None]
    assert d.commands[1].msg == 1


# ------------------------------------------------------------ finish

def _finish(spec, task, check=lambda published: None, **kw):
    kw.setdefault('env', {})
    kw.setdefault('wf_context', {})
    kw.setdefault('wf_input', {})
    return direct.finish(spec, task, names=tm.TaskNames('wf', task.name),
                         check_published=check, **kw)


def test_finish_decides_as_decide_and_checks_what_is_published():
    spec = spec_of(CHAIN)
    checked = []
    got = _finish(spec, finished('a', result='x', in_context={'name': 'x'}),
                  check=checked.append)
    assert got == decide(spec, finished('a', result='x',
                                        in_context={'name': 'x'}))
    assert checked == [{'got': 'x', 'upper': 'X'}]


def test_a_refused_publish_fails_the_task_without_on_error():
    spec = spec_of(CHAIN)

    def refuse(published):
        raise exc.SizeLimitExceededException('published', 2, 1,
                                             'TaskExecution')

    got = _finish(spec, finished('a', result='x'), check=refuse)
    assert isinstance(got, tm.FailTask)
    assert got.message.startswith('Failed to run task [error=')
    assert str(exc.SizeLimitExceededException(
        'published', 2, 1, 'TaskExecution')) in got.message
    assert got.message.endswith(', wf=wf, task=a]')


def test_a_failing_publish_expression_fails_the_task():
    spec = spec_of("""
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      publish: {x: <% no_such_function() %>}
      on-error: b
    b: {action: std.noop}
""")
    got = _finish(spec, finished('a'))
    assert isinstance(got, tm.FailTask)
    assert 'no_such_function' in got.message
    with pytest.raises(exc.MistralError):
        decide(spec, finished('a'))
