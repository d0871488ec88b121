"""The machinery of the upstream gate suites (upstream_suites/), not the
suites themselves: the gate's bookkeeping, the driver's reporting, the
virtualenv's build and lock, and that a real suite run that goes wrong
breaks the gate.
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import textwrap
import time
import unittest
from typing import Any

import pytest

from mistral.tests.functional import harness
from mistral.tests.functional.upstream_suites import gate
from mistral.tests.functional.upstream_suites import runner
from mistral.tests.functional.upstream_suites import venv as suites_venv
from mistral.tests.functional.upstream_suites.deployments import DEPLOYMENTS

pytestmark = pytest.mark.timeout(1500)

TEMPEST = gate.RUNS['tempest-embedded']


def _run_of(g: gate.GateRun, **overrides: str) -> runner.SuiteRun:
    """A run of ``g`` where everything went as the gate expects, then
    ``overrides`` (test id -> status; 'missing' drops the result)."""
    results = []
    not_run = g.not_run()
    by_upstream = g.skipped_by_upstream()
    for t in g.tests():
        status = overrides.get(t)
        if status == 'missing':
            continue
        if t in not_run:
            r = runner.TestResult(t, 'skip', reason='excluded: ' + not_run[t])
        elif t in by_upstream:
            r = runner.TestResult(t, 'skip', reason='upstream says so')
        else:
            r = runner.TestResult(t, 'pass')
        if status:
            r.status = status
            r.reason = 'by the suite' if status == 'skip' else ''
        results.append(r)
    return runner.SuiteRun(g.suite, 'http://x/v2', results, returncode=0)


# --- the gate's data ----------------------------------------------------


def test_counts_are_upstreams_or_better() -> None:
    runs = gate.RUNS
    # Upstream 23.0.0 on the no-auth harness: 105/0/24 and 142/0/1.
    assert len(runs['tempest-embedded'].must_pass()) == 105
    assert len(runs['tempest-embedded'].tests()) == 129
    # With Keystone, the five tests a no-auth run cannot have run too.
    assert len(runs['tempest-pg-rabbit-keystone'].must_pass()) == 110
    assert len(runs['client-embedded'].must_pass()) == 142
    assert len(runs['client-embedded'].tests()) == 143
    assert len(runs['client-keystone'].must_pass()) == 30


def test_every_listed_test_exists_and_every_test_runs_somewhere() -> None:
    for table in (gate.EXCLUDED, gate.SKIPPED_BY_UPSTREAM,
                  gate.NEED_KEYSTONE):
        for key in table:
            suite = 'client' if key.startswith(gate.CLI) else 'tempest'
            assert any(t == key or t.startswith(key + '.')
                       for t in gate.catalogue(suite)), key
    for suite in ('tempest', 'client'):
        runs = [g for g in gate.RUNS.values() if g.suite == suite]
        passing = set().union(*(g.must_pass() for g in runs))
        left_out = set().union(*(set(g.not_run()) | set(
            g.skipped_by_upstream()) for g in runs))
        for t in gate.catalogue(suite):
            assert t in passing or t in left_out, t
        # What needs Keystone passes in a Keystone run.
        for t in gate.catalogue(suite):
            if gate._matches(t, gate.NEED_KEYSTONE):
                assert any(t in g.must_pass() for g in runs if g.keystone), t
    # Left out for good: only what this machine cannot have.
    assert set(gate.EXCLUDED.values()) == {
        gate.NO_INTERNET, gate.NO_HEAT}


def test_problems_of_a_run_as_expected_is_none() -> None:
    for g in gate.RUNS.values():
        assert gate.problems(g, _run_of(g)) == []


def test_problems_name_every_kind_of_deviation() -> None:
    must = TEMPEST.must_pass()
    excluded = sorted(TEMPEST.not_run())
    by_upstream = sorted(TEMPEST.skipped_by_upstream())
    run = _run_of(TEMPEST, **{must[0]: 'fail', must[1]: 'error',
                              must[2]: 'missing', must[3]: 'skip',
                              excluded[0]: 'pass',
                              by_upstream[0]: 'pass'})
    run.results.append(runner.TestResult(
        'setUpClass (x.y.Z)', 'error', details='boom in setUpClass'))
    run.results.append(runner.TestResult(must[4], 'pass'))
    found = gate.problems(TEMPEST, run)
    text = '\n'.join(found)
    assert '%s: FAIL' % must[0] in text
    assert '%s: ERROR' % must[1] in text
    assert '%s: did not run' % must[2] in text
    assert '%s: skipped (by the suite), but it must pass' % must[3] in text
    assert '%s: pass, but it was expected to be skipped' % excluded[0] \
        in text
    assert '%s: pass, but it was expected to be skipped' % by_upstream[0] \
        in text
    assert 'setUpClass (x.y.Z): error, but it is not a test of this run' \
        in text and 'boom in setUpClass' in text
    assert '%s: reported 2 times' % must[4] in text
    # 105 - 4 broken + 1 duplicate + 2 that should have been skipped
    assert '104 passed, fewer than upstream\'s 105' in text
    assert len(found) == 9, found


def test_a_suite_that_crashed_breaks_the_gate() -> None:
    run = _run_of(TEMPEST)
    run.returncode = -9
    run.output = 'Killed'
    assert gate.problems(TEMPEST, run)[0].startswith(
        'the tempest suite exited with code -9')


# --- the driver -----------------------------------------------------------


def _driver() -> Any:
    spec = importlib.util.spec_from_file_location('suite_driver',
                                                  runner.DRIVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_driver_reports_each_outcome_and_never_runs_exclusions() -> None:
    driver = _driver()
    ran = []

    class T(unittest.TestCase):
        def test_ok(self) -> None:
            ran.append('ok')

        def test_bad(self) -> None:
            self.assertEqual(1, 2)

        def test_broken(self) -> None:
            raise RuntimeError('broken')

        @unittest.skip('not today')
        def test_skip(self) -> None:
            pass

        def test_left_out(self) -> None:
            ran.append('left out')

    out, results = io.StringIO(), io.StringIO()
    rec = driver.Recorder(out, results)
    suite = unittest.TestLoader().loadTestsFromTestCase(T)
    tests = list(driver._flatten(suite))
    exclusions = {T('test_left_out').id(): 'needs the moon'}
    to_run = []
    for t in tests:
        reason = driver._excluded(t.id(), exclusions)
        if reason:
            rec.emit(t.id(), 'skip', reason='excluded: ' + reason)
        else:
            to_run.append(t)
    unittest.TestSuite(to_run).run(rec)

    records = {r['id'].rsplit('.', 1)[1]: r for r in map(
        json.loads, results.getvalue().splitlines())}
    assert {k: r['status'] for k, r in records.items()} == {
        'test_ok': 'pass', 'test_bad': 'fail', 'test_broken': 'error',
        'test_skip': 'skip', 'test_left_out': 'skip'}
    assert 'AssertionError: 1 != 2' in records['test_bad']['details']
    assert 'RuntimeError: broken' in records['test_broken']['details']
    assert records['test_skip']['reason'] == 'not today'
    assert records['test_left_out']['reason'] == 'excluded: needs the moon'
    assert ran == ['ok']
    assert rec.counts == {'pass': 1, 'fail': 2, 'skip': 2}
    lines = out.getvalue().splitlines()
    assert len(lines) == 5 and lines[0].startswith('SKIP ')


def test_driver_ids_drop_tempests_tags_and_match_prefixes() -> None:
    driver = _driver()
    full = 'a.b.C.test_x[id-1234,smoke]'
    assert driver.plain_id(full) == 'a.b.C.test_x'
    assert driver._excluded(full, {'a.b.C': 'why'}) == 'why'
    assert driver._excluded(full, {'a.b.C.test_x': 'why'}) == 'why'
    assert driver._excluded(full, {'a.b.C.test': 'why'}) is None


# --- the virtualenv -------------------------------------------------------


def test_venv_that_cannot_be_built_fails_clearly(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No suites means a failing gate with pip's reason, never a skip."""
    path = tmp_path / 'suites-venv'
    monkeypatch.setenv('MISTRAL_TEST_SUITES_VENV', str(path))
    monkeypatch.setattr(suites_venv, 'PINS', ('tempest==0.0.0.bogus',))
    monkeypatch.setattr(suites_venv, '_HELD', {})
    with pytest.raises(suites_venv.SuitesUnavailable) as info:
        suites_venv.ensure_venv()
    message = str(info.value)
    assert 'installing tempest==0.0.0.bogus' in message
    assert 'No matching distribution found for tempest==0.0.0.bogus' \
        in message, message
    assert not path.exists()


