"""A task execution's life as a pure state machine.

The engine shell loads a task's row, calls one function of this module per
event (the task starts, its actions are done, a timer fires, a join gets
an arrival, the task is paused, resumed or run again, ...) with the facts
it loaded as plain values, and gets back the new :class:`TaskState` and a
list of commands (:data:`Command`) to carry out: write the row, add
messages, run actions. Nothing here touches the database, the messaging
layer or the configuration; limits come in as arguments.

Every change of a task's ``state`` column is a :class:`Transition`
checked against :data:`TRANSITIONS` (an illegal one raises
:class:`IllegalTransition`).

The progress a task makes between events is kept in its row's
``runtime_context``; :class:`TaskState` reads and writes the same keys and
values as before it existed (``triggered_by``, ``join_arrivals``,
``concurrency``, ``pause_before_done``, ``timeout_scheduled``,
``wait_before_done``, ``delay_token``, ``with_items``, ``pending_items``,
``pending_taken``, ``retry_task_policy``, ``wait_after_done``), so rows
written earlier, and rows imported from upstream, read back unchanged;
keys it does not know are kept as they are.
"""

from __future__ import annotations

import dataclasses
from typing import (
    Any,
    Callable,
    Final,
    Literal,
    Mapping,
    NamedTuple,
    Protocol,
    Sequence,
    TypeVar,
)

from mistral import exceptions as exc
from mistral.workflow import states

# The pseudo state of a task row that does not exist yet.
NEW = 'NEW'

# From -> the states a task may go to. Staying in a state is always
# allowed (a repeated event changes nothing).
TRANSITIONS: Mapping[str, frozenset[str]] = {
    # Created running, or waiting for a join's arrivals.
    NEW: frozenset((states.RUNNING, states.WAITING)),
    # A join starts once enough arrived; one that never can fails.
    states.WAITING: frozenset((states.RUNNING, states.ERROR)),
    # Held by pause-before: resumed, or failed by force.
    states.IDLE: frozenset((states.RUNNING, states.ERROR)),
    states.RUNNING: frozenset((
        states.IDLE,             # pause-before
        states.RUNNING_DELAYED,  # wait-before, retry, wait-after
        states.PAUSED,           # its sub-workflow paused
        states.SUCCESS, states.ERROR, states.CANCELLED,
        states.SKIPPED,          # a rerun with skip
    )),
    # A delay ends (back to running), a timeout fires, or a wait-after
    # ends with the outcome it kept.
    states.RUNNING_DELAYED: frozenset((
        states.RUNNING, states.SUCCESS, states.ERROR, states.CANCELLED)),
    # Its sub-workflow resumed, or ended (or the task timed out).
    states.PAUSED: frozenset((
        states.RUNNING, states.RUNNING_DELAYED, states.SUCCESS,
        states.ERROR, states.CANCELLED)),
    # Run again.
    states.ERROR: frozenset((states.RUNNING,)),
    states.SUCCESS: frozenset(),
    states.CANCELLED: frozenset(),
    states.SKIPPED: frozenset(),
}


class IllegalTransition(Exception):
    """A task state change that the transition table does not allow."""

    def __init__(self, from_state: str, to_state: str) -> None:
        super().__init__("A task can't go from state %s to state %s"
                         % (from_state, to_state))
        self.from_state = from_state
        self.to_state = to_state


# The notifier's names of a task's events: which transition emits which is
# decided here (:class:`Notify`); mistral.engine.notifications sends them.
TASK_LAUNCHED: Final = 'TASK_LAUNCHED'
TASK_SUCCEEDED: Final = 'TASK_SUCCEEDED'
TASK_FAILED: Final = 'TASK_FAILED'
TASK_CANCELLED: Final = 'TASK_CANCELLED'
TASK_PAUSED: Final = 'TASK_PAUSED'
TASK_RESUMED: Final = 'TASK_RESUMED'
TASK_RERUN: Final = 'TASK_RERUN'
TASK_SKIPPED: Final = 'TASK_SKIPPED'

# The event of a task that ends in a state.
TASK_BY_STATE: Mapping[str, str] = {
    states.SUCCESS: TASK_SUCCEEDED, states.ERROR: TASK_FAILED,
    states.CANCELLED: TASK_CANCELLED, states.SKIPPED: TASK_SKIPPED,
    states.PAUSED: TASK_PAUSED}


