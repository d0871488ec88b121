"""Upstream's Tempest plugin (mistral-tempest-tests) as upstream's gate runs
it: Keystone (a real one) with a project and users per test class, the API
found in the catalog, and the production shape of the server: PostgreSQL,
RabbitMQ, one process per component.

The gate (which tests must pass, which are left out and why) is
mistral/tests/functional/upstream_suites/gate.py; one test here per
upstream test that must pass, and test_whole_run for the rest.
"""

from __future__ import annotations

from mistral.tests.functional.upstream_suites import gate
from mistral.tests.functional.upstream_suites import pytest_gate

pytestmark = pytest_gate.MARKS
suite_outcome, test_upstream, test_whole_run = pytest_gate.module_tests(
    gate.RUNS['tempest-pg-rabbit-keystone'])
