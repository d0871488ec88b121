"""Task policies: evaluate their values and decide their effects (pure).

Policy values are literals or expressions; they are evaluated in the task's
context when they apply and then type-checked, so a wrong value fails the
task with a message naming the policy. What the values do to the task is
the task machine's (mistral.workflow.task_machine): :func:`at_start` gives
it the start policies' values, :class:`Completion` answers its questions
about the completion policies.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping, cast

from mistral import exceptions as exc
from mistral import expressions
from mistral.workflow import states
from mistral.workflow import task_machine as tm

if TYPE_CHECKING:
    from mistral.expressions.data_access import DataAccess
    from mistral.lang.task_spec import Policies


def _value(raw: Any, ctx: Mapping[str, Any],
           access: DataAccess | None) -> Any:
    if isinstance(raw, str):
        return expressions.evaluate(raw, ctx, access)
    return raw


def _number(name: str, raw: Any, ctx: Mapping[str, Any],
            access: DataAccess | None,
            integer: bool = False) -> float | int | None:
    if raw is None:
        return None
    value = _value(raw, ctx, access)
    if value is None:
        return None
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise exc.InvalidModelException(
            "Invalid value of the '%s' policy: %r is not a number"
            % (name, value)) from None
    if number < 0:
        raise exc.InvalidModelException(
            "Invalid value of the '%s' policy: %r is negative"
            % (name, value))
    return number


def _bool(name: str, raw: Any, ctx: Mapping[str, Any],
          access: DataAccess | None) -> bool:
    if raw is None:
        return False
    value = _value(raw, ctx, access)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ('true', 'yes', '1'):
            return True
        if low in ('false', 'no', '0', ''):
            return False
        raise exc.InvalidModelException(
            "Invalid value of the '%s' policy: %r is not a boolean"
            % (name, value))
    return bool(value)


def at_start(policies: Policies, ctx: Mapping[str, Any],
             access: DataAccess | None = None) -> tm.StartPolicies:
    """Policies that act when a task starts, evaluated in the task's
    context ``ctx`` (in this order: an error in one stops there)."""
    return tm.StartPolicies(
        wait_before=_number('wait-before', policies.wait_before, ctx, access),
        timeout=_number('timeout', policies.timeout, ctx, access),
        pause_before=_bool('pause-before', policies.pause_before, ctx,
                           access),
        concurrency=cast('int | None', _number(
            'concurrency', policies.concurrency, ctx, access,
            integer=True) or None))


def wait_after(policies: Policies, ctx: Mapping[str, Any],
               access: DataAccess | None = None) -> float | None:
    return _number('wait-after', policies.wait_after, ctx, access)


def fails_on(policies: Policies, state: str, ctx: Mapping[str, Any],
             access: DataAccess | None = None) -> bool:
    """fail-on turns a SUCCESS into an ERROR when its expression holds."""
    if state != states.SUCCESS or policies.fail_on is None:
        return False
    return _bool('fail-on', policies.fail_on, ctx, access)


@dataclasses.dataclass
class Retry:
    delay: float
    retry_no: int


def retry(policies: Policies, state: str, retry_no: int,
          ctx: Mapping[str, Any],
          access: DataAccess | None = None) -> Retry | None:
    """Whether a finished task runs again, and after how long.

    A task is retried while retries remain, unless it was cancelled, it
    succeeded without a ``continue-on`` condition, ``continue-on`` is false,
    or it failed and ``break-on`` is true.
    """
    spec = policies.retry
    if spec is None or state == states.CANCELLED:
        return None
    count = _number('retry', spec.count, ctx, access, integer=True) or 0
    if retry_no >= count:
        return None
    if spec.continue_on is not None:
        if not _bool('retry', spec.continue_on, ctx, access):
            return None
    elif state == states.SUCCESS:
        return None
    if state == states.ERROR and spec.break_on is not None:
        if _bool('retry', spec.break_on, ctx, access):
            return None
    delay = _number('retry', spec.delay, ctx, access) or 0
    return Retry(delay=delay, retry_no=retry_no + 1)


class Completion:
    """The completion policies of a finishing task, evaluated in its
    context ``ctx`` when the task machine asks (task_machine.conclude).

    ``record`` is what ``task()`` gives for the task in those expressions
    (``access`` answers it from there): each question first writes the
    outcome as it is then (fail-on may have turned a success into an
    error) into it."""

    def __init__(self, policies: Policies, ctx: Mapping[str, Any],
                 access: DataAccess | None,
                 record: dict[str, Any]) -> None:
        self.policies = policies
        self.ctx = ctx
        self.access = access
        self.record = record

    def fails_on(self, state: str) -> bool:
        return fails_on(self.policies, state, self.ctx, self.access)

    def retry(self, state: str, state_info: str | None,
              retry_no: int) -> tm.RetryDecision | None:
        self.record.update(state=state, state_info=state_info)
        again = retry(self.policies, state, retry_no, self.ctx, self.access)
        return None if again is None else tm.RetryDecision(
            delay=again.delay, retry_no=again.retry_no)

    def wait_after(self, state: str, state_info: str | None
                   ) -> float | None:
        self.record.update(state=state, state_info=state_info)
        return wait_after(self.policies, self.ctx, self.access)


def keep_result(keep: bool | str | None, ctx: Mapping[str, Any],
                access: DataAccess | None = None) -> bool:
    """Whether a finished task's action outputs are kept once published
    (``keep-result``, a literal or an expression; kept unless false)."""
    if isinstance(keep, str):
        keep = expressions.evaluate(keep, ctx, access)
    return keep is None or bool(keep)
