import collections

import pytest

from mistral import exceptions as exc
from mistral import expressions as expr
from mistral.config import CONF


@pytest.fixture
def restore_conf():
    yield
    CONF.clear_override('allowed_languages', group='expressions')


@pytest.mark.parametrize('text, expected', [
    ('<% $.a + 1 %>', 3),
    ('<% $.l %>', [1, 2]),
    ('<% $.d %>', {'k': [1, {'q': 2}]}),
    ('<% $.s %>', 'str'),
    ('<% true %>', True),
    ('<% null %>', None),
    ('{{ _.a + 1 }}', 3),
    ('{{ _.l }}', [1, 2]),
    ('{{ _.d.k[1].q }}', 2),
])
def test_whole_expression_returns_native_value(text, expected):
    ctx = {'a': 2, 'l': [1, 2], 'd': {'k': [1, {'q': 2}]}, 's': 'str'}
    assert expr.evaluate(text, ctx) == expected


@pytest.mark.parametrize('text, expected', [
    ('x <% $.a %> y <% $.b %>', 'x 2 y None'),
    ('<% $.a %><% $.a %>', '22'),
    ('n={{ _.a }}', 'n=2'),
    ('{{ _.a }} and {{ _.a }}', '2 and 2'),
    ('{% if _.a > 1 %}big{% endif %}', 'big'),
    ('plain text', 'plain text'),
    # Jinja drops a single trailing newline when rendering.
    ('{{ _.a }}\n', '2'),
    ('<% $.a %>\n', '2\n'),
])
def test_interpolation_gives_string(text, expected):
    assert expr.evaluate(text, {'a': 2, 'b': None}) == expected


def test_non_string_is_returned_unchanged():
    assert expr.evaluate(5, {}) == 5


def test_chainmap_context_is_supported():
    ctx = collections.ChainMap({'a': 1}, {'a': 5, 'b': {'c': [1, 2]}})
    assert expr.evaluate('<% $.a + $.b.c.len() %>', ctx) == 3
    assert expr.evaluate('{{ _.a + _.b.c | length }}', ctx) == 3
    assert expr.evaluate('<% $.b %>', ctx) == {'c': [1, 2]}
    assert expr.evaluate('<% $ %>', ctx) == {'a': 1, 'b': {'c': [1, 2]}}
    whole = expr.evaluate('{{ _ }}', ctx)
    assert type(whole) is dict
    assert whole == {'a': 1, 'b': {'c': [1, 2]}}


def test_evaluate_recursively_copies_and_evaluates():
    data = {'x': '<% $.a %>', 'l': ['{{ _.a * 2 }}', 1], 'k': {'n': 'v'},
            '<% $.a %>': 'key not evaluated'}
    result = expr.evaluate_recursively(data, {'a': 3})
    assert result == {'x': 3, 'l': [6, 1], 'k': {'n': 'v'},
                      '<% $.a %>': 'key not evaluated'}
    assert data['x'] == '<% $.a %>'


@pytest.mark.parametrize('text, expected', [
    ('<% $.l.where($ > 1).select($ * 10) %>', [20, 30]),
    ('<% len($.l) %>', 3),
    ('<% $.d.keys() %>', ['x']),
    ('<% dict(a => 1).set(b, 2) %>', {'a': 1, 'b': 2}),
    ('<% let(x => 3) -> $x * 2 %>', 6),
    ('<% $.l.sum() %>', 6),
    ('<% list(1, 2) + list(3) %>', [1, 2, 3]),
    ('<% "a,b".split(",") %>', ['a', 'b']),
    ('<% $.l.first() %>', 1),
    ('<% switch($.l.len() > 2 => big, true => small) %>', 'big'),
    ('<% distinct([{a => 1}, {a => 1}]) %>', [{'a': 1}]),
    ('<% $.d.x in $.l %>', True),
])
def test_yaql_standard_library(text, expected):
    assert expr.evaluate(text, {'l': [1, 2, 3], 'd': {'x': 1}}) == expected


@pytest.mark.parametrize('text', [
    '{{ "".__class__ }}',
    '{{ ().__class__.__bases__[0].__subclasses__() }}',
    '{{ _.__class__ }}',
    '{{ lipsum.__globals__ }}',
])
def test_jinja_sandbox_refuses_unsafe_attributes(text):
    with pytest.raises(exc.JinjaEvaluationException) as e:
        expr.evaluate(text, {})
    assert 'unsafe' in str(e.value) or 'undefined' in str(e.value)