def may_go(from_state: str, to_state: str) -> bool:
    if from_state == to_state and from_state != NEW:
        return True
    return to_state in TRANSITIONS.get(from_state, frozenset())


def check(from_state: str, to_state: str) -> None:
    """Raise :class:`IllegalTransition` unless the table allows it."""
    if not may_go(from_state, to_state):
        raise IllegalTransition(from_state, to_state)


# ------------------------------------------------------------------ state

_WITH_ITEMS_KEYS = frozenset(('count', 'capacity'))


@dataclasses.dataclass(slots=True)
class WithItems:
    """``with_items``: how many elements, how many may run at once."""

    count: int | None
    capacity: int | None
    rest: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def load(cls, raw: Mapping[str, Any]) -> WithItems:
        rest = ({} if len(raw) <= 2 and _WITH_ITEMS_KEYS.issuperset(raw)
                else {k: v for k, v in raw.items()
                      if k not in _WITH_ITEMS_KEYS})
        return cls(count=raw.get('count'), capacity=raw.get('capacity'),
                   rest=rest)

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.rest)
        if self.count is not None:
            out['count'] = self.count
        if self.capacity is not None:
            out['capacity'] = self.capacity
        return out


@dataclasses.dataclass(slots=True)
class WaitAfter:
    """``wait_after_done``: the outcome kept while wait-after runs."""

    state: str
    state_info: str | None
    # The state whose publish clauses apply, when fail-on changed it.
    publish_state: str | None = None
    rest: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def load(cls, raw: Mapping[str, Any]) -> WaitAfter:
        return cls(state=raw['state'], state_info=raw.get('state_info'),
                   publish_state=raw.get('publish_state'),
                   rest={k: v for k, v in raw.items() if k not in
                         ('state', 'state_info', 'publish_state')})

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.rest)
        out['state'] = self.state
        out['state_info'] = self.state_info
        if self.publish_state:
            out['publish_state'] = self.publish_state
        return out


_KEYS = frozenset((
    'triggered_by', 'join_arrivals', 'concurrency', 'pause_before_done',
    'timeout_scheduled', 'wait_before_done', 'delay_token', 'with_items',
    'pending_items', 'pending_taken', 'retry_task_policy',
    'wait_after_done'))


