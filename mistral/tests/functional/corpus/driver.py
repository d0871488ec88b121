"""Running one case: define, start, play its steps, wait, snapshot.

:class:`Driver` holds the flow; a subclass says how to reach Mistral (the
in-process engine, or a deployment through python-mistralclient).
"""

from __future__ import annotations

import time
from typing import Any

from mistral.tests.functional.corpus import checks

TERMINAL = ('SUCCESS', 'ERROR', 'CANCELLED')
DEFAULT_TIMEOUT = 30.0


class Driver:
    poll = 0.05

    # -- what a subclass provides

    def define(self, case: dict[str, Any]) -> None:
        raise NotImplementedError

    def start(self, case: dict[str, Any]) -> str:
        raise NotImplementedError

    def execution(self, ex_id: str) -> dict[str, Any]:
        """``{state, state_info, output}``."""
        raise NotImplementedError

    def tasks(self, ex_id: str) -> list[dict[str, Any]]:
        """``[{id, name, state, state_info, published, runtime_context}]``
        in creation order."""
        raise NotImplementedError

    def action_ids(self, task_id: str, running: bool = False) -> list[str]:
        raise NotImplementedError

    def pause(self, ex_id: str) -> None:
        raise NotImplementedError

    def resume(self, ex_id: str, env: dict | None) -> None:
        raise NotImplementedError

    def stop(self, ex_id: str, state: str, msg: str | None) -> None:
        raise NotImplementedError

    def rerun(self, task_id: str, reset: bool, env: dict | None) -> None:
        raise NotImplementedError

    def skip(self, task_id: str) -> None:
        raise NotImplementedError

    def complete_action(self, action_id: str, output: Any,
                        error: bool, cancel: bool = False) -> None:
        raise NotImplementedError

    # -- the flow

    def run(self, case: dict[str, Any]) -> list[str]:
        exp = case['expect']
        try:
            self.define(case)
        except Exception as e:  # the case may expect a validation error
            if 'define_error' in exp and exp['define_error'] in str(e):
                return []
            raise
        if 'define_error' in exp:
            return ['define: expected an error with %r, it was stored'
                    % exp['define_error']]
        try:
            ex_id = self.start(case)
        except Exception as e:  # the case may expect the start to fail
            if 'start_error' in exp and exp['start_error'] in str(e):
                return []
            if 'start_error' in exp:
                return ['start error: expected %r in %r'
                        % (exp['start_error'], str(e))]
            raise
        if 'start_error' in exp:
            return ['start: expected an error with %r, it started'
                    % exp['start_error']]
        timeout = case.get('timeout', DEFAULT_TIMEOUT)
        for step in case.get('steps') or []:
            self.step(ex_id, step, timeout)
        wanted = exp.get('state')
        states = TERMINAL if wanted in TERMINAL or not wanted else (wanted,)
        ex = self.wait(ex_id, states, timeout)
        tasks = self.tasks(ex_id)
        return checks.check_execution(
            exp, ex, tasks, lambda tid: len(self.action_ids(tid)))

    def wait(self, ex_id: str, states: tuple[str, ...],
             timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            ex = self.execution(ex_id)
            if ex['state'] in states:
                return ex
            if time.monotonic() > deadline:
                raise AssertionError('execution still %s (%s) after %ss, '
                                     'waiting for %s' % (
                                         ex['state'], ex['state_info'],
                                         timeout, states))
            time.sleep(self.poll)

    def find_task(self, ex_id: str, name: str, timeout: float,
                  state: str | None = None, state_info: str | None = None,
                  actions: int | None = None) -> dict[str, Any]:
        """The last run of a task once it is in ``state``, its
        state_info contains ``state_info`` and it has ``actions`` action
        executions (each only when given)."""
        deadline = time.monotonic() + timeout
        while True:
            runs = [t for t in self.tasks(ex_id) if t['name'] == name]
            last = runs[-1] if runs else None
            if last is not None and \
                    (state is None or last['state'] == state) and \
                    (state_info is None or
                     state_info in (last['state_info'] or '')) and \
                    (actions is None or
                     len(self.action_ids(last['id'])) == actions):
                return last
            if time.monotonic() > deadline:
                raise AssertionError(
                    'task %s not %s%s%s after %ss: %r' % (
                        name, state or 'created',
                        ' with state_info %r' % state_info
                        if state_info is not None else '',
                        ' with %d action(s)' % actions
                        if actions is not None else '', timeout, runs))
            time.sleep(self.poll)

    def step(self, ex_id: str, step: dict[str, Any], timeout: float
             ) -> None:
        [(kind, arg)] = step.items()
        arg = arg if arg is not None else {}
        if kind == 'wait':
            self.wait(ex_id, (arg,), timeout)
        elif kind == 'wait_task':
            task = self.find_task(ex_id, arg['task'], timeout,
                                  arg.get('state'), arg.get('state_info'),
                                  arg.get('actions'))
            if 'started' in arg and \
                    (task['started_at'] is not None) != arg['started']:
                raise AssertionError(
                    'task %s: expected started_at %s, got %r' % (
                        arg['task'], 'set' if arg['started'] else 'unset',
                        task['started_at']))
        elif kind == 'pause':
            self.pause(ex_id)
        elif kind == 'resume':
            self.resume(ex_id, arg.get('env'))
        elif kind == 'stop':
            self.stop(ex_id, arg['state'], arg.get('msg'))
        elif kind == 'rerun':
            task = self.find_task(ex_id, arg['task'], timeout)
            self.rerun(task['id'], arg.get('reset', True), arg.get('env'))
        elif kind == 'skip':
            task = self.find_task(ex_id, arg['task'], timeout)
            self.skip(task['id'])
        elif kind == 'complete_action':
            self._complete(ex_id, arg, timeout)
        elif kind == 'sleep':
            time.sleep(float(arg))

    def _complete(self, ex_id: str, arg: dict[str, Any],
                  timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            task = self.find_task(ex_id, arg['task'], timeout)
            running = self.action_ids(task['id'], running=True)
            if running:
                break
            if time.monotonic() > deadline:
                raise AssertionError('no running action in task %s'
                                     % arg['task'])
            time.sleep(self.poll)
        self.complete_action(running[0], arg.get('output'),
                             bool(arg.get('error')),
                             bool(arg.get('cancel')))