def test_jinja_undefined_is_an_error():
    with pytest.raises(exc.JinjaEvaluationException) as e:
        expr.evaluate('{{ _.nope }}', {'a': 1, 'secret': 'S3CR3T'})
    assert 'nope' in str(e.value)
    assert 'S3CR3T' not in str(e.value)


def test_yaql_error_message_has_expression_but_no_data():
    with pytest.raises(exc.YaqlEvaluationException) as e:
        expr.evaluate('<% $.missing.x %>', {'secret': 'S3CR3T'})
    message = str(e.value)
    assert message.startswith('Can not evaluate YAQL expression '
                              '[expression=$.missing.x, error=')
    assert 'S3CR3T' not in message


def test_yaql_runtime_error_is_wrapped():
    with pytest.raises(exc.YaqlEvaluationException):
        expr.evaluate('<% 1 / 0 %>', {})


def test_jinja_runtime_error_is_wrapped():
    with pytest.raises(exc.JinjaEvaluationException) as e:
        expr.evaluate('{{ 1 / 0 }}', {})
    assert 'Can not evaluate Jinja expression' in str(e.value)


def test_mixing_languages_fails_validation_and_evaluation():
    with pytest.raises(exc.DSLParsingException) as e:
        expr.validate('<% 1 %> {{ 2 }}')
    assert str(e.value) == expr.MIXING_ERROR
    with pytest.raises(exc.EvaluationException):
        expr.evaluate('<% 1 %> {{ 2 }}', {})


@pytest.mark.parametrize('text, error', [
    ('<% $.a + %>', exc.YaqlGrammarException),
    ('<% $.a( %>', exc.YaqlGrammarException),
    ('{{ _.a + }}', exc.JinjaGrammarException),
    ('{% if %}', exc.JinjaGrammarException),
])
def test_validate_rejects_bad_grammar(text, error):
    with pytest.raises(error):
        expr.validate(text)


@pytest.mark.parametrize('text', [
    '<% $.a %>', '{{ _.a }}', '{% for x in _.l %}{{ x }}{% endfor %}',
    'no expression', '<% $.a %> and <% $.b %>'])
def test_validate_accepts_good_expressions(text):
    assert expr.validate(text) is None


@pytest.mark.parametrize('value, expected', [
    ('<% 1 %>', True), ('{{ 1 }}', True), ('{% x %}', True),
    ('text', False), (1, False), ({'a': ['x', '<% 1 %>']}, True),
    ({'a': ['x']}, False),
])
def test_has_expression(value, expected):
    assert expr.has_expression(value) is expected


def test_allowed_languages_enforced(restore_conf):
    CONF.set_override('allowed_languages', ['jinja'], group='expressions')
    with pytest.raises(exc.YaqlGrammarException):
        expr.validate('<% 1 %>')
    with pytest.raises(exc.YaqlEvaluationException):
        expr.evaluate('<% 1 %>', {})
    assert expr.evaluate('{{ 1 }}', {}) == 1

    CONF.set_override('allowed_languages', ['yaql'], group='expressions')
    with pytest.raises(exc.JinjaGrammarException):
        expr.validate('{{ 1 }}')
    with pytest.raises(exc.JinjaEvaluationException):
        expr.evaluate('{{ 1 }}', {})


def test_jinja_top_level_variables():
    ctx = {'__env': {'k': 'v'}, '__execution': {'id': 'ex1'}}
    assert expr.evaluate('{{ __env.k }}', ctx) == 'v'
    assert expr.evaluate('{{ __execution.id }}', ctx) == 'ex1'


class _NoIteration(dict):
    """A context that fails if anything walks all of it."""

    def __iter__(self):
        raise AssertionError('the whole context was walked')

    def items(self):
        raise AssertionError('the whole context was walked')

    def values(self):
        raise AssertionError('the whole context was walked')


def test_yaql_reads_context_lazily():
    ctx = _NoIteration(a={'b': [1, 2]}, big={'x': 1})
    assert expr.evaluate('<% $.a.b[1] + 1 %>', ctx) == 3
    assert expr.evaluate('<% $.a %>', ctx) == {'b': [1, 2]}


