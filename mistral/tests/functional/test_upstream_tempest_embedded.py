"""Upstream's Tempest plugin (mistral-tempest-tests) on the embedded default:
one ``mistral-server --server all`` process, SQLite, in-memory transport,
no authentication. The tests that need Keystone run in
test_upstream_tempest_pg_rabbit_keystone.py.

The gate (which tests must pass, which are left out and why) is
mistral/tests/functional/upstream_suites/gate.py; one test here per
upstream test that must pass, and test_whole_run for the rest.
"""

from __future__ import annotations

import pytest

from mistral.tests.functional.upstream_suites import gate
from mistral.tests.functional.upstream_suites import pytest_gate

GATE = gate.RUNS['tempest-embedded']
pytestmark = pytest_gate.MARKS
suite_outcome = pytest_gate.outcome_fixture(GATE)


@pytest.mark.parametrize('test_id', GATE.must_pass(), ids=gate.short)
def test_upstream(suite_outcome: pytest_gate.GateOutcome,
                  test_id: str) -> None:
    pytest_gate.check_passed(suite_outcome, test_id)


def test_whole_run(suite_outcome: pytest_gate.GateOutcome) -> None:
    pytest_gate.check_whole_run(suite_outcome)
