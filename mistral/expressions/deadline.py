"""A time bound on expression evaluation.

YAQL and Jinja run arbitrary loops in plain Python (``range(0,
100000000).sum()``, nested ``{% for %}``), which nothing inside them can
interrupt. One watchdog thread keeps the deadline of every evaluation in
progress; when one passes, it raises :class:`ExpressionTimeout` in the
evaluating thread (``PyThreadState_SetAsyncExc``), at the thread's next
Python instruction.

Safety:

* the exception is a ``BaseException``, so ``except Exception`` handlers
  inside yaql, Jinja or our functions cannot swallow it; ``bounded()``
  turns it into an ``ExpressionException`` at the evaluation boundary;
* it is never raised while the thread is in stored-data access
  (``shielded()``, around DataAccess calls, which run DB queries): it is
  postponed until the call returns;
* it is raised at most once per evaluation, only while the evaluation is
  registered; leaving ``bounded()`` cancels one that was raised but not
  yet delivered, so it can not surface in the caller's code.

C code is not interrupted (one huge allocation, ``'a' * 10**10``): the
size checks of the Jinja sandbox and yaql's memory quota cover those.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
from typing import Iterator

_SET_ASYNC_EXC = ctypes.pythonapi.PyThreadState_SetAsyncExc
_SET_ASYNC_EXC.restype = ctypes.c_int


class ExpressionTimeout(BaseException):
    """Raised in a thread whose evaluation ran past its deadline."""


class _Entry:
    __slots__ = ('deadline', 'depth', 'shield', 'fired')

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.depth = 0
        self.shield = 0
        self.fired = False


_lock = threading.Condition(threading.Lock())
_entries: dict[int, _Entry] = {}
_watchdog: threading.Thread | None = None
# When the watchdog wakes up next (None: when notified): an evaluation
# whose deadline is later needs no wake-up, which keeps the hot path to
# two uncontended lock acquisitions.
_wake_at: float | None = None
# While a shielded evaluation is overdue, look again this often.
_SHIELD_POLL = 0.01
# With nothing to watch, the watchdog still wakes up this often. A new
# evaluation whose deadline is later than that wake-up then needs no
# notify(): waking the watchdog for every evaluation cost a thread switch
# per expression (a measurable share of the engine's CPU).
_IDLE_WAKE = 1.0


def _set_async_exc(thread_id: int, exc: type | None) -> None:
    """Raise ``exc`` in the thread; None (a NULL pointer) cancels a
    pending one."""
    _SET_ASYNC_EXC(ctypes.c_ulong(thread_id),
                   ctypes.py_object(exc) if exc is not None else None)


def _watch() -> None:
    global _wake_at
    with _lock:
        while True:
            now = time.monotonic()
            wait: float | None = None
            for thread_id, entry in _entries.items():
                if entry.fired:
                    continue
                if entry.deadline <= now:
                    if entry.shield:
                        wait = _SHIELD_POLL if wait is None else min(
                            wait, _SHIELD_POLL)
                        continue
                    entry.fired = True
                    _set_async_exc(thread_id, ExpressionTimeout)
                else:
                    left = entry.deadline - now
                    wait = left if wait is None else min(wait, left)
            if wait is None:
                wait = _IDLE_WAKE
            _wake_at = now + wait
            _lock.wait(wait)


def _ensure_watchdog() -> None:
    global _watchdog
    if _watchdog is None or not _watchdog.is_alive():
        _watchdog = threading.Thread(target=_watch, daemon=True,
                                     name='expression-deadline')
        _watchdog.start()


@contextlib.contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Run the body with a deadline of ``seconds`` (nested: the outer
    deadline holds). Raises ExpressionTimeout when it passes."""
    thread_id = threading.get_ident()
    with _lock:
        entry = _entries.get(thread_id)
        if entry is not None and not entry.fired:
            entry.depth += 1
            outer = False
        else:
            # (A fired entry left behind by a timeout delivered while its
            # evaluation was leaving is replaced.)
            entry = _Entry(time.monotonic() + seconds)
            _entries[thread_id] = entry
            outer = True
            _ensure_watchdog()
            if _wake_at is None or entry.deadline < _wake_at:
                _lock.notify()
    try:
        yield
    finally:
        with _lock:
            if outer:
                if _entries.get(thread_id) is entry:
                    del _entries[thread_id]
                if entry.fired:
                    # Raised but maybe not delivered yet: cancel it.
                    _set_async_exc(thread_id, None)
            else:
                entry.depth -= 1


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """No ExpressionTimeout is raised while the body runs."""
    with _lock:
        entry = _entries.get(threading.get_ident())
        if entry is not None:
            entry.shield += 1
    try:
        yield
    finally:
        if entry is not None:
            with _lock:
                entry.shield -= 1
                # Overdue while shielded: the watchdog polls every
                # _SHIELD_POLL; tell it now rather than then.
                if entry.deadline <= time.monotonic():
                    _lock.notify()
