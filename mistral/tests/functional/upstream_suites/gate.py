"""What the gate expects of each run of upstream's suites.

Every upstream test of the pinned suites is listed in ``catalogue/``. Each
:class:`GateRun` covers some of them (its scope) against one deployment,
with or without Keystone, and within its scope every test must pass
except:

* :data:`EXCLUDED`: tests that need what this machine cannot have (the
  internet, a real Heat). They are not run.
* :data:`SKIPPED_BY_UPSTREAM`: tests that the suites' own code skips
  (marked as unfinished or known broken upstream, or needing a service
  that ``tempest.conf`` says is absent). They must be reported skipped
  by the suite itself.
* :data:`NEED_KEYSTONE`, in runs without Keystone: they run in the
  Keystone runs instead, so that every one of them runs somewhere.

:func:`problems` compares a :class:`~.runner.SuiteRun` with this, test by
test: a failure, a test that did not run, a test that is not in the
catalogue and a skip that is not expected all break the gate.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterable

from mistral.tests.functional.upstream_suites.runner import SuiteRun

HERE = os.path.dirname(os.path.abspath(__file__))

TEMPEST = 'mistral_tempest_tests.tests.'
API = TEMPEST + 'api.v2.'
SCENARIO = TEMPEST + 'scenario.engine.actions.v2.'
CLI = 'mistralclient.tests.functional.cli.v2.'

# --- why some tests do not run here -------------------------------------

NO_INTERNET = ('runs std.http against a host on the internet; this '
               'machine has no internet access')
NO_HEAT = ('runs heat.stacks_list against a real Heat; this machine has '
           'no Heat (and tempest.conf cannot say so: the test does not '
           'check)')

EXCLUDED: dict[str, str] = {
    API + 'test_action_executions.ActionExecutionTestsV2.'
          'test_run_action_std_http': NO_INTERNET,
    API + 'test_action_executions.ActionExecutionTestsV2.'
          'test_run_action_std_http_error': NO_INTERNET,
    API + 'test_action_executions.ActionExecutionTestsV2.'
          'test_run_action_std_http_non_utf8_response': NO_INTERNET,
    SCENARIO + 'test_openstack_actions.OpenStackActionsTestsV2.'
               'test_heat_actions': NO_HEAT,
}

UNFINISHED = 'upstream marks it unfinished (testtools.skip)'
UPSTREAM_BUG = 'upstream skips it for an open bug of its own'


def _no_service(name: str) -> str:
    return ('upstream skips it when tempest.conf says %s is absent; this '
            'machine has no %s' % (name, name))


_ACTIONS = API + 'test_actions.ActionTestsV2.'
_OPENSTACK = SCENARIO + 'test_openstack_actions.OpenStackActionsTestsV2.'
SKIPPED_BY_UPSTREAM: dict[str, str] = {
    _ACTIONS + 'test_delete_standard_action': UNFINISHED,
    _ACTIONS + 'test_get_list_actions_greater_than_equal_to_filter':
        UNFINISHED,
    _ACTIONS + 'test_get_list_actions_less_than_equal_to_filter':
        UNFINISHED,
    _ACTIONS + 'test_get_list_actions_less_than_filter': UNFINISHED,
    _ACTIONS + 'test_get_list_actions_with_pagination': UNFINISHED,
    API + 'test_workflows.WorkflowTestsV2.'
          'test_delete_wf_with_trigger_associate_in_other_tenant':
        UPSTREAM_BUG,
    SCENARIO + 'test_multi_vim_authentication.MultiVimActionsTests.'
               'test_multi_vim_support_target_headers': UPSTREAM_BUG,
    SCENARIO + 'test_multi_vim_authentication.MultiVimActionsTests.'
               'test_multi_vim_support_target_headers_and_service_catalog':
        UPSTREAM_BUG,
    SCENARIO + 'test_ssh_actions.SSHActionsTestsV2.test_run_ssh_action':
        UPSTREAM_BUG,
    SCENARIO + 'test_ssh_actions.SSHActionsTestsV2.'
               'test_run_ssh_proxied_action': UPSTREAM_BUG,
    _OPENSTACK + 'test_nova_actions': _no_service('Nova'),
    _OPENSTACK + 'test_glance_actions': _no_service('Glance'),
    _OPENSTACK + 'test_cinder_actions': _no_service('Cinder'),
    _OPENSTACK + 'test_neutron_actions': _no_service('Neutron'),
    _OPENSTACK + 'test_swift_actions': _no_service('Swift'),
}

NEED_KEYSTONE: dict[str, str] = {
    API + 'test_workflows.WorkflowTestsV2.test_get_list_workflows_by_admin':
        'lists all projects\' workflows as a Keystone admin',
    API + 'test_workflows.WorkflowTestsV2.'
          'test_get_list_workflows_with_project_by_admin':
        'reads the Keystone project id of its user',
    API + 'test_workflows.WorkflowTestsV2.'
          'test_get_list_other_project_private_workflows':
        'needs two Keystone projects',
    API + 'test_executions.ExecutionTestsV2.'
          'test_update_execution_by_other_fail':
        'needs two Keystone projects',
    SCENARIO + 'test_openstack_actions.OpenStackActionsTestsV2.'
               'test_keystone_actions':
        'runs mistral-extra\'s keystone.projects_list with the caller\'s '
        'token',
    CLI + 'test_cli_v2.NegativeCLITests.test_target_action_execution':
        'logs in as the alt user and passes --os-target-* credentials',
    CLI + 'test_cli_multi_tenancy':
        'every test acts as two Keystone users in two projects',
}


# --- the runs ---------------------------------------------------------------


def catalogue(suite: str) -> list[str]:
    """Every test id of ``suite`` (catalogue/<suite>.txt)."""
    with open(os.path.join(HERE, 'catalogue', suite + '.txt')) as f:
        return [line.strip() for line in f if line.strip()]


def _matches(test_id: str, keys: Iterable[str]) -> str | None:
    for key in keys:
        if test_id == key or test_id.startswith(key + '.'):
            return key
    return None


@dataclass(frozen=True)
class GateRun:
    """One suite against one deployment, with or without Keystone."""

    name: str
    suite: str  # tempest or client
    deployment: str  # a key of deployments.DEPLOYMENTS
    keystone: bool
    # Test ids or id prefixes this run covers (default: the whole suite).
    scope: tuple[str, ...] = ()
    # Upstream's own result on its gate, for the record and as a floor.
    min_passed: int = 0

    def tests(self) -> list[str]:
        tests = catalogue(self.suite)
        if self.scope:
            tests = [t for t in tests if _matches(t, self.scope)]
        return tests

    def not_run(self) -> dict[str, str]:
        """Tests of the scope that this run leaves out, with the reason."""
        out = {}
        for t in self.tests():
            key = _matches(t, EXCLUDED)
            if key:
                out[t] = EXCLUDED[key]
                continue
            key = _matches(t, NEED_KEYSTONE)
            if key and not self.keystone:
                out[t] = ('needs Keystone (%s): runs in %s' % (
                    NEED_KEYSTONE[key], ', '.join(
                        r.name for r in RUNS.values()
                        if r.keystone and r.suite == self.suite)))
        return out

    def skipped_by_upstream(self) -> dict[str, str]:
        return {t: SKIPPED_BY_UPSTREAM[k] for t in self.tests()
                for k in [_matches(t, SKIPPED_BY_UPSTREAM)] if k}

    def must_pass(self) -> list[str]:
        left_out = set(self.not_run()) | set(self.skipped_by_upstream())
        return [t for t in self.tests() if t not in left_out]

    def selection(self) -> list[str]:
        """Regexes for the driver that select exactly the scope."""
        return ['^%s(\\.|$)' % re.escape(s) for s in self.scope]


RUNS: dict[str, GateRun] = {r.name: r for r in (
    GateRun('tempest-embedded', 'tempest', 'embedded', keystone=False,
            min_passed=105),
    GateRun('tempest-pg-rabbit-keystone', 'tempest', 'pg-rabbit',
            keystone=True, min_passed=105),
    GateRun('client-embedded', 'client', 'embedded', keystone=False,
            scope=(CLI + 'test_cli_v2',), min_passed=142),
    GateRun('client-keystone', 'client', 'embedded', keystone=True,
            scope=(CLI + 'test_cli_v2.NegativeCLITests.'
                   'test_target_action_execution',
                   CLI + 'test_cli_multi_tenancy')),
)}


def short(test_id: str) -> str:
    """A test id without the suite's package prefix."""
    for prefix in (TEMPEST, CLI):
        if test_id.startswith(prefix):
            return test_id[len(prefix):]
    return test_id


