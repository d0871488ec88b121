"""The expression watchdog: deadlines fire on time, wake-ups stay rare."""

from __future__ import annotations

import threading
import time

import pytest

from mistral.expressions import deadline


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_short_deadline_fires_after_an_idle_watchdog() -> None:
    # Let the watchdog settle into its idle wait first: a deadline shorter
    # than that wait must still wake it.
    with deadline.bounded(30):
        pass
    time.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(deadline.ExpressionTimeout):
        with deadline.bounded(0.2):
            _spin(5)
    assert time.monotonic() - started < 2


def test_long_deadlines_do_not_wake_the_watchdog_each_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with deadline.bounded(30):
        pass
    time.sleep(0.05)
    notified = []
    real = deadline._lock.notify

    def counting(n: int = 1) -> None:
        notified.append(threading.get_ident())
        real(n)

    monkeypatch.setattr(deadline._lock, 'notify', counting)
    for _ in range(200):
        with deadline.bounded(30):
            with deadline.shielded():
                pass
    # At most the wake-ups the idle watchdog makes on its own (about one
    # per second); not one per evaluation.
    assert len(notified) <= 2


def test_overdue_shielded_evaluation_fires_when_the_shield_ends() -> None:
    started = time.monotonic()
    with pytest.raises(deadline.ExpressionTimeout):
        with deadline.bounded(0.1):
            with deadline.shielded():
                time.sleep(0.3)  # a "database query": never interrupted
            _spin(5)
    assert time.monotonic() - started < 2
