import pytest

from mistral import exceptions as exc
from mistral import lang
from mistral.lang import graph


def reverse(tasks):
    [spec] = lang.parse_workflows(
        'wf:\n  type: reverse\n  tasks:\n' + tasks, validate=False)
    return spec


def test_reverse_plan_orders_requirements_first():
    spec = reverse("""
    a: {action: std.noop}
    b: {action: std.noop, requires: a}
    c: {action: std.noop, requires: [b, a]}
    d: {action: std.noop}
    e: {action: std.noop, requires: [c, d]}
""")
    assert graph.reverse_plan(spec, 'e') == ['a', 'b', 'c', 'd', 'e']
    assert graph.reverse_plan(spec, 'b') == ['a', 'b']
    assert graph.reverse_plan(spec, 'd') == ['d']


def test_reverse_plan_unknown_target():
    spec = reverse('    a: {action: std.noop}\n')
    with pytest.raises(exc.WorkflowException) as e:
        graph.reverse_plan(spec, 'zz')
    assert "'zz'" in str(e.value)


def test_reverse_plan_cycle():
    spec = reverse("""
    a: {action: std.noop, requires: c}
    b: {action: std.noop, requires: a}
    c: {action: std.noop, requires: b}
""")
    with pytest.raises(exc.WorkflowException) as e:
        graph.reverse_plan(spec, 'c')
    assert 'c -> b -> a -> c' in str(e.value)


def test_adhoc_chain():
    bases = {'a': 'b', 'b': 'std.echo'}
    assert graph.adhoc_chain('a', bases.get) == ['a', 'b', 'std.echo']


def test_adhoc_chain_cycle():
    bases = {'a': 'b', 'b': 'c', 'c': 'a'}
    with pytest.raises(exc.InvalidModelException) as e:
        graph.adhoc_chain('a', bases.get)
    assert 'a -> b -> c -> a' in str(e.value)