@dataclasses.dataclass(slots=True)
class TaskState:
    """What a task keeps between events (its ``runtime_context``).

    ``None`` stands for a key that is not stored; the flags are stored
    only when set. The events of this module never change a TaskState in
    place: they return a copy (:meth:`replace`), so the shell can compare
    the state before and after an event. (Not a frozen dataclass only
    because building one costs several times more, once per event.)
    """

    # [{'task_id': ..., 'event': ...}]: the tasks that led here.
    triggered_by: tuple[Mapping[str, Any], ...] | None = None
    # How many inbound tasks reached a join so far.
    join_arrivals: int | None = None
    # The concurrency policy's value when the task started.
    concurrency: int | None = None
    pause_before_done: bool = False
    timeout_scheduled: bool = False
    wait_before_done: bool = False
    # Ties a delay's timer to that delay (a late timer of an earlier
    # delay must not end a later one).
    delay_token: str | None = None
    with_items: WithItems | None = None
    # With-items elements not started yet, and how far the row being
    # taken was taken ([row key, position]).
    pending_items: int | None = None
    pending_taken: tuple[Any, int] | None = None
    # ``retry_task_policy``: {'retry_no': n}
    retry_no: int | None = None
    retry_rest: Mapping[str, Any] | None = None
    wait_after_done: WaitAfter | None = None
    # Keys this module does not know, kept as they are.
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_runtime_context(cls, rc: Mapping[str, Any] | None
                             ) -> TaskState:
        if not rc:
            return cls()
        triggered = rc.get('triggered_by')
        with_items = rc.get('with_items')
        taken = rc.get('pending_taken')
        retry = rc.get('retry_task_policy')
        waited = rc.get('wait_after_done')
        return cls(
            triggered_by=(None if triggered is None
                          else tuple(triggered)),
            join_arrivals=rc.get('join_arrivals'),
            concurrency=rc.get('concurrency'),
            pause_before_done=bool(rc.get('pause_before_done')),
            timeout_scheduled=bool(rc.get('timeout_scheduled')),
            wait_before_done=bool(rc.get('wait_before_done')),
            delay_token=rc.get('delay_token'),
            with_items=(None if with_items is None
                        else WithItems.load(with_items)),
            pending_items=rc.get('pending_items'),
            pending_taken=(None if not taken
                           else (taken[0], int(taken[1]))),
            retry_no=(None if retry is None
                      else (retry or {}).get('retry_no')),
            retry_rest=(None if retry is None else
                        {k: v for k, v in (retry or {}).items()
                         if k != 'retry_no'}),
            wait_after_done=(None if not waited
                             else WaitAfter.load(waited)),
            extra=({k: v for k, v in rc.items() if k not in _KEYS}
                   if not _KEYS.issuperset(rc) else {}))

    def to_runtime_context(self) -> dict[str, Any]:
        rc: dict[str, Any] = dict(self.extra)
        if self.triggered_by is not None:
            rc['triggered_by'] = [dict(t) for t in self.triggered_by]
        if self.join_arrivals is not None:
            rc['join_arrivals'] = self.join_arrivals
        if self.concurrency is not None:
            rc['concurrency'] = self.concurrency
        if self.pause_before_done:
            rc['pause_before_done'] = True
        if self.timeout_scheduled:
            rc['timeout_scheduled'] = True
        if self.wait_before_done:
            rc['wait_before_done'] = True
        if self.delay_token is not None:
            rc['delay_token'] = self.delay_token
        if self.with_items is not None:
            rc['with_items'] = self.with_items.dump()
        if self.pending_items is not None:
            rc['pending_items'] = self.pending_items
        if self.pending_taken is not None:
            rc['pending_taken'] = list(self.pending_taken)
        if self.retry_no is not None or self.retry_rest is not None:
            retry: dict[str, Any] = dict(self.retry_rest or {})
            if self.retry_no is not None:
                retry['retry_no'] = self.retry_no
            rc['retry_task_policy'] = retry
        if self.wait_after_done is not None:
            rc['wait_after_done'] = self.wait_after_done.dump()
        return rc

    def replace(self, **changes: Any) -> TaskState:
        """A copy with ``changes`` (field names; an unknown one raises)."""
        # Field by field (dataclasses.replace costs several times more;
        # a with-items task makes one copy per element).
        new = TaskState(
            self.triggered_by, self.join_arrivals, self.concurrency,
            self.pause_before_done, self.timeout_scheduled,
            self.wait_before_done, self.delay_token, self.with_items,
            self.pending_items, self.pending_taken, self.retry_no,
            self.retry_rest, self.wait_after_done, self.extra)
        for name, value in changes.items():
            if name not in _FIELDS:
                raise TypeError('TaskState has no field %r' % name)
            setattr(new, name, value)
        return new

    @property
    def has_with_items(self) -> bool:
        return self.with_items is not None

    @property
    def attempts(self) -> int:
        """Retries so far."""
        return self.retry_no or 0


def has_with_items(rc: Mapping[str, Any] | None) -> bool:
    """Whether a runtime_context is that of a with-items task (without
    reading the rest of it)."""
    return rc is not None and 'with_items' in rc


_FIELDS = frozenset(f.name for f in dataclasses.fields(TaskState))


# --------------------------------------------------------------- commands

@dataclasses.dataclass(frozen=True, slots=True)
class Transition:
    """Set the task's state (and state_info)."""

    from_state: str
    to_state: str
    state_info: str | None = None
    # Leave state_info as it is (a sub-workflow's pause and resume).
    keep_info: bool = False

    def __post_init__(self) -> None:
        check(self.from_state, self.to_state)


@dataclasses.dataclass(frozen=True, slots=True)
class PauseWorkflow:
    """Pause the task's workflow (pause-before held the task)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    """Fire the task's timeout after ``due_in`` seconds."""

    timeout: float
    due_in: float


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleContinue:
    """End a delay (wait-before, retry) after ``delay`` seconds; the
    timer carries ``token``."""

    delay: float
    token: str


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleCompleteWaited:
    """End wait-after after ``delay`` seconds."""

    delay: float


