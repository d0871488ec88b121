"""python-mistralclient's functional CLI tests (test_cli_v2.py) on the
embedded default, no authentication: the real ``mistral`` CLI against one
``mistral-server --server all`` process on SQLite. The one test that needs
Keystone runs in test_upstream_client_keystone.py.

The gate (which tests must pass, which are left out and why) is
mistral/tests/functional/upstream_suites/gate.py; one test here per
upstream test that must pass, and test_whole_run for the rest.
"""

from __future__ import annotations

from mistral.tests.functional.upstream_suites import gate
from mistral.tests.functional.upstream_suites import pytest_gate

pytestmark = pytest_gate.MARKS
suite_outcome, test_upstream, test_whole_run = pytest_gate.module_tests(
    gate.RUNS['client-embedded'])
