"""python-mistralclient's functional CLI tests that need Keystone: its
multi-tenancy tests (an admin and an alt user in two projects) and
test_target_action_execution, with the ``mistral`` CLI logging in to a real
Keystone and our server (embedded shape) authenticating every request.

The gate (which tests must pass, which are left out and why) is
mistral/tests/functional/upstream_suites/gate.py; one test here per
upstream test that must pass, and test_whole_run for the rest.
"""

from __future__ import annotations

from mistral.tests.functional.upstream_suites import gate
from mistral.tests.functional.upstream_suites import pytest_gate

pytestmark = pytest_gate.MARKS
suite_outcome, test_upstream, test_whole_run = pytest_gate.module_tests(
    gate.RUNS['client-keystone'])
