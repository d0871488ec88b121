"""How expression functions reach stored data (tasks, executions).

Expression evaluation is pure: it never imports the DB layer. Functions
such as ``task()`` or ``execution()`` call a :class:`DataAccess` object that
the caller (the engine) passes to ``evaluate()``. It travels in a context
variable, not in the data context, so expressions cannot see or replace it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class DataAccess(Protocol):
    """Stored-data queries used by the custom expression functions.

    ``context`` is the expression data context (it holds ``__execution``,
    ``__task_execution`` and ``__env``); implementations use it to find
    the current workflow execution and task.
    """

    def task(self, name: str | None,
             context: Mapping[str, Any]) -> dict[str, Any] | None:
        """The current task (name None) or the last run of ``name``."""

    def tasks(self, workflow_execution_id: str | None, recursive: bool,
              state: str | None, flat: bool,
              context: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Task dicts of an execution (default: the current one)."""

    def execution(self, context: Mapping[str, Any]) -> dict[str, Any]:
        """The current workflow execution as a dict."""

    def executions(self, id: str | None, root_execution_id: str | None,
                   state: str | None, from_time: str | None,
                   to_time: str | None,
                   context: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Workflow executions matching every given filter."""

    def global_var(self, name: str, context: Mapping[str, Any]) -> Any:
        """A variable of the workflow execution's global context."""


class PassThrough(BaseException):
    """Carries a storage failure out of an evaluation untouched.

    Evaluation errors are wrapped into Yaql/JinjaEvaluationException, but
    a database failure inside a DataAccess call (deadlock, lost
    connection) must reach the engine as itself so it can retry. It is a
    BaseException so yaql's, Jinja's and our own ``except Exception``
    handlers let it through; ``evaluate()`` re-raises ``error``.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


class _Frame:
    __slots__ = ('context', 'data_access')

    def __init__(self, context: Mapping[str, Any],
                 data_access: DataAccess | None) -> None:
        self.context = context
        self.data_access = data_access


_EMPTY_FRAME = _Frame({}, None)
_current: contextvars.ContextVar[_Frame] = contextvars.ContextVar(
    'mistral_expression_frame', default=_EMPTY_FRAME)


@contextlib.contextmanager
def evaluation_frame(context: Mapping[str, Any],
                     data_access: DataAccess | None) -> Iterator[None]:
    """Make ``context`` and ``data_access`` current for custom functions.

    Frames nest: an evaluation started from inside a function restores the
    outer frame when it ends.
    """
    token = _current.set(_Frame(context, data_access))
    try:
        yield
    finally:
        _current.reset(token)


def current_context() -> Mapping[str, Any]:
    return _current.get().context


def current_data_access() -> DataAccess | None:
    return _current.get().data_access