@dataclasses.dataclass(frozen=True, slots=True)
class RunActions:
    """Evaluate what the task runs and start it."""


@dataclasses.dataclass(frozen=True, slots=True)
class ForgetResults:
    """Earlier results of the task's actions no longer count (retry)."""


@dataclasses.dataclass(frozen=True, slots=True)
class FinishTask:
    """Record the task's end and evaluate what follows it."""

    state: str
    state_info: str | None
    # The state whose publish clauses apply, when fail-on changed it.
    publish_state: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Conclude:
    """Apply the completion policies to this outcome (then finish)."""

    state: str
    state_info: str | None
    may_retry: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class DropPending:
    """Delete the with-items elements still waiting to start."""


@dataclasses.dataclass(frozen=True, slots=True)
class CloseRunningActions:
    """Set the task's still running actions to ERROR with this info."""

    state_info: str


@dataclasses.dataclass(frozen=True, slots=True)
class CreateWaiting:
    """Create the join's row, WAITING, with this state_info."""

    state_info: str


@dataclasses.dataclass(frozen=True, slots=True)
class MergeArrival:
    """Merge the arriving context into the join's inbound context."""


@dataclasses.dataclass(frozen=True, slots=True)
class CountWaitingJoin:
    """Change the workflow's count of waiting joins by ``delta``."""

    delta: int


@dataclasses.dataclass(frozen=True, slots=True)
class Start:
    """The task (now RUNNING) starts: apply its start policies."""


@dataclasses.dataclass(frozen=True, slots=True)
class StorePending:
    """Keep the elements from index ``first`` on waiting."""

    first: int


@dataclasses.dataclass(frozen=True, slots=True)
class LaunchItems:
    """Start the first ``count`` elements (all the task's runs when it
    has no with-items)."""

    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class LaunchNextItem:
    """Start the next waiting with-items element; if there is none, the
    task's actions are done when ``else_done``."""

    else_done: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ActionsDone:
    """Every action of the task finished: conclude from their states
    (``with_latest``: the last child's outcome is the task's)."""

    with_latest: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class DeleteTakenRow:
    """Every element of this waiting row was taken: delete it."""

    row_key: Any


@dataclasses.dataclass(frozen=True, slots=True)
class CountActive:
    """Change the workflow's count of active tasks by ``delta``."""

    delta: int


@dataclasses.dataclass(frozen=True, slots=True)
class RerunAll:
    """Forget every result and run all the task's actions again."""


@dataclasses.dataclass(frozen=True, slots=True)
class RerunFailedItems:
    """Run again only the with-items elements that did not succeed."""


@dataclasses.dataclass(frozen=True, slots=True)
class MarkStarted:
    """The task starts running now: set its ``started_at`` (``if_unset``:
    only when it has none; a task that ran before keeps its start)."""

    if_unset: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Notify:
    """Tell the notifier the task reached ``event`` (TASK_*), once its row
    shows the change (the event carries the row's fields as they are)."""

    event: str


@dataclasses.dataclass(frozen=True, slots=True)
class FailTask:
    """A structural error (a bad expression or policy value, an unknown
    action or sub-workflow, a wrong input): the task and its workflow fail
    at once with ``message``, without on-error handling (see
    :func:`force_fail`). Nothing else the failed event would have done
    happens."""

    message: str


Command = (Transition | PauseWorkflow | ScheduleTimeout | ScheduleContinue
           | ScheduleCompleteWaited | RunActions | ForgetResults | FinishTask
           | Conclude | DropPending | CloseRunningActions | CreateWaiting
           | MergeArrival | CountWaitingJoin | Start | StorePending
           | LaunchItems | LaunchNextItem | ActionsDone | DeleteTakenRow
           | CountActive | RerunAll | RerunFailedItems | FailTask | Notify
           | MarkStarted)


class Step(NamedTuple):
    """The outcome of an event: the new state and what to do (a named
    tuple: one is made per event)."""

    state: TaskState
    commands: tuple[Command, ...] = ()

    def transition(self) -> Transition | None:
        for cmd in self.commands:
            if isinstance(cmd, Transition):
                return cmd
        return None


def _step(state: TaskState, *commands: Command) -> Step:
    return Step(state, commands)


def fmt_seconds(seconds: float) -> str:
    """A delay as state_info shows it (``5``, not ``5.0``)."""
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


