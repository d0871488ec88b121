"""YAQL parsing from many threads at once (API workers validating
definitions while engine threads evaluate)."""

from __future__ import annotations

import sys
import threading

from mistral.expressions import yaql_engine


def test_concurrent_parses_do_not_mix_expressions() -> None:
    # Distinct texts, so that every call really parses (no cache hit).
    # A tiny switch interval makes threads interleave inside the parser,
    # where a shared lexer used to mix two texts and fail valid ones.
    errors: list[str] = []
    start = threading.Barrier(6)

    def parse_many(n: int) -> None:
        start.wait()
        for i in range(400):
            text = (' len($.b%d_%d) + %d ' % (n, i, i) if n % 2
                    else ' $.n%d_%d.where($ > 1) ' % (n, i))
            try:
                yaql_engine.validate(text)
            except Exception as e:  # collected, asserted below
                errors.append(str(e))

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=parse_many, args=(n,))
                   for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []
