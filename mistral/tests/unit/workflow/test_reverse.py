"""The reverse-workflow core (no storage)."""

from __future__ import annotations

import pytest

from mistral import exceptions as exc
from mistral.lang import parser
from mistral.workflow import reverse

TEXT = """
version: '2.0'
wf:
  type: reverse
  tasks:
    a: {action: std.noop}
    b: {action: std.noop, requires: a}
    c: {action: std.noop, requires: [a, b]}
    d: {action: std.noop, requires: c}
"""


def test_only_what_the_target_needs_runs():
    [spec] = parser.parse_workflows(TEXT)
    assert reverse.target_task(spec, {'task_name': 'c'}) == 'c'
    assert reverse.needed(spec, 'c') == {'a', 'b', 'c'}
    assert [c.task_name for c in reverse.start_commands(spec, 'c')] == ['a']
    assert reverse.ready_after(spec, 'c', 'a', []) == ['b']
    assert reverse.ready_after(spec, 'c', 'b', ['a']) == ['c']
    assert reverse.ready_after(spec, 'c', 'c', ['a', 'b']) == []


def test_unknown_target_names_the_tasks():
    [spec] = parser.parse_workflows(TEXT)
    with pytest.raises(exc.WorkflowException) as e:
        reverse.target_task(spec, {'task_name': 'zz'})
    assert "'zz'" in str(e.value) and 'a, b, c, d' in str(e.value)


def test_a_cycle_stored_without_validation_refuses_to_start():
    # With validation skipped the definition is stored as it is; starting
    # it must fail clearly instead of finishing with nothing run.
    [spec] = parser.parse_workflows("""
version: '2.0'
wf:
  type: reverse
  tasks:
    a: {action: std.noop, requires: b}
    b: {action: std.noop, requires: a}
    c: {action: std.noop, requires: [a, gone]}
""", validate=False)
    with pytest.raises(exc.WorkflowException) as e:
        reverse.target_task(spec, {'task_name': 'c'})
    assert str(e.value) == (
        "Invalid DSL (workflow 'wf'): the 'requires' of tasks 'a', 'b' "
        "form a cycle (a -> b -> a), so none of them can ever run.")


def test_a_success_starts_what_is_ready_with_its_requirements_contexts():
    [spec] = parser.parse_workflows(TEXT)
    outbound = {'a': {'x': 1, 'from': 'a'}, 'b': {'y': 2, 'from': 'b'}}
    asked: list[str] = []

    def out(name):
        asked.append(name)
        return outbound[name]

    [run] = reverse.next_commands(spec, 'd', 'b', ['a'], outbound=out,
                                  task_id=lambda n: 'id-' + n)
    # c requires [a, b]: their contexts merged in that order.
    assert (run.task_name, dict(run.in_context)) == (
        'c', {'x': 1, 'y': 2, 'from': 'b'})
    assert run.triggered_by == [{'task_id': 'id-a', 'event': 'on-success'},
                                {'task_id': 'id-b', 'event': 'on-success'}]
    assert asked == ['a', 'b']
    # Not every requirement is done yet: nothing starts.
    assert reverse.next_commands(spec, 'd', 'b', [], outbound=out,
                                 task_id=str) == []


def test_only_a_success_in_a_reverse_workflow_starts_others():
    assert reverse.runs_next('reverse', 'SUCCESS')
    assert not reverse.runs_next('reverse', 'ERROR')
    assert not reverse.runs_next('reverse', 'SKIPPED')
    assert not reverse.runs_next('direct', 'SUCCESS')
