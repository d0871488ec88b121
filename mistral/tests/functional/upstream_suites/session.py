"""Start what a gate run needs, run its suite, stop it all again."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Iterable, TextIO

from mistral.tests.functional.upstream_suites import deployments
from mistral.tests.functional.upstream_suites import gate as gate_mod
from mistral.tests.functional.upstream_suites import runner

LOG_TAIL_LINES = 200


@dataclass
class Outcome:
    gate: gate_mod.GateRun
    run: runner.SuiteRun
    # Seconds spent starting Keystone, starting the deployment, in total.
    timings: dict[str, float] = field(default_factory=dict)
    server_logs: str = ''

    def problems(self) -> list[str]:
        return gate_mod.problems(self.gate, self.run)

    def timing_line(self) -> str:
        return '%s: %s in %.0fs (%s)' % (
            self.gate.name, self.run.summary(), self.timings['total'],
            ', '.join('%s %.0fs' % (k, v) for k, v in self.timings.items()
                      if k != 'total'))


def execute(gate: gate_mod.GateRun, *, only: Iterable[str] = (),
            echo: TextIO | None = None) -> Outcome:
    """Run ``gate`` on a fresh deployment (and Keystone, if it needs one).

    ``only`` narrows the run to tests matching one of the regexes (the
    gate's expectations then no longer hold: for local debugging).
    """
    timings: dict[str, float] = {}
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        cloud = None
        if gate.keystone:
            cloud = stack.enter_context(deployments.keystone_cloud())
            timings['keystone'] = time.monotonic() - started
        mark = time.monotonic()
        dep = stack.enter_context(deployments.serve(gate.deployment, cloud))
        timings['deployment'] = time.monotonic() - mark
        if echo is not None:
            echo.write('%s: %s at %s%s\n' % (
                gate.name, gate.deployment, dep.api_url,
                ', Keystone at %s' % cloud.url if cloud else ', no auth'))
        run = runner.run_suite(gate.suite, dep.api_url, cloud=cloud,
                               exclusions=gate.not_run(),
                               scope=gate.selection(), only=only, echo=echo)
        timings['suite'] = run.seconds
        logs = dep.logs(tail=LOG_TAIL_LINES)
    timings['total'] = time.monotonic() - started
    return Outcome(gate, run, timings, logs)
