"""retry_on_db_error: a transaction that failed on a lost connection or a
deadlock runs again; any other error goes straight to the caller."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import exc as sa_exc

from mistral.db import api as db_api


def _deadlock() -> sa_exc.OperationalError:
    return sa_exc.OperationalError('UPDATE x', {},
                                   Exception('deadlock detected'))


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: Any) -> None:
    monkeypatch.setattr(db_api.time, 'sleep', lambda s: None)
    monkeypatch.setattr(db_api, '_RETRY_WAIT', 0.0)


def test_a_retriable_failure_runs_again_until_it_succeeds() -> None:
    calls = []

    @db_api.retry_on_db_error
    def flaky(value: int) -> int:
        calls.append(value)
        if len(calls) < 3:
            raise _deadlock()
        return value * 2

    assert flaky(21) == 42
    assert calls == [21, 21, 21]


def test_other_errors_are_not_retried() -> None:
    calls = []

    @db_api.retry_on_db_error
    def broken() -> None:
        calls.append(1)
        raise ValueError('not a database error')

    with pytest.raises(ValueError, match='not a database error'):
        broken()
    assert calls == [1]


def test_a_success_runs_once_and_keeps_the_name() -> None:
    calls = []

    @db_api.retry_on_db_error
    def fine() -> str:
        calls.append(1)
        return 'ok'

    assert (fine(), calls, fine.__name__) == ('ok', [1], 'fine')
