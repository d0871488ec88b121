"""The pytest side of the gate: one module per :class:`~.gate.GateRun`.

A module runs its suite once (a module-scoped fixture) and has one test
per upstream test that must pass, named after it, plus one that checks the
run as a whole against :func:`~.gate.problems` (nothing failed, every test
ran, only the expected tests were skipped)::

    pytestmark = pytest_gate.MARKS
    suite_outcome, test_upstream, test_whole_run = pytest_gate.module_tests(
        gate.RUNS['tempest-embedded'])

(A module per run, so that xdist's ``--dist loadfile`` runs the suites on
different workers at once.)

The suite's full output and the server logs are written next to each
other in pytest's tmp dir; a failure names the files.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import pytest

from mistral.tests.functional.upstream_suites import gate as gate_mod
from mistral.tests.functional.upstream_suites import session

# Building the suites' venv (first use on a machine) and Keystone's, a
# deployment and a whole suite run are all charged to the first test.
TIMEOUT = 2400
MARKS = [pytest.mark.timeout(TIMEOUT)]


class GateOutcome:
    def __init__(self, outcome: session.Outcome, output_path: str,
                 logs_path: str) -> None:
        self.outcome = outcome
        self.results = outcome.run.by_id()
        self.output_path = output_path
        self.logs_path = logs_path

    def where(self) -> str:
        return ('%s\nsuite output: %s\nserver logs (last lines): %s'
                % (self.outcome.timing_line(), self.output_path,
                   self.logs_path))


def outcome_fixture(gate: gate_mod.GateRun) -> Callable[..., Any]:
    @pytest.fixture(scope='module')
    def suite_outcome(tmp_path_factory: pytest.TempPathFactory
                      ) -> GateOutcome:
        tmp = tmp_path_factory.mktemp(gate.name)
        output_path = os.path.join(tmp, 'suite-output.log')
        with open(output_path, 'w') as echo:
            outcome = session.execute(gate, echo=echo)
        logs_path = os.path.join(tmp, 'server.log')
        with open(logs_path, 'w') as f:
            f.write(outcome.server_logs)
        return GateOutcome(outcome, output_path, logs_path)

    return suite_outcome


def check_passed(got: GateOutcome, test_id: str) -> None:
    result = got.results.get(test_id)
    if result is None:
        pytest.fail('%s did not run (see test_whole_run)\n%s' % (
            test_id, got.where()), pytrace=False)
    if result.status != 'pass':
        pytest.fail('%s: %s %s\n%s\n%s' % (
            test_id, result.status.upper(), result.reason,
            result.details.rstrip(), got.where()), pytrace=False)


def check_whole_run(got: GateOutcome) -> None:
    problems = got.outcome.problems()
    if problems:
        pytest.fail('%s: %d problem(s)\n  %s\n%s' % (
            got.outcome.gate.name, len(problems),
            '\n  '.join(p[:3000] for p in problems), got.where()),
            pytrace=False)


def module_tests(gate: gate_mod.GateRun
                 ) -> tuple[Callable[..., Any], Callable[..., Any],
                            Callable[..., Any]]:
    """The fixture and the two tests of a run's module, to be bound to
    the names ``suite_outcome``, ``test_upstream`` and ``test_whole_run``
    (pytest collects them by those names)."""

    @pytest.mark.parametrize('test_id', gate.must_pass(),
                             ids=gate_mod.short)
    def test_upstream(suite_outcome: GateOutcome, test_id: str) -> None:
        check_passed(suite_outcome, test_id)

    def test_whole_run(suite_outcome: GateOutcome) -> None:
        check_whole_run(suite_outcome)

    return outcome_fixture(gate), test_upstream, test_whole_run
