"""The direct string-chain shortcut gives exactly what yaql gives."""

import pytest

from mistral import exceptions as exc
from mistral import expressions as expr
from mistral.expressions import shortcuts
from mistral.expressions import yaql_engine

CONTEXT = {
    'target': 'http://127.0.0.1:8000/',
    'name': 'job',
    'n': 7,
    'neg': -3,
    'big': 10 ** 30,
    'flag': True,
    'off': False,
    'none': None,
    'f': 1.5,
    'l': [1, 'a'],
    'd': {'k': 'v', 'inner': {'deep': 'x'}},
    'empty': '',
}

# Expressions the fast path answers itself.
TAKEN = [
    "$.target + '?v=' + str($.n)",
    "'job-' + $.name",
    '"a" + "b" + "c"',
    "$.name+$.name",
    '  $.d.k + $.d.inner.deep  ',
    'str($.n)',
    'str($.neg)',
    'str($.big)',
    'str($.flag) + str($.off) + str($.none)',
    "str('lit') + str( $.name )",
    "$.empty + ''",
    'str("x")',
]

# Expressions it must leave to yaql (a value or an error from yaql).
LEFT = [
    "$.name + $.n",            # string + number: yaql's error
    '$.n + $.n',               # numbers add
    "$.missing + 'x'",         # null + string
    'str($.f)',                # floats: yaql's own formatting
    'str($.l)',
    'str($.d)',
    '$.l + $.l',               # lists concatenate
    '$.d + $.d',
    "$.name + 'a\\'b'",        # escapes
    '$.name',                  # a plain path (its own fast path)
    "'lit'",
    "$.name + ",
    "+ $.name",
    "$.name + 'x' + len($.name)",
    "str($.name) + $.name.toUpper()",
    "$.d.k.nothing + 'x'",
]


def _by_yaql(text):
    try:
        return 'value', yaql_engine.evaluate(text, CONTEXT)
    except exc.MistralException as e:
        return 'error', type(e)


def _through_evaluate(text):
    try:
        return 'value', expr.evaluate('<% ' + text + ' %>', CONTEXT)
    except exc.MistralException as e:
        return 'error', type(e)


@pytest.mark.parametrize('text', TAKEN)
def test_taken_expressions_match_yaql(text):
    fast = shortcuts.concat(text, CONTEXT)
    assert fast is not shortcuts.MISSING
    assert ('value', fast) == _by_yaql(text)
    assert _through_evaluate(text) == _by_yaql(text)


@pytest.mark.parametrize('text', LEFT)
def test_other_expressions_are_left_to_yaql(text):
    assert shortcuts.concat(text, CONTEXT) is shortcuts.MISSING
    assert _through_evaluate(text) == _by_yaql(text)


def test_evaluate_does_not_ask_yaql_for_taken_expressions(monkeypatch):
    def refuse(text, context):
        raise AssertionError('yaql asked for %r' % text)

    monkeypatch.setattr(yaql_engine, 'evaluate', refuse)
    assert expr.evaluate("<% $.target + 'x' %>", CONTEXT) == (
        CONTEXT['target'] + 'x')
    text = 'url=<% $.target + str($.n) %>;'
    assert expr.evaluate(text, CONTEXT) == 'url=http://127.0.0.1:8000/7;'


def test_long_results_are_left_to_yaql():
    ctx = {'s': 'x' * (shortcuts.MAX_LENGTH // 2 + 1)}
    assert shortcuts.concat('$.s + $.s', ctx) is shortcuts.MISSING
    assert expr.evaluate('<% $.s + $.s %>', ctx) == ctx['s'] * 2


def test_a_plugin_str_function_wins(monkeypatch):
    monkeypatch.setitem(yaql_engine._registered, 'str',
                        lambda value: 'mine')
    # The plugin is not registered in yaql here, so yaql's own str()
    # runs; what matters is that the fast path stepped aside.
    seen = []
    real = yaql_engine.evaluate

    def spy(text, context):
        seen.append(text)
        return real(text, context)

    monkeypatch.setattr(yaql_engine, 'evaluate', spy)
    assert expr.evaluate('<% str($.n) %>', CONTEXT) == '7'
    assert [s.strip() for s in seen] == ['str($.n)']
