"""std.noop, std.async_noop, std.echo, std.fail, std.sleep, std.test_dict."""

from __future__ import annotations

import time

import pytest
from mistral_lib import actions as ml_actions

from mistral import exceptions
from mistral.actions import registry
from mistral.actions import runner
from mistral.actions import std


def _run(name: str, ctx, **input):
    return runner.run(registry.find(name), input, ctx)


def test_noop(ctx):
    assert _run('std.noop', ctx) == {'data': None}


def test_async_noop_is_async(ctx):
    action = registry.find('std.async_noop').instantiate({}, None)
    assert action.is_sync() is False
    assert runner.run(action, None, ctx) is None


def test_echo_returns_output(ctx):
    assert _run('std.echo', ctx, output={'a': [1, 2]}) == {
        'data': {'a': [1, 2]}}


def test_echo_delay(ctx):
    start = time.monotonic()
    assert _run('std.echo', ctx, output='x', delay=0.3) == {'data': 'x'}
    assert time.monotonic() - start >= 0.3


@pytest.mark.parametrize('delay', [-5, 'junk', None])
def test_echo_bad_delay_means_no_delay(delay):
    assert std.EchoAction('x', delay=delay)._delay == 0


def test_fail_with_error_data(ctx):
    assert _run('std.fail', ctx, error_data={'why': 'bad'}) == {
        'error': {'why': 'bad'}}


def test_fail_without_error_data(ctx):
    res = _run('std.fail', ctx)
    assert res == {'error': "The action raised an exception "
                            "[action=Fail action, action_ex_id=act-1, "
                            "msg='Fail action expected exception.']"}


def test_fail_raises_action_exception(ctx):
    with pytest.raises(exceptions.ActionException):
        std.FailAction().run(ctx)


def test_sleep(ctx):
    start = time.monotonic()
    assert _run('std.sleep', ctx, seconds=1) == {'data': None}
    assert time.monotonic() - start >= 1
    assert std.SleepAction(seconds='2.5')._seconds == 0
    assert std.SleepAction(seconds=-3)._seconds == 0


def test_test_dict(ctx):
    assert _run('std.test_dict', ctx, size=3, key_prefix='k',
                val='v') == {'data': {'k0': 'v', 'k1': 'v', 'k2': 'v'}}
    assert _run('std.test_dict', ctx) == {'data': {}}


def test_result_objects_pass_through(ctx):
    class Cancel(ml_actions.Action):
        def run(self, context):
            return ml_actions.Result(cancel=True)

    class Data(ml_actions.Action):
        def run(self, context):
            return ml_actions.Result(data=[1])

    assert runner.run(Cancel(), None, ctx) == {'cancel': True}
    assert runner.run(Data(), None, ctx) == {'data': [1]}


def test_upstream_module_alias():
    from mistral.actions import std_actions
    assert std_actions.EchoAction is std.EchoAction