def test_yaql_dict_views_keep_order():
    ctx = {'d': {'z': 1, 'a': 2, 'm': 3}}
    assert expr.evaluate('<% $.d.keys() %>', ctx) == ['z', 'a', 'm']
    assert expr.evaluate('<% $.d.values() %>', ctx) == [1, 2, 3]


def test_yaql_results_are_plain_python():
    result = expr.evaluate('<% $.d %>', {'d': {'l': [{'a': 1}]}})
    assert type(result) is dict
    assert type(result['l']) is list
    assert type(result['l'][0]) is dict


def test_yaql_set_operations_on_context_data():
    ctx = {'l': [{'a': 1}, {'a': 1}, {'a': 2}]}
    assert expr.evaluate('<% $.l.distinct().len() %>', ctx) == 2
    assert expr.evaluate('<% $.l.toSet().len() %>', ctx) == 2


@pytest.mark.parametrize('text, expected', [
    ('{{ _.l | length }}', 3),
    ('{{ _.l | join(",") }}', '1,2,3'),
    ('{{ _.missing | default("d") }}', 'd'),
    ('{{ _.objs | map(attribute="a") | list }}', [1, 2]),
    ('{{ _.l | sum }}', 6),
    ('{{ _.l | max }}', 3),
    ('{{ _.s | upper }}', 'ABC'),
    ('{{ _.s ~ "-" ~ _.l[0] }}', 'abc-1'),
    ('{{ _.l | select("odd") | list }}', [1, 3]),
    ('{{ {"k": _.s} }}', {'k': 'abc'}),
    ('{{ _.l[1:] }}', [2, 3]),
    ('{{ "x" if _.l else "y" }}', 'x'),
    ('{% for i in _.l %}{{ i }};{% endfor %}', '1;2;3;'),
    ('{% set t = _.l | length %}{{ t * 2 }}', '6'),
])
def test_jinja_builtins(text, expected):
    ctx = {'l': [1, 2, 3], 'objs': [{'a': 1}, {'a': 2}], 's': 'abc'}
    assert expr.evaluate(text, ctx) == expected


@pytest.mark.parametrize('text, expected', [
    ('<% $.s.toUpper() %>', 'ABC'),
    ('<% $.s.len() %>', 3),
    ('<% $.objs.select($.a) %>', [1, 2]),
    ('<% $.objs.where($.a > 1).first().a %>', 2),
    ('<% $.l.orderBy(-$) %>', [3, 2, 1]),
    ('<% $.l.skip(1).take(1) %>', [2]),
    ('<% range(3) %>', [0, 1, 2]),
    ('<% $.l.any($ > 2) %>', True),
    ('<% $.l.all($ > 2) %>', False),
    ('<% $.d.get(missing, 7) %>', 7),
    ('<% $.d.x %>', 1),
    ('<% $.l.join(",") %>', '1,2,3'),
    ('<% $.undefined_function() %>', None),
    ('<% $.s + "d" %>', 'abcd'),
    ('<% $.s.replace("b", "B") %>', 'aBc'),
    ('<% regex("a.c").matches($.s) %>', True),
    ('<% 7 mod 3 %>', 1),
    ('<% int("12") + 1 %>', 13),
    ('<% not true %>', False),
    ('<% $.l.contains(2) %>', True),
    ('<% $.d.set(y, 2) %>', {'x': 1, 'y': 2}),
    ('<% $.d.items() %>', [['x', 1]]),
    ('<% $.objs.groupBy($.a > 1).len() %>', 2),
])
def test_yaql_more_standard_library(text, expected):
    ctx = {'l': [1, 2, 3], 'objs': [{'a': 1}, {'a': 2}], 's': 'abc',
           'd': {'x': 1}}
    if expected is None:
        with pytest.raises(exc.YaqlEvaluationException):
            expr.evaluate(text, ctx)
    else:
        assert expr.evaluate(text, ctx) == expected


def test_jinja_whole_expression_keeps_types():
    ctx = {'d': {'a': [1, {'b': None}]}, 'f': 1.5, 't': True}
    assert expr.evaluate('{{ _.d }}', ctx) == {'a': [1, {'b': None}]}
    assert expr.evaluate('{{ _.f }}', ctx) == 1.5
    assert expr.evaluate('{{ _.t }}', ctx) is True
    assert expr.evaluate('{{ _.d.a[1].b }}', ctx) is None


