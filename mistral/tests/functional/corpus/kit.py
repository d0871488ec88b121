"""The corpus through the deterministic harness (mistral.testing).

The engine and executor run in the test's thread on a private SQLite
database; messages are handled in order as soon as they are sent and
timers fire from a fake clock, so a case never sleeps nor polls: a
``wait`` lets the harness settle (timers jumping the clock) and then
checks once; a ``sleep`` step advances the fake clock.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable

from mistral.testing import PENDING
from mistral.testing import REAL
from mistral.testing import Harness
from mistral.testing import error
from mistral.testing import mock_answers
from mistral.testing import sequence
from mistral.tests.functional.corpus import driver
from mistral.tests.functional.corpus import embedded

# Fake time a case may take at most (its timers jump the clock).
HORIZON = 7 * 24 * 3600.0


class KitDriver(embedded.EmbeddedDriver):
    """The embedded driver's reads and requests, on a harness."""

    def __init__(self, harness: Harness) -> None:
        super().__init__(_HarnessEnv(harness))  # type: ignore[arg-type]
        self.harness = harness
        self.engine = harness.engine
        self.ctx = harness.context

    def apply_conf(self, conf: dict[str, dict[str, Any]]) -> None:
        raise AssertionError('give conf to the Harness')

    def start(self, case: dict[str, Any]) -> str:
        ex = self.engine.start_workflow(
            self.ctx, case['start'], wf_namespace=case['namespace'],
            wf_input=case.get('input') or {},
            params=dict(case.get('params') or {}))
        self.harness.drain()
        return str(ex['id'])

    def _settle(self, done: Callable[[], bool]) -> None:
        self.harness.settle(until=done, max_seconds=HORIZON)

    def wait(self, ex_id: str, states: tuple[str, ...],
             timeout: float) -> dict[str, Any]:
        self._settle(lambda: self.execution(ex_id)['state'] in states)
        ex = self.execution(ex_id)
        if ex['state'] not in states:
            raise AssertionError('execution %s (%s) with nothing left to '
                                 'do, waiting for %s' % (
                                     ex['state'], ex['state_info'], states))
        return ex

    def find_task(self, ex_id: str, name: str, timeout: float,
                  state: str | None = None, state_info: str | None = None,
                  actions: int | None = None) -> dict[str, Any]:
        def last() -> dict[str, Any] | None:
            runs = [t for t in self.tasks(ex_id) if t['name'] == name]
            t = runs[-1] if runs else None
            if t is not None and \
                    (state is None or t['state'] == state) and \
                    (state_info is None or
                     state_info in (t['state_info'] or '')) and \
                    (actions is None or
                     len(self.action_ids(t['id'])) == actions):
                return t
            return None
        self._settle(lambda: last() is not None)
        found = last()
        if found is None:
            raise AssertionError('task %s not %s with nothing left to do: '
                                 '%r' % (name, state or 'created',
                                         self.tasks(ex_id)))
        return found

    def step(self, ex_id: str, step: dict[str, Any], timeout: float
             ) -> None:
        [(kind, arg)] = step.items()
        if kind == 'sleep':
            self.harness.advance(float(arg))
            return
        super().step(ex_id, step, timeout)
        self.harness.drain()

    def _complete(self, ex_id: str, arg: dict[str, Any],
                  timeout: float) -> None:
        task = self.find_task(ex_id, arg['task'], timeout)
        self._settle(lambda: bool(self.action_ids(
            self.find_task(ex_id, arg['task'], timeout)['id'],
            running=True)))
        task = self.find_task(ex_id, arg['task'], timeout)
        running = self.action_ids(task['id'], running=True)
        if not running:
            raise AssertionError('no running action in task %s'
                                 % arg['task'])
        self.complete_action(running[0], arg.get('output'),
                             bool(arg.get('error')),
                             bool(arg.get('cancel')))
        self.harness.drain()


class _HarnessEnv:
    """What EmbeddedDriver reads from its EngineEnv, on the harness's
    database (the EngineEnv helpers that only use the database)."""

    def __init__(self, harness: Harness) -> None:
        from mistral.tests.functional.engine.conftest import EngineEnv

        self._env = EngineEnv('sqlite')
        self.harness = harness

    def __getattr__(self, name: str) -> Any:
        if name == 'start':
            raise AttributeError(name)
        return getattr(self._env, name)


def _mock(spec: Any) -> Any:
    """A case's mock (``{result: V}``, ``{error: E}``, ``pending``,
    ``real``, or a list of those: one per action run) as a kit mock."""
    if isinstance(spec, list):
        return sequence(*[_mock(s) for s in spec])
    if spec == 'pending':
        return PENDING
    if spec == 'real':
        return REAL
    if isinstance(spec, dict) and len(spec) == 1:
        [(kind, value)] = spec.items()
        if kind == 'result':
            return value
        if kind == 'error':
            return error(value)
    raise ValueError('a mock is {result: V}, {error: E}, pending, real or '
                     'a list of those, not %r' % (spec,))


def run_case(case: dict[str, Any]) -> tuple[list[str], datetime.datetime]:
    """Mismatches of one case played through the harness, and the fake
    time it ended at."""
    mocks = {k: _mock(v) for k, v in (case.get('mocks') or {}).items()}
    with Harness(conf=case.get('conf') or None,
                 answer=mock_answers(mocks) if mocks else None) as h:
        errors = KitDriver(h).run(case)
        if h.errors:
            errors = errors + ['engine error: %r' % e for e in h.errors]
        return errors, h.clock.peek()


__all__ = ['KitDriver', 'run_case', 'driver']
