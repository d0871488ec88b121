"""The task state machine: its state record, transition table and events."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from mistral import exceptions as exc
from mistral.workflow import states
from mistral.workflow import task_machine as tm

RUNNING = states.RUNNING
DELAYED = states.RUNNING_DELAYED


def _tokens() -> Any:
    counter = itertools.count(1)
    return lambda: 'tok%d' % next(counter)


def _kinds(step: tm.Step) -> list[str]:
    return [type(c).__name__ for c in step.commands]


class Policies:
    """Completion policies with fixed answers; records what was asked."""

    def __init__(self, fails_on: bool = False,
                 retry: tm.RetryDecision | None = None,
                 wait_after: float | None = None) -> None:
        self._fails_on = fails_on
        self._retry = retry
        self._wait_after = wait_after
        self.asked: list[tuple[Any, ...]] = []

    def fails_on(self, state: str) -> bool:
        self.asked.append(('fails_on', state))
        return self._fails_on and state == states.SUCCESS

    def retry(self, state: str, state_info: str | None,
              retry_no: int) -> tm.RetryDecision | None:
        self.asked.append(('retry', state, state_info, retry_no))
        return self._retry

    def wait_after(self, state: str, state_info: str | None
                   ) -> float | None:
        self.asked.append(('wait_after', state, state_info))
        return self._wait_after


# ------------------------------------------------------------ the table

def test_table_covers_every_state_and_only_states():
    assert set(tm.TRANSITIONS) == set(states.ALL) | {tm.NEW}
    for targets in tm.TRANSITIONS.values():
        assert targets <= set(states.ALL)


@pytest.mark.parametrize('final', sorted(states.COMPLETED - {states.ERROR}))
def test_nothing_leaves_a_final_state_but_error(final):
    for target in states.ALL:
        if target != final:
            with pytest.raises(tm.IllegalTransition):
                tm.check(final, target)
    tm.check(states.ERROR, RUNNING)
    with pytest.raises(tm.IllegalTransition):
        tm.check(states.ERROR, states.SUCCESS)


def test_a_new_task_is_running_or_waiting():
    tm.check(tm.NEW, RUNNING)
    tm.check(tm.NEW, states.WAITING)
    for target in (states.IDLE, DELAYED, states.SUCCESS, tm.NEW):
        with pytest.raises(tm.IllegalTransition):
            tm.check(tm.NEW, target)


def test_staying_is_allowed_and_illegal_transitions_raise():
    tm.check(DELAYED, DELAYED)
    with pytest.raises(tm.IllegalTransition) as e:
        tm.Transition(states.WAITING, states.IDLE)
    assert e.value.from_state == states.WAITING
    assert e.value.to_state == states.IDLE
    with pytest.raises(tm.IllegalTransition):
        tm.Transition(states.IDLE, DELAYED)


# ---------------------------------------------------------- state record

ROWS = [
    {},
    {'triggered_by': [{'task_id': 'a', 'event': 'on-success'}]},
    {'triggered_by': [], 'join_arrivals': 2},
    {'concurrency': 2, 'pause_before_done': True, 'timeout_scheduled': True,
     'wait_before_done': True, 'delay_token': 'x'},
    {'with_items': {'count': 5, 'capacity': 2}, 'pending_items': 3,
     'pending_taken': [4, 1]},
    {'retry_task_policy': {'retry_no': 2}},
    {'wait_after_done': {'state': 'SUCCESS', 'state_info': None}},
    {'wait_after_done': {'state': 'ERROR', 'state_info': 'x',
                         'publish_state': 'SUCCESS'}},
    # Upstream rows: keys and sub-keys we do not know are kept.
    {'recovery': {'x': 1}, 'with_items': {'capacity': 1, 'count': 2,
                                          'other': True},
     'retry_task_policy': {'retry_no': 1, 'more': 'y'}},
]


@pytest.mark.parametrize('rc', ROWS)
def test_runtime_context_round_trips(rc):
    ts = tm.TaskState.from_runtime_context(rc)
    assert ts.to_runtime_context() == rc
    assert tm.TaskState.from_runtime_context(ts.to_runtime_context()) == ts


def test_state_record_reads_the_keys():
    ts = tm.TaskState.from_runtime_context(ROWS[4])
    assert ts.has_with_items
    assert ts.with_items == tm.WithItems(count=5, capacity=2)
    assert ts.pending_items == 3 and ts.pending_taken == (4, 1)
    assert tm.TaskState.from_runtime_context(None) == tm.TaskState()
    assert tm.TaskState.from_runtime_context(ROWS[5]).attempts == 2
    assert tm.has_with_items(ROWS[4]) and not tm.has_with_items(None)


# ----------------------------------------------------------------- start

def test_start_without_policies_runs_the_actions():
    step = tm.start(tm.TaskState(), RUNNING, tm.StartPolicies(), _tokens())
    assert step.commands == (tm.RunActions(),)
    assert step.state == tm.TaskState()


def test_pause_before_holds_the_task_once():
    pol = tm.StartPolicies(pause_before=True, timeout=5, concurrency=3)
    step = tm.start(tm.TaskState(), RUNNING, pol, _tokens())
    assert step.commands == (
        tm.Transition(RUNNING, states.IDLE, "Set by 'pause-before' policy"),
        tm.Notify(tm.TASK_PAUSED), tm.PauseWorkflow())
    # Concurrency is kept; the timeout waits for the real start.
    assert step.state.to_runtime_context() == {'concurrency': 3,
                                               'pause_before_done': True}
    again = tm.start(step.state, RUNNING, pol, _tokens())
    assert _kinds(again) == ['ScheduleTimeout', 'RunActions']


def test_wait_before_delays_and_the_timeout_counts_the_delay():
    pol = tm.StartPolicies(wait_before=2, timeout=10)
    step = tm.start(tm.TaskState(), RUNNING, pol, _tokens())
    assert step.commands == (
        tm.ScheduleTimeout(timeout=10, due_in=12),
        tm.Transition(RUNNING, DELAYED,
                      "Delayed by 'wait-before' policy [delay=2]"),
        tm.ScheduleContinue(2, 'tok1'))
    assert step.state.wait_before_done and step.state.timeout_scheduled
    assert step.state.delay_token == 'tok1'
    # After the delay it starts for real: neither applies again.
    assert tm.start(step.state, RUNNING, pol, _tokens()).commands == (
        tm.RunActions(),)


def test_fractional_delays_show_as_given():
    step = tm.start(tm.TaskState(), RUNNING,
                    tm.StartPolicies(wait_before=0.5), _tokens())
    assert step.transition() == tm.Transition(
        RUNNING, DELAYED, "Delayed by 'wait-before' policy [delay=0.5]")


# -------------------------------------------------------------- conclude

def test_conclude_without_policies_finishes():
    pol = Policies()
    step = tm.conclude(tm.TaskState(), RUNNING, states.SUCCESS, None, pol,
                       _tokens())
    assert step.commands == (tm.FinishTask(states.SUCCESS, None),)
    assert pol.asked == [('fails_on', 'SUCCESS'),
                         ('retry', 'SUCCESS', None, 0),
                         ('wait_after', 'SUCCESS', None)]


def test_fail_on_turns_success_into_error_published_as_success():
    pol = Policies(fails_on=True)
    step = tm.conclude(tm.TaskState(), RUNNING, states.SUCCESS, None, pol,
                       _tokens())
    info = "Failed by 'fail-on' policy"
    assert step.commands == (tm.FinishTask(states.ERROR, info,
                                           states.SUCCESS),)
    # retry and wait-after see the error.
    assert pol.asked[1] == ('retry', 'ERROR', info, 0)


def test_retry_delays_forgets_results_and_counts():
    ts = tm.TaskState.from_runtime_context(
        {'retry_task_policy': {'retry_no': 1}, 'delay_token': 'old'})
    pol = Policies(retry=tm.RetryDecision(delay=3, retry_no=2),
                   wait_after=1)
    step = tm.conclude(ts, RUNNING, states.ERROR, 'boom', pol, _tokens())
    assert step.commands == (
        tm.Transition(RUNNING, DELAYED,
                      "Delayed by 'retry' policy [delay=3]"),
        tm.ForgetResults(), tm.ScheduleContinue(3, 'tok1'))
    assert step.state.to_runtime_context() == {
        'retry_task_policy': {'retry_no': 2}, 'delay_token': 'tok1'}
    assert ('retry', 'ERROR', 'boom', 1) in pol.asked


def test_no_retry_after_a_timeout():
    pol = Policies(retry=tm.RetryDecision(delay=3, retry_no=1))
    step = tm.conclude(tm.TaskState(), DELAYED, states.ERROR, 'late', pol,
                       _tokens(), may_retry=False)
    assert step.commands == (tm.FinishTask(states.ERROR, 'late'),)
    assert [a[0] for a in pol.asked] == ['fails_on', 'wait_after']


def test_wait_after_keeps_the_outcome_then_finishes_with_it():
    pol = Policies(fails_on=True, wait_after=4)
    step = tm.conclude(tm.TaskState(), RUNNING, states.SUCCESS, None, pol,
                       _tokens())
    info = "Failed by 'fail-on' policy"
    assert step.commands == (
        tm.Transition(RUNNING, DELAYED,
                      "Delayed by 'wait-after' policy [delay=4]"),
        tm.ScheduleCompleteWaited(4))
    assert step.state.to_runtime_context() == {'wait_after_done': {
        'state': 'ERROR', 'state_info': info, 'publish_state': 'SUCCESS'}}
    done = tm.wait_after_over(step.state, DELAYED)
    assert done.commands == (tm.FinishTask(states.ERROR, info,
                                           states.SUCCESS),)
    # Once waited, wait-after is not asked again (a timeout meanwhile).
    pol2 = Policies(wait_after=4)
    again = tm.conclude(step.state, DELAYED, states.ERROR, 't', pol2,
                        _tokens(), may_retry=False)
    assert again.commands == (tm.FinishTask(states.ERROR, 't'),)
    assert [a[0] for a in pol2.asked] == ['fails_on']


def test_wait_after_over_ignores_stale_timers():
    ts = tm.TaskState(wait_after_done=tm.WaitAfter(states.SUCCESS, None))
    assert tm.wait_after_over(ts, RUNNING).commands == ()
    assert tm.wait_after_over(tm.TaskState(), DELAYED).commands == ()


# ----------------------------------------------------------------- timers

def test_delay_over_runs_the_task_with_the_right_token_only():
    ts = tm.TaskState(delay_token='t2')
    # A task that ran before keeps its start (a retry); one delayed
    # before it ever ran (wait-before) starts now.
    assert tm.delay_over(ts, DELAYED, 't2').commands == (
        tm.Transition(DELAYED, RUNNING), tm.MarkStarted(if_unset=True),
        tm.RunActions())
    assert tm.delay_over(ts, DELAYED, None).commands == (
        tm.Transition(DELAYED, RUNNING), tm.MarkStarted(if_unset=True),
        tm.RunActions())
    assert tm.delay_over(ts, DELAYED, 't1').commands == ()
    assert tm.delay_over(ts, RUNNING, 't2').commands == ()
    waited = ts.replace(wait_after_done=tm.WaitAfter(states.SUCCESS, None))
    assert tm.delay_over(waited, DELAYED, 't2').commands == ()


@pytest.mark.parametrize('current', [states.IDLE, states.WAITING,
                                     states.SUCCESS, states.ERROR])
def test_timeout_does_nothing_before_the_start_or_after_the_end(current):
    assert tm.timed_out(tm.TaskState(), current, 5).commands == ()


@pytest.mark.parametrize('current', [RUNNING, DELAYED, states.PAUSED])
def test_timeout_drops_waiting_items_and_fails_without_retry(current):
    ts = tm.TaskState.from_runtime_context(
        {'with_items': {'count': 9, 'capacity': 1}, 'pending_items': 7,
         'pending_taken': [3, 1]})
    step = tm.timed_out(ts, current, 1.5)
    info = 'Task timed out [timeout(s)=1.5].'
    assert step.commands == (tm.DropPending(), tm.CloseRunningActions(info),
                             tm.Conclude(states.ERROR, info,
                                         may_retry=False))
    assert step.state.pending_items == 0
    assert 'pending_taken' not in step.state.to_runtime_context()


# ------------------------------------------------------------------ joins

def _arrive(ts, current, task_id, required):
    return tm.join_arrival(ts, current,
                           [{'task_id': task_id, 'event': 'on-success'}],
                           required)


def test_join_waits_for_all_arrivals_then_starts():
    first = _arrive(None, None, 'a', 2)
    assert first.commands == (
        tm.Transition(tm.NEW, states.WAITING, 'Task is waiting.'),
        tm.CreateWaiting('Task is waiting.'), tm.CountWaitingJoin(1))
    assert first.state.join_arrivals == 1
    second = _arrive(first.state, states.WAITING, 'b', 2)
    assert second.commands == (
        tm.MergeArrival(), tm.CountWaitingJoin(-1),
        tm.Transition(states.WAITING, RUNNING), tm.MarkStarted(),
        tm.Notify(tm.TASK_LAUNCHED), tm.Start())
    assert second.state.to_runtime_context() == {
        'triggered_by': [{'task_id': 'a', 'event': 'on-success'},
                         {'task_id': 'b', 'event': 'on-success'}],
        'join_arrivals': 2}


def test_a_join_of_one_starts_at_the_first_arrival():
    step = _arrive(None, None, 'a', 1)
    assert _kinds(step) == ['Transition', 'CreateWaiting',
                            'CountWaitingJoin', 'CountWaitingJoin',
                            'Transition', 'MarkStarted', 'Notify', 'Start']


def test_arrivals_after_the_start_are_only_recorded():
    ts = tm.TaskState(triggered_by=({'task_id': 'a'},), join_arrivals=1)
    step = _arrive(ts, states.SUCCESS, 'c', 1)
    assert step.commands == ()
    assert [t['task_id'] for t in step.state.triggered_by or ()] == ['a',
                                                                     'c']
    assert step.state.join_arrivals == 1


def test_join_required_and_impossible_joins():
    assert tm.join_required('all', 3) == 3
    assert tm.join_required(2, 3) == 2
    nobody = tm.join_impossible(tm.TaskState(), states.WAITING, ['a', 'b'])
    # It counts as started when it fails.
    assert nobody.commands == (tm.MarkStarted(), tm.FinishTask(
        states.ERROR, "Failed by tasks: ['a', 'b']"))
    some = tm.join_impossible(
        tm.TaskState(triggered_by=({'task_id': 'x'}, {'task_id': 'x'})),
        states.WAITING, ['a', 'b'])
    assert some.commands == (tm.MarkStarted(), tm.FinishTask(
        states.ERROR,
        "Failed: only 1 of the inbound tasks ['a', 'b'] reached it"))


# ------------------------------------------------------------- with-items

def test_plain_task_launches_all_its_runs():
    assert tm.actions_planned(tm.TaskState(), False, 3, False, 0).commands \
        == (tm.LaunchItems(3),)
    empty = tm.actions_planned(tm.TaskState(), False, 0, False, 0)
    assert empty.commands == (tm.LaunchItems(0), tm.ActionsDone())
    assert empty.state == tm.TaskState()


def test_with_items_capacity_is_the_concurrency():
    step = tm.actions_planned(tm.TaskState(concurrency=2), True, 5, False,
                              0)
    assert step.commands == (tm.StorePending(2), tm.LaunchItems(2))
    assert step.state.to_runtime_context() == {
        'concurrency': 2, 'with_items': {'count': 5, 'capacity': 2},
        'pending_items': 3}


def test_inline_with_items_start_no_more_than_the_budget():
    step = tm.actions_planned(tm.TaskState(), True, 10, True, 4)
    assert step.commands == (tm.StorePending(4), tm.LaunchItems(4))
    assert step.state.with_items == tm.WithItems(count=10, capacity=10)
    # An exhausted budget still starts one.
    assert tm.actions_planned(tm.TaskState(), True, 10, True, 0).commands \
        == (tm.StorePending(1), tm.LaunchItems(1))


def test_empty_with_items_is_done_at_once():
    step = tm.actions_planned(tm.TaskState(), True, 0, False, 0)
    assert step.commands == (tm.LaunchItems(0), tm.ActionsDone())
    assert step.state.to_runtime_context() == {
        'with_items': {'count': 0, 'capacity': 0}, 'pending_items': 0}


def test_child_done():
    plain = tm.TaskState()
    assert tm.child_done(plain, RUNNING, 1).commands == ()
    assert tm.child_done(plain, RUNNING, 0).commands == (
        tm.ActionsDone(with_latest=True),)
    for late in (DELAYED, states.ERROR, states.SUCCESS):
        assert tm.child_done(plain, late, 0).commands == ()
    items = tm.TaskState(with_items=tm.WithItems(3, 1), pending_items=2)
    assert tm.child_done(items, RUNNING, 0).commands == (
        tm.LaunchNextItem(else_done=True),)
    assert tm.child_done(items, RUNNING, 1).commands == (
        tm.LaunchNextItem(else_done=False),)
    drained = items.replace(pending_items=0)
    assert tm.child_done(drained, RUNNING, 0).commands == (
        tm.ActionsDone(with_latest=False),)
    assert tm.child_done(drained, RUNNING, 2).commands == ()


def test_taking_waiting_items_row_by_row():
    ts = tm.TaskState(with_items=tm.WithItems(5, 1), pending_items=4)
    part = tm.item_taken(ts, 10, 0, 3)
    assert part.commands == ()
    assert part.state.pending_items == 3
    assert part.state.pending_taken == (10, 1)
    whole = tm.item_taken(part.state, 10, 2, 3)
    assert whole.commands == (tm.DeleteTakenRow(10),)
    assert whole.state.pending_taken is None


def test_continuations_start_items_up_to_the_capacity():
    ts = tm.TaskState(with_items=tm.WithItems(5, 2), pending_items=3)
    assert tm.may_start_more(ts, RUNNING, 1)
    assert not tm.may_start_more(ts, RUNNING, 2)
    assert not tm.may_start_more(ts, states.PAUSED, 0)
    assert not tm.may_start_more(ts.replace(pending_items=0), RUNNING, 0)


def test_outcome_of_children():
    S, E, C = states.SUCCESS, states.ERROR, states.CANCELLED
    assert tm.outcome_of_children(True, [(S, None), (E, 'x')]) == (
        E, 'One or more actions had failed.')
    assert tm.outcome_of_children(True, [(E, 'x'), (C, None)]) == (
        C, 'One or more actions was cancelled.')
    assert tm.outcome_of_children(True, []) == (S, None)
    assert tm.outcome_of_children(False, []) == (S, None)
    assert tm.outcome_of_children(False, [(E, 'a'), (S, 'b')]) == (S, None)
    assert tm.outcome_of_children(False, [(S, None), (E, 'b')]) == (E, 'b')


# ------------------------------------------------ pause, resume, rerun

def test_pause_and_resume_follow_the_sub_workflow():
    ts = tm.TaskState()
    assert tm.child_paused(ts, RUNNING).commands == (
        tm.Transition(RUNNING, states.PAUSED, keep_info=True),)
    assert tm.child_paused(ts, DELAYED).commands == ()
    assert tm.child_resumed(ts, states.PAUSED).commands == (
        tm.Transition(states.PAUSED, RUNNING, keep_info=True),)
    assert tm.child_resumed(ts, RUNNING).commands == ()
    assert tm.resume_held(ts, states.IDLE).commands == (
        tm.Transition(states.IDLE, RUNNING), tm.MarkStarted(),
        tm.Notify(tm.TASK_RESUMED), tm.Start())


def test_revive_starts_retries_and_wait_after_over():
    ts = tm.TaskState.from_runtime_context({
        'retry_task_policy': {'retry_no': 3}, 'with_items': {'count': 1},
        'wait_after_done': {'state': 'ERROR', 'state_info': None}})
    step = tm.revive(ts, states.ERROR)
    assert step.commands == (tm.CountActive(1),
                             tm.Transition(states.ERROR, RUNNING),
                             tm.Notify(tm.TASK_RERUN))
    assert step.state.to_runtime_context() == {'with_items': {'count': 1}}
    with pytest.raises(tm.IllegalTransition):
        tm.revive(ts, states.SUCCESS)


def test_rerun_all_or_only_failed_items():
    items = tm.TaskState(with_items=tm.WithItems(2, 2))
    assert tm.rerun(items, reset=False).commands == (tm.RerunFailedItems(),)
    assert tm.rerun(items, reset=True).commands == (tm.RerunAll(),)
    assert tm.rerun(tm.TaskState(), reset=False).commands == (
        tm.RerunAll(),)


def test_force_fail_counts_the_task_out_once():
    assert tm.force_fail(tm.TaskState(), states.WAITING, 'm').commands == (
        tm.CountActive(-1), tm.CountWaitingJoin(-1),
        tm.Transition(states.WAITING, states.ERROR, 'm'),
        tm.Notify(tm.TASK_FAILED))
    assert tm.force_fail(tm.TaskState(), RUNNING, 'm').commands == (
        tm.CountActive(-1), tm.Transition(RUNNING, states.ERROR, 'm'),
        tm.Notify(tm.TASK_FAILED))
    # Failed again (a second structural error): told again.
    assert tm.force_fail(tm.TaskState(), states.ERROR, 'm').commands == (
        tm.Transition(states.ERROR, states.ERROR, 'm'),
        tm.Notify(tm.TASK_FAILED))
    with pytest.raises(tm.IllegalTransition):
        tm.force_fail(tm.TaskState(), states.SUCCESS, 'm')


def test_finish_goes_through_the_table():
    assert tm.finish(RUNNING, states.SKIPPED, 'skipped').to_state == \
        states.SKIPPED
    with pytest.raises(tm.IllegalTransition):
        tm.finish(states.IDLE, states.SUCCESS, None)


def test_rerun_of_failed_items_keeps_the_successful_ones():
    S, E, C = states.SUCCESS, states.ERROR, states.CANCELLED
    items = tm.rerun_failed_items([(0, S), (1, E), (2, S), (3, C)])
    assert items.kept == {0, 2}
    assert items.dropped == (1, 3)
    assert items.to_run([0, 1, 2, 3, 4]) == [1, 3, 4]
    assert tm.rerun_failed_items([]).to_run([0, 1]) == [0, 1]


def test_joins_are_impossible_when_only_they_are_left():
    assert tm.joins_impossible(2, 2)
    assert not tm.joins_impossible(1, 2)
    assert not tm.joins_impossible(0, 0)


def test_events_never_change_the_state_they_are_given():
    rc = {'with_items': {'count': 3, 'capacity': 1}, 'pending_items': 2,
          'pending_taken': [1, 0], 'retry_task_policy': {'retry_no': 1},
          'triggered_by': [{'task_id': 'a'}], 'join_arrivals': 1}
    ts = tm.TaskState.from_runtime_context(rc)
    tm.start(ts, RUNNING, tm.StartPolicies(wait_before=1, timeout=2,
                                           concurrency=5), _tokens())
    tm.conclude(ts, RUNNING, states.ERROR, 'x',
                Policies(retry=tm.RetryDecision(1, 2)), _tokens())
    tm.conclude(ts, RUNNING, states.ERROR, 'x', Policies(wait_after=1),
                _tokens())
    tm.timed_out(ts, RUNNING, 1)
    tm.item_taken(ts, 1, 0, 1)
    _arrive(ts, states.WAITING, 'b', 3)
    tm.revive(ts, states.ERROR)
    assert ts.to_runtime_context() == rc


def test_replace_copies_and_rejects_unknown_fields():
    ts = tm.TaskState(concurrency=2)
    other = ts.replace(pending_items=1)
    assert other is not ts and other.concurrency == 2
    assert other.pending_items == 1 and ts.pending_items is None
    with pytest.raises(TypeError):
        ts.replace(pending=1)
    # Every field is copied.
    full = tm.TaskState(
        triggered_by=({'task_id': 'a'},), join_arrivals=1, concurrency=2,
        pause_before_done=True, timeout_scheduled=True,
        wait_before_done=True, delay_token='t', with_items=tm.WithItems(1, 1),
        pending_items=0, pending_taken=(1, 1), retry_no=1, retry_rest={},
        wait_after_done=tm.WaitAfter('SUCCESS', None), extra={'x': 1})
    assert full.replace() == full and full.replace() is not full


def test_where_an_action_runs():
    place = tm.place_action
    assert place(True, False, 1, True) == tm.INLINE
    # With-items elements were bounded by the budget when planned.
    assert place(True, True, 0, True) == tm.INLINE
    assert place(True, False, 0, True) == tm.DEFERRED
    assert place(True, False, 0, False) == tm.EXECUTOR
    assert place(False, True, 5, True) == tm.EXECUTOR


def test_a_structural_error_fails_the_task_with_its_names():
    fail = tm.run_failed(ValueError('bad'), 'wf1', 't1')
    assert fail == tm.FailTask(
        'Failed to run task [error=bad, wf=wf1, task=t1]')
    # The message is what force_fail writes on the task.
    step = tm.force_fail(tm.TaskState(), RUNNING, fail.message)
    assert step.transition() == tm.Transition(RUNNING, states.ERROR,
                                              fail.message)


# ---------------------------------------------------------- notifications

def test_a_task_created_running_is_launched_a_waiting_one_is_not():
    step = tm.create(RUNNING, [{'task_id': 'a', 'event': 'on-success'}])
    assert step.commands == (tm.Transition(tm.NEW, RUNNING),
                             tm.MarkStarted(), tm.Notify(tm.TASK_LAUNCHED))
    assert step.state.to_runtime_context() == {
        'triggered_by': [{'task_id': 'a', 'event': 'on-success'}]}
    step = tm.create(states.WAITING)
    assert step.commands == (tm.Transition(tm.NEW, states.WAITING),)
    assert step.state == tm.TaskState()
    with pytest.raises(tm.IllegalTransition):
        tm.create(states.SUCCESS)


@pytest.mark.parametrize('state, event', [
    (states.SUCCESS, 'TASK_SUCCEEDED'), (states.ERROR, 'TASK_FAILED'),
    (states.CANCELLED, 'TASK_CANCELLED'), (states.SKIPPED, 'TASK_SKIPPED'),
    (states.PAUSED, 'TASK_PAUSED'), (RUNNING, None), (DELAYED, None)])
def test_the_event_of_a_finished_task(state, event):
    expected = None if event is None else tm.Notify(event)
    assert tm.finished_event(state) == expected


def test_every_notify_follows_its_transition():
    # The shell sends an event once the row shows the change: in every
    # step a Notify comes after the Transition it reports.
    steps = [
        tm.start(tm.TaskState(), RUNNING,
                 tm.StartPolicies(pause_before=True), _tokens()),
        tm.resume_held(tm.TaskState(), states.IDLE),
        tm.revive(tm.TaskState(), states.ERROR),
        tm.force_fail(tm.TaskState(), RUNNING, 'm'),
        tm.create(RUNNING),
        _arrive(None, None, 'a', 1),
    ]
    for step in steps:
        kinds = [k for k in _kinds(step) if k != 'MarkStarted']
        assert kinds.count('Notify') == 1
        assert kinds[kinds.index('Notify') - 1] == 'Transition'
        # started_at is set before the event reports it.
        if 'MarkStarted' in _kinds(step):
            assert _kinds(step).index('MarkStarted') < \
                _kinds(step).index('Notify')


def test_when_a_task_counts_as_started():
    started = {
        'created running': tm.create(RUNNING),
        'a join starting': _arrive(None, None, 'a', 1),
        'resumed after pause-before': tm.resume_held(tm.TaskState(),
                                                     states.IDLE),
        'an impossible join failing': tm.join_impossible(
            tm.TaskState(), states.WAITING, ['a']),
    }
    for why, step in started.items():
        assert tm.MarkStarted() in step.commands, why
    not_started = {
        'created waiting': tm.create(states.WAITING),
        'held by pause-before': tm.start(
            tm.TaskState(), RUNNING, tm.StartPolicies(pause_before=True),
            _tokens()),
        'delayed by wait-before': tm.start(
            tm.TaskState(), RUNNING, tm.StartPolicies(wait_before=1),
            _tokens()),
        'a join still waiting': _arrive(None, None, 'a', 2),
    }
    for why, step in not_started.items():
        assert not any(isinstance(c, tm.MarkStarted)
                       for c in step.commands), why


def test_preparing_what_a_task_runs_may_fail_it():
    names = tm.TaskNames('wf1', 't1')
    assert tm.attempt(lambda: 42, names) == 42

    def bad() -> int:
        raise exc.InputException('no such input')

    assert tm.attempt(bad, names) == tm.FailTask(
        'Failed to run task [error=no such input, wf=wf1, task=t1]')

    # Only the service's own errors are structural; a bug is not.
    def broken() -> int:
        raise KeyError('x')

    with pytest.raises(KeyError):
        tm.attempt(broken, names)