# ----------------------------------------------------------------- events

@dataclasses.dataclass(frozen=True, slots=True)
class StartPolicies:
    """The start policies' values, evaluated by the shell."""

    wait_before: float | None = None
    timeout: float | None = None
    pause_before: bool = False
    concurrency: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TaskNames:
    """Whose task it is (the message of a :class:`FailTask` names both)."""

    workflow: str | None
    task: str


def begin(ts: TaskState, current: str,
          policies: Callable[[], StartPolicies],
          new_token: Callable[[], str], names: TaskNames) -> Step:
    """The task starts: its start ``policies`` are evaluated (a wrong
    value or expression fails the task: :class:`FailTask`, nothing else
    changes), then :func:`start`."""
    try:
        values = policies()
    except exc.MistralError as e:
        return _step(ts, run_failed(e, names.workflow, names.task))
    return start(ts, current, values, new_token)


def start(ts: TaskState, current: str, policies: StartPolicies,
          new_token: Callable[[], str]) -> Step:
    """The task starts (or resumes after pause-before): pause-before,
    timeout and wait-before apply once each, then its actions run."""
    if policies.concurrency:
        ts = ts.replace(concurrency=policies.concurrency)
    if policies.pause_before and not ts.pause_before_done:
        return _step(ts.replace(pause_before_done=True),
                     Transition(current, states.IDLE,
                                "Set by 'pause-before' policy"),
                     Notify(TASK_PAUSED), PauseWorkflow())
    commands: list[Command] = []
    if policies.timeout and not ts.timeout_scheduled:
        ts = ts.replace(timeout_scheduled=True)
        commands.append(ScheduleTimeout(
            timeout=policies.timeout,
            due_in=policies.timeout + (policies.wait_before or 0)))
    if policies.wait_before and not ts.wait_before_done:
        token = new_token()
        ts = ts.replace(wait_before_done=True, delay_token=token)
        commands.append(Transition(
            current, states.RUNNING_DELAYED,
            "Delayed by 'wait-before' policy [delay=%s]"
            % fmt_seconds(policies.wait_before)))
        commands.append(ScheduleContinue(policies.wait_before, token))
        return _step(ts, *commands)
    commands.append(RunActions())
    return _step(ts, *commands)


@dataclasses.dataclass(frozen=True, slots=True)
class RetryDecision:
    """The retry policy says: run again after ``delay`` seconds, as
    retry number ``retry_no``."""

    delay: float
    retry_no: int


class CompletionPolicies(Protocol):
    """The completion policies, evaluated by the shell when the machine
    asks, in the order it asks (each sees the outcome as it is then)."""

    def fails_on(self, state: str) -> bool: ...

    def retry(self, state: str, state_info: str | None,
              retry_no: int) -> RetryDecision | None: ...

    def wait_after(self, state: str,
                   state_info: str | None) -> float | None: ...


def conclude(ts: TaskState, current: str, state: str,
             state_info: str | None, policies: CompletionPolicies,
             new_token: Callable[[], str], may_retry: bool = True,
             names: TaskNames | None = None) -> Step:
    """The task's actions gave this outcome: fail-on may turn a success
    into an error, retry may run the task again, wait-after may hold the
    outcome for a while; otherwise the task finishes.

    With ``names``, a wrong policy value or expression fails the task
    (:class:`FailTask`, nothing else changes); without, it raises."""
    if names is None:
        return _conclude(ts, current, state, state_info, policies,
                         new_token, may_retry)
    try:
        return _conclude(ts, current, state, state_info, policies,
                         new_token, may_retry)
    except exc.MistralError as e:
        return _step(ts, run_failed(e, names.workflow, names.task))