def problems(gate: GateRun, run: SuiteRun) -> list[str]:
    """Every way ``run`` differs from what ``gate`` expects (empty: ok)."""
    out = []
    if run.returncode not in (0, 1):
        out.append('the %s suite exited with code %s:\n%s' % (
            run.suite, run.returncode, run.output[-3000:]))
    expected = set(gate.tests())
    not_run = gate.not_run()
    by_upstream = gate.skipped_by_upstream()
    seen: dict[str, int] = {}
    for r in run.results:
        seen[r.id] = seen.get(r.id, 0) + 1
        if r.id not in expected:
            out.append('%s: %s, but it is not a test of this run%s' % (
                r.id, r.status, (':\n' + r.details) if r.details else ''))
        elif r.failed:
            out.append('%s: %s' % (r.id, r.status.upper()))
        elif r.status == 'skip':
            if r.id in not_run:
                if not r.reason.startswith('excluded: '):
                    out.append('%s: skipped by the suite (%s), but the gate '
                               'leaves it out' % (r.id, r.reason))
            elif r.id in by_upstream:
                if r.reason.startswith('excluded: '):
                    out.append('%s: excluded, but upstream\'s code should '
                               'skip it' % r.id)
            else:
                out.append('%s: skipped (%s), but it must pass' % (
                    r.id, r.reason))
        elif r.id in not_run or r.id in by_upstream:
            out.append('%s: %s, but it was expected to be skipped (%s): '
                       'update gate.py' % (r.id, r.status, not_run.get(
                           r.id) or by_upstream.get(r.id)))
    for test_id in sorted(expected - set(seen)):
        out.append('%s: did not run' % test_id)
    for test_id, n in sorted(seen.items()):
        if n > 1:
            out.append('%s: reported %d times' % (test_id, n))
    passed = len(run.passed())
    if passed < gate.min_passed:
        out.append('%d passed, fewer than upstream\'s %d' % (
            passed, gate.min_passed))
    return out
