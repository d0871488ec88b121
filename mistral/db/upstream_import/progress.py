"""Progress lines for a long copy: what is done, the rate, what is left.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


class Progress:
    """Prints at most one line every ``every`` seconds (and the last)."""

    def __init__(self, what: str, total: int, out: TextIO | None = None,
                 every: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.total = total
        self.out = out or sys.stdout
        self.every = every
        self.clock = clock
        self.started = clock()
        self.last = 0.0
        self.done = 0
        self.rows = 0

    def add(self, units: int, rows: int) -> None:
        self.done += units
        self.rows += rows
        now = self.clock()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            self.out.write(self.line(now) + '\n')
            self.out.flush()

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        elapsed = max(now - self.started, 1e-6)
        rate = self.rows / elapsed
        text = '  %s: %d/%d (%d%%), %d rows, %.0f rows/s' % (
            self.what, self.done, self.total,
            100 * self.done // max(self.total, 1), self.rows, rate)
        if 0 < self.done < self.total:
            left = elapsed * (self.total - self.done) / self.done
            text += ', about %s left' % _duration(left)
        return text


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return '%d s' % seconds
    if seconds < 3600:
        return '%d min %02d s' % divmod(seconds, 60)
    hours, rest = divmod(seconds, 3600)
    return '%d h %02d min' % (hours, rest // 60)