_HOLD = textwrap.dedent('''
    import fcntl, sys, time
    with open(sys.argv[1], 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        print('held', flush=True)
        time.sleep(120)
''')


def test_a_venv_in_use_elsewhere_is_used_not_waited_for(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A built venv (its stamp and python), in use by another process that
    # holds the lock shared, as a pytest worker does until it exits.
    path = tmp_path / 'suites-venv'
    (path / 'bin').mkdir(parents=True)
    (path / 'bin' / 'python').symlink_to(sys.executable)
    (path / suites_venv._STAMP).write_text('built\n')
    monkeypatch.setenv('MISTRAL_TEST_SUITES_VENV', str(path))
    monkeypatch.setattr(suites_venv, '_HELD', {})
    holder = subprocess.Popen([sys.executable, '-c', _HOLD,
                               str(path) + '.lock'], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        started = time.monotonic()
        got = suites_venv.ensure_venv()
        assert got.path == str(path)
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()
        for lock in suites_venv._HELD.values():
            lock.close()


# --- a real run that goes wrong -------------------------------------------


def test_a_failing_upstream_test_breaks_the_gate() -> None:
    """Without [api] allow_action_execution_deletion (which the gate sets)
    deleting an action execution is forbidden, so the test that expects a
    404 for a missing one fails: the run must say so, with the server's
    answer."""
    cls = gate.API + 'test_action_executions.ActionExecutionTestsV2'
    # The embedded default without the gate's options.
    with harness.Deployment(**DEPLOYMENTS['embedded']) as dep:
        run = runner.run_suite('tempest', dep.api_url,
                               exclusions=TEMPEST.not_run(),
                               only=[cls + r'\.test_delete_nonexistent'])
    assert [r.id for r in run.results] == [
        cls + '.test_delete_nonexistent_action_execution']
    result = run.results[0]
    assert result.failed, run.output
    # The exchange is in the details: tempest logs it at debug level.
    assert '403 DELETE' in result.details, result.details
    problems = gate.problems(TEMPEST, run)
    assert '%s.test_delete_nonexistent_action_execution: %s' % (
        cls, result.status.upper()) in problems



def test_a_suite_that_runs_too_long_is_killed_and_breaks_the_gate() -> None:
    # Nothing listens on port 9; the suite does not even get that far.
    run = runner.run_suite('tempest', 'http://127.0.0.1:9/v2', timeout=1)
    assert run.returncode == -9, run.output
    assert run.output.endswith(
        '*** the tempest suite ran longer than 1s: killed\n')
    assert gate.problems(TEMPEST, run)[0].startswith(
        'the tempest suite exited with code -9')