def _conclude(ts: TaskState, current: str, state: str,
              state_info: str | None, policies: CompletionPolicies,
              new_token: Callable[[], str], may_retry: bool) -> Step:
    publish_state = None
    if policies.fails_on(state):
        # Published as the success it was.
        publish_state = state
        state, state_info = states.ERROR, "Failed by 'fail-on' policy"
    again = (policies.retry(state, state_info, ts.attempts)
             if may_retry else None)
    wait = (None if ts.wait_after_done
            else policies.wait_after(state, state_info))
    if again is not None:
        token = new_token()
        return _step(
            ts.replace(retry_no=again.retry_no, retry_rest=None,
                       delay_token=token),
            Transition(current, states.RUNNING_DELAYED,
                       "Delayed by 'retry' policy [delay=%s]"
                       % fmt_seconds(again.delay)),
            ForgetResults(),
            ScheduleContinue(again.delay, token))
    if wait:
        return _step(
            ts.replace(wait_after_done=WaitAfter(state, state_info,
                                                 publish_state)),
            Transition(current, states.RUNNING_DELAYED,
                       "Delayed by 'wait-after' policy [delay=%s]"
                       % fmt_seconds(wait)),
            ScheduleCompleteWaited(wait))
    return _step(ts, FinishTask(state, state_info, publish_state))


def delay_over(ts: TaskState, current: str, token: str | None) -> Step:
    """A wait-before or retry delay's timer fired (``token`` None: a
    timer from before tokens existed)."""
    if current != states.RUNNING_DELAYED or ts.wait_after_done:
        return _step(ts)  # a duplicate or stale timer
    if token is not None and ts.delay_token != token:
        return _step(ts)  # the timer of an earlier delay
    return _step(ts, Transition(current, states.RUNNING),
                 MarkStarted(if_unset=True), RunActions())


def wait_after_over(ts: TaskState, current: str) -> Step:
    """The wait-after timer fired: finish with the outcome kept."""
    done = ts.wait_after_done
    if current != states.RUNNING_DELAYED or not done:
        return _step(ts)
    return _step(ts, FinishTask(done.state, done.state_info,
                                done.publish_state))


def timed_out(ts: TaskState, current: str, timeout: float) -> Step:
    """The task's timeout fired. It covers every attempt: no retry
    follows a timeout."""
    if states.is_completed(current) or current in (states.IDLE,
                                                   states.WAITING):
        return _step(ts)
    info = 'Task timed out [timeout(s)=%s].' % fmt_seconds(timeout)
    return _step(ts.replace(pending_items=0, pending_taken=None),
                 DropPending(), CloseRunningActions(info),
                 Conclude(states.ERROR, info, may_retry=False))


# ------------------------------------------------------------------ joins

def join_arrival(ts: TaskState | None, current: str | None,
                 triggered_by: Sequence[Mapping[str, Any]],
                 required: int) -> Step:
    """An inbound task reached a join (``ts``/``current`` None: the
    join's row does not exist yet). There is one execution per join:
    arrivals after it started are only recorded."""
    arrived = tuple(triggered_by)
    if ts is not None and current is not None and \
            current != states.WAITING:
        return _step(ts.replace(
            triggered_by=(ts.triggered_by or ()) + arrived))
    commands: list[Command] = []
    if ts is None or current is None:
        ts = TaskState(triggered_by=arrived or None, join_arrivals=1)
        current = states.WAITING
        commands += [Transition(NEW, states.WAITING, 'Task is waiting.'),
                     CreateWaiting('Task is waiting.'), CountWaitingJoin(1)]
    else:
        ts = ts.replace(triggered_by=(ts.triggered_by or ()) + arrived,
                        join_arrivals=(ts.join_arrivals or 0) + 1)
        commands.append(MergeArrival())
    if (ts.join_arrivals or 0) < required:
        return _step(ts, *commands)
    commands += [CountWaitingJoin(-1), Transition(current, states.RUNNING),
                 MarkStarted(), Notify(TASK_LAUNCHED), Start()]
    return _step(ts, *commands)


def join_required(join: str | int, inbound: int) -> int:
    """How many arrivals a join waits for."""
    if join == 'all':
        return inbound
    return int(join)


def join_impossible(ts: TaskState, current: str,
                    inbound_names: Sequence[str]) -> Step:
    """Nothing else runs: a waiting join can never start and fails."""
    arrived = {t['task_id'] for t in ts.triggered_by or ()}
    names = list(inbound_names)
    info = 'Failed by tasks: %s' % names
    if arrived:
        info = ('Failed: only %d of the inbound tasks %s reached it'
                % (len(arrived), names))
    check(current, states.ERROR)
    # It counts as started when it fails (its row shows when).
    return _step(ts, MarkStarted(), FinishTask(states.ERROR, info))


