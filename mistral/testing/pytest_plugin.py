"""The ``rehearsal`` pytest fixture (registered as a ``pytest11`` plugin,
so it is available wherever Mistral is installed).

::

    def test_greeting(rehearsal):
        r = rehearsal('wf.yaml', mocks={'greet': 'hello'})
        r.start({'name': 'Ann'})
        assert r.outcome().output == {'greeting': 'hello'}

``rehearsal(definition, **options)`` takes :class:`mistral.testing.Rehearsal`'s
arguments and returns one that is open; it is closed after the test.
Only one is open at a time: opening a second closes the first (outcomes
already taken stay valid).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest


@pytest.fixture
def rehearsal() -> Iterator[Callable[..., Any]]:
    from mistral.testing import Rehearsal

    opened: list[Rehearsal] = []

    def open_rehearsal(definition: Any, **options: Any) -> Rehearsal:
        while opened:
            opened.pop().close()
        r = Rehearsal(definition, **options)
        r.__enter__()
        opened.append(r)
        return r

    yield open_rehearsal
    while opened:
        opened.pop().close()
