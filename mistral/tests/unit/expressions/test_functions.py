import json
import uuid

import pytest

from mistral import exceptions as exc
from mistral import expressions as expr
from mistral.expressions import functions
from mistral.expressions.data_access import DataAccess
from mistral.expressions.memory_data_access import InMemoryDataAccess


@pytest.fixture
def store():
    s = InMemoryDataAccess()
    s.add_execution({'id': 'ex1', 'name': 'wf', 'state': 'RUNNING',
                     'created_at': '2026-01-01 00:00:00',
                     'root_execution_id': None,
                     'context': {'g': 'global-value'}})
    s.add_execution({'id': 'ex2', 'name': 'sub', 'state': 'SUCCESS',
                     'created_at': '2026-01-02 00:00:00',
                     'root_execution_id': 'ex1',
                     'task_execution_id': 't2'})
    s.add_task({'id': 't1', 'name': 'a', 'state': 'SUCCESS', 'result': 1,
                'type': 'ACTION', 'workflow_execution_id': 'ex1'})
    s.add_task({'id': 't2', 'name': 'b', 'state': 'ERROR', 'result': 2,
                'type': 'WORKFLOW', 'workflow_execution_id': 'ex1'})
    s.add_task({'id': 't3', 'name': 'a', 'state': 'SUCCESS', 'result': 3,
                'type': 'ACTION', 'workflow_execution_id': 'ex1'})
    s.add_task({'id': 't4', 'name': 'c', 'state': 'SUCCESS', 'result': 4,
                'type': 'ACTION', 'workflow_execution_id': 'ex2'})
    return s


CTX = {'__execution': {'id': 'ex1'},
       '__task_execution': {'id': 't2', 'name': 'b'},
       '__env': {'ek': 2}}


def test_in_memory_store_satisfies_protocol(store):
    assert isinstance(store, DataAccess)


@pytest.mark.parametrize('lang', ['yaql', 'jinja'])
def test_task_functions(store, lang):
    def ev(body):
        text = f'<% {body} %>' if lang == 'yaql' else '{{ %s }}' % body
        return expr.evaluate(text, CTX, store)

    assert ev("task('a')")['result'] == 3
    assert ev('task()')['id'] == 't2'
    assert ev("task('missing')") is None
    assert [t['id'] for t in ev('tasks()')] == ['t1', 't2', 't3']
    assert [t['id'] for t in ev('tasks(recursive=true)'.replace(
        '=', ' => ' if lang == 'yaql' else '='))] == ['t1', 't2', 't3', 't4']


def test_tasks_filters(store):
    ids = expr.evaluate("<% tasks('ex1', false, 'SUCCESS') %>", CTX, store)
    assert [t['id'] for t in ids] == ['t1', 't3']
    flat = expr.evaluate("<% tasks(flat => true) %>", CTX, store)
    assert [t['id'] for t in flat] == ['t1', 't3']


def test_execution_and_executions(store):
    assert expr.evaluate('<% execution().name %>', CTX, store) == 'wf'
    subs = expr.evaluate("<% executions(root_execution_id => 'ex1') %>",
                         CTX, store)
    assert [e['id'] for e in subs] == ['ex2']
    window = expr.evaluate(
        "{{ executions(from_time='2026-01-01 12:00:00') }}", CTX, store)
    assert [e['id'] for e in window] == ['ex2']
    none = expr.evaluate(
        "<% executions(to_time => '2026-01-01 00:00:00') %>", CTX, store)
    assert none == []


def test_global(store):
    assert expr.evaluate("<% global('g') %>", CTX, store) == 'global-value'
    assert expr.evaluate("{{ global('g') }}", CTX, store) == 'global-value'


def test_env():
    assert expr.evaluate('<% env().ek %>', CTX) == 2
    assert expr.evaluate('{{ env().ek }}', CTX) == 2
    assert expr.evaluate('<% env() %>', {}) == {}


def test_data_access_is_not_visible_in_context(store):
    assert expr.evaluate('<% $.keys() %>', {'a': 1}, store) == ['a']


def test_function_without_data_access_fails_clearly():
    with pytest.raises(exc.YaqlEvaluationException) as e:
        expr.evaluate("<% task('a') %>", CTX)
    assert "task()" in str(e.value)