# ------------------------------------------------------------- with-items

def actions_planned(ts: TaskState, with_items: bool, count: int,
                    inline_first: bool, inline_budget: int) -> Step:
    """The task's runs are known (``count`` of them): which start now.

    With-items starts up to ``concurrency`` elements; when they run
    inline, no more than this transaction's inline budget (the rest
    continue in a later one). The others wait as pending items."""
    if not with_items:
        if not count:
            return _step(ts, LaunchItems(0), ActionsDone())
        return _step(ts, LaunchItems(count))
    limit = ts.concurrency or count
    start_now = limit
    if inline_first:
        start_now = min(limit, max(inline_budget, 1))
    waiting = max(count - start_now, 0)
    ts = ts.replace(with_items=WithItems(count=count, capacity=limit),
                    pending_items=waiting)
    commands: list[Command] = []
    if waiting:
        commands.append(StorePending(start_now))
    commands.append(LaunchItems(min(start_now, count)))
    if not count:
        commands.append(ActionsDone())
    return _step(ts, *commands)


Place = Literal['inline', 'deferred', 'executor']
INLINE: Final[Place] = 'inline'
DEFERRED: Final[Place] = 'deferred'
EXECUTOR: Final[Place] = 'executor'


def place_action(inline_eligible: bool, with_items: bool,
                 inline_budget: int, deferral_on: bool) -> Place:
    """Where one of the task's actions runs: inline in this transaction
    while its inline budget lasts (with-items elements were bounded by it
    when they were planned), else inline in a later engine transaction
    (``deferral_on``), else on an executor."""
    if inline_eligible:
        if with_items or inline_budget > 0:
            return INLINE
        if deferral_on:
            return DEFERRED
    return EXECUTOR


def child_done(ts: TaskState, current: str, active_children: int) -> Step:
    """One action or sub-workflow of the task finished; ``active_children``
    still run (this one no longer counted)."""
    if states.is_completed(current) or current == states.RUNNING_DELAYED:
        return _step(ts)  # timed out meanwhile: a late result is ignored
    if ts.has_with_items and ts.pending_items:
        return _step(ts, LaunchNextItem(else_done=active_children <= 0))
    if active_children > 0:
        return _step(ts)
    return _step(ts, ActionsDone(with_latest=not ts.has_with_items))


def outcome_of_children(with_items: bool,
                        children: Sequence[tuple[str, str | None]]
                        ) -> tuple[str, str | None]:
    """The task's (state, state_info) from its accepted children's, in
    the order they were created: with-items fails if any element failed
    (is cancelled if any was); otherwise the last child's outcome is the
    task's."""
    child_states = [state for state, _ in children]
    if with_items:
        if states.CANCELLED in child_states:
            return states.CANCELLED, 'One or more actions was cancelled.'
        if states.ERROR in child_states:
            return states.ERROR, 'One or more actions had failed.'
        return states.SUCCESS, None
    if not children:
        return states.SUCCESS, None
    state, info = children[-1]
    return state, info if state == states.ERROR else None


def item_taken(ts: TaskState, row_key: Any, position: int,
               row_size: int) -> Step:
    """A waiting element (at ``position`` of its row) starts."""
    left = (ts.pending_items or 0) - 1
    if position + 1 < row_size:
        return _step(ts.replace(pending_items=left,
                                pending_taken=(row_key, position + 1)))
    return _step(ts.replace(pending_items=left, pending_taken=None),
                 DeleteTakenRow(row_key))


def may_start_more(ts: TaskState, current: str,
                   active_children: int) -> bool:
    """Whether a continuation may start another waiting element."""
    if current != states.RUNNING:
        return False
    capacity = (ts.with_items.capacity if ts.with_items else 0) or 0
    return active_children < capacity and bool(ts.pending_items)


# ------------------------------------------------------ pause and resume

def resume_held(ts: TaskState, current: str) -> Step:
    """The workflow resumed: a task held by pause-before starts."""
    return _step(ts, Transition(current, states.RUNNING), MarkStarted(),
                 Notify(TASK_RESUMED), Start())


def child_paused(ts: TaskState, current: str) -> Step:
    """The task's sub-workflow paused."""
    if current != states.RUNNING:
        return _step(ts)
    return _step(ts, Transition(current, states.PAUSED, keep_info=True))


