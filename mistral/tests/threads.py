"""Test helpers for code that must hold up under concurrent callers."""

from __future__ import annotations

import threading
from typing import Callable


def run_at_once(target: Callable[[], object], n: int,
                timeout: float = 15.0) -> None:
    """Call ``target`` from ``n`` threads started together; return once
    all have ended (or ``timeout`` seconds passed for each)."""
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