def test_yaql_interpolation_uses_python_str():
    ctx = {'t': True, 'n': None, 'l': [1]}
    assert expr.evaluate('<% $.t %>/<% $.n %>/<% $.l %>', ctx) == \
        'True/None/[1]'


def test_yaql_without_input_conversion():
    CONF.set_override('convert_input_data', False, group='yaql')
    try:
        ctx = collections.ChainMap({'a': 1}, {'l': [1, 2]})
        assert expr.evaluate('<% $.a + $.l.len() %>', ctx) == 3
    finally:
        CONF.clear_override('convert_input_data', group='yaql')


def test_reset_caches_applies_new_yaql_options():
    try:
        CONF.set_override('convert_tuples_to_lists', False, group='yaql')
        expr.reset_caches()
        assert expr.evaluate('<% list(1, 2) %>', {}) == (1, 2)
    finally:
        CONF.clear_override('convert_tuples_to_lists', group='yaql')
        expr.reset_caches()
    assert expr.evaluate('<% list(1, 2) %>', {}) == [1, 2]


@pytest.mark.parametrize('text, fragment', [
    ('<% $.nosuch() %>', 'Unknown method "nosuch"'),
    ('<% $.l.len(1) %>', 'No method "len"'),
])
def test_yaql_method_errors_do_not_dump_the_receiver(text, fragment):
    with pytest.raises(exc.YaqlEvaluationException) as e:
        expr.evaluate(text, {'secret': 'S3CR3T', 'l': ['S3CR3T']})
    assert fragment in str(e.value)
    assert 'S3CR3T' not in str(e.value)


def test_none_context_is_an_empty_context():
    assert expr.evaluate('<% 1 + 1 %>', None) == 2
    assert expr.evaluate('{{ 1 + 1 }}', None) == 2
    assert expr.evaluate_recursively({'a': '<% 2 %>'}, None) == {'a': 2}


def test_multi_line_expressions():
    ctx = {'l': [1, 2, 3]}
    assert expr.evaluate('<% $.l\n  .where($ > 1)\n  .len() %>', ctx) == 2
    assert expr.evaluate('{{ _.l\n | length }}', ctx) == 3
    assert expr.has_expression('<% $.a\n %>')


def test_yaql_without_output_conversion_still_gives_data():
    CONF.set_override('convert_output_data', False, group='yaql')
    expr.reset_caches()
    try:
        ctx = {'l': [1, 2, 3], 'd': {'a': 1}}
        assert list(expr.evaluate('<% $.l.select($ * 2) %>', ctx)) == \
            [2, 4, 6]
        assert expr.evaluate('<% $.d %>', ctx) == {'a': 1}
    finally:
        CONF.clear_override('convert_output_data', group='yaql')
        expr.reset_caches()


def test_warm_up_builds_engines():
    expr.reset_caches()
    expr.warm_up()
    assert expr._yaql._engine is not None
    assert expr.evaluate('<% 2 * 3 %>', {}) == 6


@pytest.mark.parametrize('text, expected', [
    ('<% $.d = {x => 1} %>', True),
    ('<% {x => 1} = $.d %>', True),
    ('<% $.l = [1, 2, 3] %>', True),
    ('<% $.n[0] in $.n %>', True),
    ('<% $.n.contains({a => 1}) %>', True),
    ('<% dict($.d.items()) %>', {'x': 1}),
    ('<% $.d + {y => 2} %>', {'x': 1, 'y': 2}),
])
def test_lazy_context_values_compare_like_yaql_data(text, expected):
    ctx = {'d': {'x': 1}, 'l': [1, 2, 3], 'n': [{'a': 1}]}
    assert expr.evaluate(text, ctx) == expected


class _TaskAccess:
    """task() answers a fixed task dict; counts the calls."""

    def __init__(self, task):
        self.task_dict = task
        self.calls = 0

    def task(self, name, context):
        self.calls += 1
        return self.task_dict


@pytest.mark.parametrize('text', [
    '<% task().result %>', '<% task().result.items %>',
    '<% task().published.x %>', '<% task().state %>',
    '<% task().state_info %>', '<%task( ).result%>'])
