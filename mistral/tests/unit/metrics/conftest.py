"""Helpers: read metric values from prometheus-client's default registry.

The registry is process-wide, so tests compare values before and after.
"""

from __future__ import annotations

from typing import Callable

import prometheus_client as prom
import pytest


def value(name: str, **labels: str) -> float:
    """A sample's value, 0 when the series does not exist yet."""
    return prom.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def delta() -> Callable[..., Callable[[], float]]:
    """``d = delta(name, **labels)``; later ``d()`` is how much it moved."""
    def start(name: str, **labels: str) -> Callable[[], float]:
        before = value(name, **labels)
        return lambda: value(name, **labels) - before
    return start
