"""python-mistralclient's functional CLI tests that need Keystone: its
multi-tenancy tests (an admin and an alt user in two projects) and
test_target_action_execution, with the ``mistral`` CLI logging in to a real
Keystone and our server (embedded shape) authenticating every request.

The gate (which tests must pass, which are left out and why) is
mistral/tests/functional/upstream_suites/gate.py; one test here per
upstream test that must pass, and test_whole_run for the rest.
"""

from __future__ import annotations

import pytest

from mistral.tests.functional.upstream_suites import gate
from mistral.tests.functional.upstream_suites import pytest_gate

GATE = gate.RUNS['client-keystone']
pytestmark = pytest_gate.MARKS
suite_outcome = pytest_gate.outcome_fixture(GATE)


@pytest.mark.parametrize('test_id', GATE.must_pass(), ids=gate.short)
def test_upstream(suite_outcome: pytest_gate.GateOutcome,
                  test_id: str) -> None:
    pytest_gate.check_passed(suite_outcome, test_id)


def test_whole_run(suite_outcome: pytest_gate.GateOutcome) -> None:
    pytest_gate.check_whole_run(suite_outcome)
