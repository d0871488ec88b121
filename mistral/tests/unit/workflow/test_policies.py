"""Task policies evaluated in a task's context, and what the task machine
makes of their values (start, conclude), including wrong values."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from mistral import exceptions as exc
from mistral.lang.task_spec import Policies
from mistral.lang.task_spec import RetrySpec
from mistral.workflow import policies
from mistral.workflow import states
from mistral.workflow import task_machine as tm

RUNNING = states.RUNNING
NAMES = tm.TaskNames('wf1', 't1')


def _tokens() -> Any:
    counter = itertools.count(1)
    return lambda: 'tok%d' % next(counter)


def _begin(pol: Policies, ctx: dict[str, Any],
           ts: tm.TaskState | None = None) -> tm.Step:
    return tm.begin(ts or tm.TaskState(), RUNNING,
                    lambda: policies.at_start(pol, ctx), _tokens(), NAMES)


# ----------------------------------------------------------------- start

def test_start_policies_from_literals_and_expressions():
    pol = Policies(wait_before='<% $.w %>', timeout=10,
                   pause_before='<% $.p %>', concurrency='<% $.c %>')
    assert policies.at_start(pol, {'w': 2, 'p': 'no', 'c': '3'}) == \
        tm.StartPolicies(wait_before=2, timeout=10, pause_before=False,
                         concurrency=3)
    # Zero concurrency is no limit.
    assert policies.at_start(Policies(concurrency=0), {}).concurrency is None


def test_begin_applies_the_evaluated_start_policies():
    step = _begin(Policies(wait_before='<% $.w %>'), {'w': 1})
    assert step.commands == (
        tm.Transition(RUNNING, states.RUNNING_DELAYED,
                      "Delayed by 'wait-before' policy [delay=1]"),
        tm.ScheduleContinue(1, 'tok1'))
    assert _begin(Policies(), {}).commands == (tm.RunActions(),)


@pytest.mark.parametrize('pol, error', [
    (Policies(wait_before='<% $.w %>'),
     "Invalid value of the 'wait-before' policy: 'soon' is not a number"),
    (Policies(timeout=-1),
     "Invalid value of the 'timeout' policy: -1 is negative"),
    (Policies(pause_before='maybe'),
     "Invalid value of the 'pause-before' policy: 'maybe' is not a "
     "boolean"),
])
def test_a_wrong_start_policy_value_fails_the_task(pol, error):
    ts = tm.TaskState(concurrency=2)
    step = _begin(pol, {'w': 'soon'}, ts)
    assert step.commands == (tm.FailTask(
        'Failed to run task [error=%s, wf=wf1, task=t1]' % error),)
    # Nothing else changes.
    assert step.state is ts


def test_a_failing_start_expression_fails_the_task():
    step = _begin(Policies(timeout='<% no_such_function() %>'), {})
    [fail] = step.commands
    assert isinstance(fail, tm.FailTask)
    assert fail.message.startswith('Failed to run task [error=')
    assert 'no_such_function' in fail.message
    assert fail.message.endswith(', wf=wf1, task=t1]')


# -------------------------------------------------------------- conclude

def _conclude(pol: Policies, ctx: dict[str, Any], state: str,
              info: str | None = None, record: dict[str, Any] | None = None,
              ts: tm.TaskState | None = None,
              names: tm.TaskNames | None = NAMES) -> tm.Step:
    completion = policies.Completion(pol, ctx, None,
                                     record if record is not None else {})
    return tm.conclude(ts or tm.TaskState(), RUNNING, state, info,
                       completion, _tokens(), names=names)


def test_fail_on_from_an_expression():
    pol = Policies(fail_on='<% $.bad %>')
    step = _conclude(pol, {'bad': True}, states.SUCCESS)
    assert step.commands == (tm.FinishTask(
        states.ERROR, "Failed by 'fail-on' policy", states.SUCCESS),)
    step = _conclude(pol, {'bad': False}, states.SUCCESS)
    assert step.commands == (tm.FinishTask(states.SUCCESS, None),)


def test_retry_counts_and_delays_from_expressions():
    pol = Policies(retry=RetrySpec(count='<% $.n %>', delay='<% $.d %>'))
    step = _conclude(pol, {'n': 2, 'd': 4}, states.ERROR, 'boom')
    assert step.commands == (
        tm.Transition(RUNNING, states.RUNNING_DELAYED,
                      "Delayed by 'retry' policy [delay=4]"),
        tm.ForgetResults(), tm.ScheduleContinue(4, 'tok1'))
    assert step.state.retry_no == 1
    # The last retry was used: the task finishes with its error.
    done = _conclude(pol, {'n': 2, 'd': 4}, states.ERROR, 'boom',
                     ts=tm.TaskState(retry_no=2))
    assert done.commands == (tm.FinishTask(states.ERROR, 'boom'),)


def test_retry_break_on_and_continue_on():
    stop = Policies(retry=RetrySpec(count=3, delay=0, break_on='<% $.s %>'))
    assert _kinds(_conclude(stop, {'s': True}, states.ERROR)) == [
        'FinishTask']
    assert _kinds(_conclude(stop, {'s': False}, states.ERROR))[0] == \
        'Transition'
    # A success is retried only while continue-on holds.
    more = Policies(retry=RetrySpec(count=3, delay=0,
                                    continue_on='<% $.more %>'))
    assert _kinds(_conclude(more, {'more': True}, states.SUCCESS))[0] == \
        'Transition'
    assert _kinds(_conclude(more, {'more': False}, states.SUCCESS)) == [
        'FinishTask']
    assert _kinds(_conclude(Policies(retry=RetrySpec(count=3, delay=0)),
                            {}, states.SUCCESS)) == ['FinishTask']


def test_task_in_completion_expressions_sees_the_outcome_as_it_is_then():
    record: dict[str, Any] = {'state': 'RUNNING'}
    pol = Policies(fail_on='true', wait_after=1)
    step = _conclude(pol, {}, states.SUCCESS, record=record)
    # wait-after was asked after fail-on turned the success into an error.
    assert record == {'state': states.ERROR,
                      'state_info': "Failed by 'fail-on' policy"}
    assert step.state.wait_after_done == tm.WaitAfter(
        states.ERROR, "Failed by 'fail-on' policy", states.SUCCESS)


def test_a_wrong_completion_policy_value_fails_the_task():
    pol = Policies(retry=RetrySpec(count='<% $.n %>', delay=0))
    ts = tm.TaskState(retry_no=1)
    step = _conclude(pol, {'n': 'many'}, states.ERROR, ts=ts)
    assert step.commands == (tm.FailTask(
        "Failed to run task [error=Invalid value of the 'retry' policy: "
        "'many' is not a number, wf=wf1, task=t1]"),)
    assert step.state is ts
    # Without names the error is the caller's.
    with pytest.raises(exc.InvalidModelException):
        _conclude(pol, {'n': 'many'}, states.ERROR, names=None)


# ----------------------------------------------------------- keep-result

def test_keep_result():
    assert policies.keep_result(True, {})
    assert policies.keep_result(None, {})
    assert not policies.keep_result(False, {})
    assert not policies.keep_result('<% $.keep %>', {'keep': False})
    assert policies.keep_result('<% $.keep %>', {'keep': 1})


def _kinds(step: tm.Step) -> list[str]:
    return [type(c).__name__ for c in step.commands]
