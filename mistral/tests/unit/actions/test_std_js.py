"""std.javascript / std.js with the mini-racer V8 engine."""

from __future__ import annotations

import sys

import pytest

from mistral import exceptions
from mistral.actions import registry
from mistral.actions import runner
from mistral.actions import std


def test_returns_value(ctx):
    assert std.JavaScriptAction('return 1 + 2;').run(ctx) == 3


def test_dollar_is_context(ctx):
    action = std.JavaScriptAction(
        'return {sum: $.a + $.b, names: $.items.map(i => i.n)};',
        context={'a': 1, 'b': 2, 'items': [{'n': 'x'}, {'n': 'y'}]})
    assert action.run(ctx) == {'sum': 3, 'names': ['x', 'y']}


def test_no_return_is_none(ctx):
    assert std.JavaScriptAction('var x = 1;').run(ctx) is None


def test_string_result(ctx):
    assert std.JavaScriptAction('return "a" + $;',
                                context='b').run(ctx) == 'ab'


def test_js_alias_runs_in_runner_thread(ctx, fresh_registry):
    desc = registry.find('std.js')
    res = runner.run(desc, {'script': 'return $.length', 'context': [1, 2]},
                     ctx, timeout=30)
    assert res == {'data': 2}


def test_script_error(ctx):
    res = runner.run(std.JavaScriptAction('throw new Error("kaput");'),
                     None, ctx)
    assert 'kaput' in res['error']


def test_missing_library_is_a_clear_error(ctx, monkeypatch):
    monkeypatch.setitem(sys.modules, 'py_mini_racer', None)
    with pytest.raises(exceptions.ActionException) as e:
        std.JavaScriptAction('return 1').run(ctx)
    assert 'mini-racer' in str(e.value)


def test_unsupported_implementation(ctx, conf):
    conf('js_implementation', 'pyv8')
    with pytest.raises(exceptions.ActionException) as e:
        std.JavaScriptAction('return 1').run(ctx)
    assert 'pyv8' in str(e.value)