@pytest.mark.parametrize('text', [
    '<% json_dump([1]) %>', '{{ json_dump([1]) }}', '{{ [1] | json_dump }}'])
def test_json_dump_uses_indent_4(text):
    assert expr.evaluate(text, {}) == '[\n    1\n]'


def test_json_dump_of_context_data():
    assert json.loads(expr.evaluate('<% json_dump($.d) %>',
                                    {'d': {'a': [1]}})) == {'a': [1]}


def test_json_parse_yaml_dump_yaml_parse():
    assert expr.evaluate('<% json_parse(\'{"z": 2}\') %>', {}) == {'z': 2}
    assert expr.evaluate('<% yaml_dump({a => 1}) %>', {}) == 'a: 1\n'
    assert expr.evaluate("<% yaml_parse('q: 3') %>", {}) == {'q': 3}
    assert expr.evaluate("{{ 'q: 3' | yaml_parse }}", {}) == {'q': 3}


def test_yaml_parse_is_hardened():
    with pytest.raises(exc.YaqlEvaluationException):
        expr.evaluate('<% yaml_parse($.t) %>', {'t': 'a: &x 1\nb: *x'})


def test_uuid():
    value = expr.evaluate('<% uuid() %>', {})
    assert str(uuid.UUID(value)) == value
    assert len(expr.evaluate('{{ uuid() }}', {})) == 36


def test_json_pp_is_not_provided():
    assert 'json_pp' not in functions.load_functions()
    with pytest.raises(exc.YaqlEvaluationException):
        expr.evaluate('<% json_pp([1]) %>', {})


def test_all_entry_point_names_are_loaded():
    names = set(functions.load_functions())
    assert {'env', 'execution', 'executions', 'global', 'json_dump',
            'json_parse', 'task', 'tasks', 'uuid', 'yaml_dump',
            'yaml_parse'} <= names


def test_nested_evaluation_restores_outer_data_access(store):
    other = InMemoryDataAccess()
    assert expr.evaluate("<% task('a').id %>", CTX, store) == 't3'
    with pytest.raises(exc.YaqlEvaluationException):
        expr.evaluate("<% task('a').id %>", CTX, other)
    assert expr.evaluate("<% task('a').id %>", CTX, store) == 't3'


class _Broken(InMemoryDataAccess):
    def __init__(self, error):
        super().__init__()
        self.error = error

    def task(self, name, context):
        raise self.error


@pytest.mark.parametrize('text', ["<% task('a') %>", "{{ task('a') }}"])
def test_storage_failures_pass_through_unwrapped(text):
    class DeadlockError(Exception):
        pass

    with pytest.raises(DeadlockError):
        expr.evaluate(text, CTX, _Broken(DeadlockError('deadlock')))
    with pytest.raises(DeadlockError):
        expr.evaluate_recursively({'x': [text]}, CTX,
                                  _Broken(DeadlockError('deadlock')))


def test_mistral_errors_from_storage_become_evaluation_errors():
    broken = _Broken(exc.DBEntityNotFoundError('Execution not found'))
    with pytest.raises(exc.YaqlEvaluationException) as e:
        expr.evaluate("<% task('a') %>", CTX, broken)
    assert 'Execution not found' in str(e.value)


@pytest.mark.parametrize('text', ['<% json_dump($) %>', '{{ json_dump(_) }}',
                                  '<% yaml_dump($) %>'])
def test_dump_functions_accept_chainmap_contexts(text):
    import collections

    ctx = collections.ChainMap({'a': 1}, {'b': [1, 2]})
    dumped = expr.evaluate(text, ctx)
    assert lang_parse(dumped) == {'a': 1, 'b': [1, 2]}


def lang_parse(text):
    from mistral.lang import parse_yaml

    return parse_yaml(text)


def test_threads_see_their_own_data_access():
    from concurrent.futures import ThreadPoolExecutor

    def run(i):
        s = InMemoryDataAccess()
        s.add_task({'id': f't{i}', 'name': 'a',
                    'workflow_execution_id': 'ex1'})
        return [expr.evaluate("<% task('a').id %>", CTX, s)
                for _ in range(20)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(16)))

    for i, values in enumerate(results):
        assert values == [f't{i}'] * 20
