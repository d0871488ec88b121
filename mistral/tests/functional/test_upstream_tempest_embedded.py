"""Upstream's Tempest plugin (mistral-tempest-tests) on the embedded default:
one ``mistral-server --server all`` process, SQLite, in-memory transport,
no authentication. The tests that need Keystone run in
test_upstream_tempest_pg_rabbit_keystone.py.

The gate (which tests must pass, which are left out and why) is
mistral/tests/functional/upstream_suites/gate.py; one test here per
upstream test that must pass, and test_whole_run for the rest.
"""

from __future__ import annotations

from mistral.tests.functional.upstream_suites import gate
from mistral.tests.functional.upstream_suites import pytest_gate

pytestmark = pytest_gate.MARKS
suite_outcome, test_upstream, test_whole_run = pytest_gate.module_tests(
    gate.RUNS['tempest-embedded'])