def test_task_path_shortcut_gives_what_yaql_gives(text):
    from mistral.expressions import data_access as da
    from mistral.expressions import yaql_engine

    result = {'items': [1, {'a': [2]}], 'n': 3}
    task = {'result': result, 'published': {'x': 'y'}, 'state': 'SUCCESS',
            'state_info': None}
    access = _TaskAccess(task)
    fast = expr.evaluate(text, {}, access)
    assert access.calls == 1
    inner = text.strip()[2:-2]
    with da.evaluation_frame({}, access):
        slow = yaql_engine.evaluate(inner, {})
    assert fast == slow
    # Copies, as YAQL hands out: changing one leaves the task untouched.
    if isinstance(fast, dict):
        fast['items'].append('changed')
        assert result['items'] == [1, {'a': [2]}]


def test_task_path_shortcut_leaves_errors_to_yaql():
    access = _TaskAccess({'result': 1})
    with pytest.raises(exc.YaqlEvaluationException) as e:
        expr.evaluate('<% task().missing %>', {}, access)
    assert 'missing' in str(e.value)
    # Not a task at all: YAQL's own error as well.
    with pytest.raises(exc.YaqlEvaluationException):
        expr.evaluate('<% task().result.x %>', {}, _TaskAccess(
            {'result': 'text'}))


_SELECT_CASES = [
    '$.l.select($.content)',
    '$.l.select($.a.b)',
    ' $.deep.l.select( $.content ) ',
    '$.e.select($.x)',
    '$.partial.select($.content)',     # a missing key: yaql's error
    '$.mixed.select($.content)',       # not every element a dict
    '$.d.select($.content)',           # not a list
    '$.s.select($.content)',
    '$.nol.select($.x)',
    '$.nulls.select($.a.b)',           # null on the way
]
_SELECT_CONTEXT = {
    'l': [{'content': 1, 'a': {'b': 2}}, {'content': [1, {'q': 2}],
                                           'a': {'b': None}}],
    'deep': {'l': [{'content': 'x'}]},
    'e': [],
    'partial': [{'content': 1}, {'other': 2}],
    'mixed': [{'content': 1}, 5],
    'd': {'content': 5},
    's': 'abc',
    'nulls': [{'a': None}],
}


def _outcome(fn):
    try:
        return 'value', fn()
    except exc.MistralException as e:
        return 'error', type(e)


@pytest.mark.parametrize('text', _SELECT_CASES)
def test_select_shortcut_gives_what_yaql_gives(text):
    from mistral.expressions import yaql_engine

    fast = _outcome(lambda: expr.evaluate('<% ' + text + ' %>',
                                          _SELECT_CONTEXT))
    slow = _outcome(lambda: yaql_engine.evaluate(text, _SELECT_CONTEXT))
    assert fast == slow


def test_select_shortcut_skips_yaql_and_copies(monkeypatch):
    from mistral.expressions import yaql_engine

    def refuse(text, context):
        raise AssertionError('yaql asked for %r' % text)

    monkeypatch.setattr(yaql_engine, 'evaluate', refuse)
    got = expr.evaluate('<% $.l.select($.content) %>', _SELECT_CONTEXT)
    assert got == [1, [1, {'q': 2}]]
    got[1][1]['q'] = 'changed'
    assert _SELECT_CONTEXT['l'][1]['content'] == [1, {'q': 2}]
    result = [{'content': 'a'}, {'content': 'b'}]
    access = _TaskAccess({'result': result})
    assert expr.evaluate('<% task().result.select($.content) %>', {},
                         access) == ['a', 'b']
    assert access.calls == 1


@pytest.mark.parametrize('result', [
    [{'content': 1}, {'content': {'k': [1]}}],
    [{'content': 1}, {'x': 1}], 'text', None])
def test_select_shortcut_on_task_matches_yaql(result):
    from mistral.expressions import data_access as da
    from mistral.expressions import yaql_engine

    access = _TaskAccess({'result': result})
    text = 'task().result.select($.content)'
    fast = _outcome(lambda: expr.evaluate('<% ' + text + ' %>', {}, access))
    with da.evaluation_frame({}, access):
        slow = _outcome(lambda: yaql_engine.evaluate(text, {}))
    assert fast == slow