def child_resumed(ts: TaskState, current: str) -> Step:
    """The task's sub-workflow resumed."""
    if current != states.PAUSED:
        return _step(ts)
    return _step(ts, Transition(current, states.RUNNING, keep_info=True))


# ------------------------------------------------------------------ rerun

def revive(ts: TaskState, current: str) -> Step:
    """A task runs again: its retries and wait-after start over."""
    commands: list[Command] = []
    if states.is_completed(current):
        commands.append(CountActive(1))
    commands += [Transition(current, states.RUNNING), Notify(TASK_RERUN)]
    return _step(ts.replace(retry_no=None, retry_rest=None,
                            wait_after_done=None), *commands)


def rerun(ts: TaskState, reset: bool | None) -> Step:
    """What a rerun runs: everything, or (with-items without reset)
    only the elements that did not succeed. ``reset`` None (the API's
    request did not say) counts as false."""
    if reset or not ts.has_with_items:
        return _step(ts, RerunAll())
    return _step(ts, RerunFailedItems())


@dataclasses.dataclass(frozen=True, slots=True)
class ItemsRerun:
    """A with-items rerun without reset: the elements that succeeded
    (``kept``, by index) stay; the other children (``dropped``, by
    position) no longer count."""

    kept: frozenset[Any]
    dropped: tuple[int, ...]

    def to_run(self, indexes: Sequence[Any]) -> list[Any]:
        """Which of the task's element ``indexes`` run again."""
        return [i for i in indexes if i not in self.kept]


def rerun_failed_items(children: Sequence[tuple[Any, str]]) -> ItemsRerun:
    """``children``: (element index, state) of the task's accepted
    children."""
    kept = frozenset(index for index, state in children
                     if state == states.SUCCESS)
    dropped = tuple(pos for pos, (_, state) in enumerate(children)
                    if state != states.SUCCESS)
    return ItemsRerun(kept, dropped)


def joins_impossible(waiting_joins: int, active_tasks: int) -> bool:
    """Only waiting joins are left in the workflow: nothing can reach
    them any more."""
    return bool(waiting_joins) and waiting_joins >= active_tasks


# ----------------------------------------------------------------- finish

def finish(current: str, state: str, state_info: str | None) -> Transition:
    """The task ends in ``state``."""
    return Transition(current, state, state_info)


def finished_event(state: str) -> Notify | None:
    """What the notifier hears of a task that ended in ``state``."""
    event = TASK_BY_STATE.get(state)
    return None if event is None else Notify(event)


def create(state: str,
           triggered_by: Sequence[Mapping[str, Any]] = ()) -> Step:
    """A task's row is created in ``state``: running (launched), or
    waiting for a join's arrivals."""
    commands: list[Command] = [Transition(NEW, state)]
    if state == states.RUNNING:
        commands += [MarkStarted(), Notify(TASK_LAUNCHED)]
    return _step(TaskState(triggered_by=tuple(triggered_by) or None),
                 *commands)


def run_failed(error: object, workflow_name: str | None,
               task_name: str) -> FailTask:
    """What a structural ``error`` met while the task starts, runs or
    finishes leads to: the task fails (see :class:`FailTask`)."""
    return FailTask('Failed to run task [error=%s, wf=%s, task=%s]'
                    % (error, workflow_name, task_name))


_T = TypeVar('_T')


def attempt(prepare: Callable[[], _T], names: TaskNames) -> _T | FailTask:
    """``prepare()``'s value, or the task's structural failure when it
    raises a MistralError: it evaluates what the task runs (its plan, its
    actions and their input, a sub-workflow's definition and input), and
    an error there fails the task without on-error (:class:`FailTask`)."""
    try:
        return prepare()
    except exc.MistralError as e:
        return run_failed(e, names.workflow, names.task)


def force_fail(ts: TaskState, current: str, message: str) -> Step:
    """A structural error fails the task without its transitions."""
    commands: list[Command] = []
    if not states.is_completed(current):
        commands.append(CountActive(-1))
        if current == states.WAITING:
            commands.append(CountWaitingJoin(-1))
    commands += [Transition(current, states.ERROR, message),
                 Notify(TASK_FAILED)]
    return _step(ts, *commands)
