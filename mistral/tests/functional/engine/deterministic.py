"""Engine tests on the deterministic harness (mistral.testing.Harness).

:class:`HarnessEnv` has :class:`EngineEnv`'s helpers, but the engine and
executor run in the test's thread: ``start`` hands the request to the
engine and handles the messages it causes; ``wait`` lets the harness
settle (timers fire as the fake clock jumps to them) and then checks once,
instead of polling the database every 50 ms. Requests a test makes itself
(``engine_mod.Engine().pause_workflow(...)``) are handled at the next
``wait``. A test that is about threads, processes or the broker belongs on
:func:`conftest.in_process_engine` instead.
"""

from __future__ import annotations

import contextlib
import tempfile
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral import config
from mistral.db import api as db_api
from mistral.db import models
from mistral.db.migration import cli as db_cli
from mistral.testing import Harness
from mistral.tests.functional import harness as functional_harness
from mistral.tests.functional.engine.conftest import EngineEnv

CONF = cfg.CONF

# Fake seconds a wait may let pass (timers jump the clock there at once).
HORIZON = 24 * 3600.0


class HarnessEnv(EngineEnv):
    def __init__(self, backend: str, harness: Harness) -> None:
        super().__init__(backend)
        self.harness = harness

    def start(self, name: str, wf_input: dict | None = None,
              **params: Any) -> dict[str, Any]:
        h = self.harness
        ns = params.pop('wf_namespace', '')
        ex = h.engine.start_workflow(h.context, name, wf_namespace=ns,
                                     wf_input=wf_input or {}, params=params)
        h.drain()
        return ex  # type: ignore[no-any-return]

    def _settle(self, done: Callable[[], bool], what: str) -> None:
        self.harness.settle(until=done, max_seconds=HORIZON)
        if not done():
            raise AssertionError('%s, with nothing left to do' % what)

    def wait(self, wf_ex_id: str, timeout: float = 30.0,
             states: tuple[str, ...] = ('SUCCESS', 'ERROR', 'CANCELLED')
             ) -> models.WorkflowExecution:
        self._settle(lambda: self.execution(wf_ex_id).state in states,
                     'execution %s not in %s' % (wf_ex_id, states))
        return self.execution(wf_ex_id)

    def _action(self, action_ex_id: str) -> models.ActionExecution:
        with db_api.read_session() as s:
            ax = s.get(models.ActionExecution, action_ex_id)
            s.expunge(ax)
            return ax  # type: ignore[no-any-return]

    def wait_action(self, action_ex_id: str, timeout: float = 30.0
                    ) -> models.ActionExecution:
        self._settle(lambda: self._action(action_ex_id).state != 'RUNNING',
                     'action %s still RUNNING' % action_ex_id)
        return self._action(action_ex_id)

    def wait_action_state(self, action_ex_id: str, predicate: Any,
                          timeout: float = 30.0) -> models.ActionExecution:
        self._settle(lambda: bool(predicate(self._action(action_ex_id))),
                     'action %s: condition not met' % action_ex_id)
        return self._action(action_ex_id)


@contextlib.contextmanager
def harness_engine(backend: str, prefix: str = 'mistral-det-'
                   ) -> Iterator[HarnessEnv]:
    """A new database of ``backend`` with the schema, and a harness on
    it; everything is undone on exit."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    db = functional_harness.make_database(backend, tmp)
    db.create()
    config.parse_args([], default_config_files=[])
    CONF.set_override('connection', db.url, group='database')
    db_api.dispose()
    try:
        db_cli.upgrade('head')
    finally:
        db_api.dispose()
        CONF.clear_override('connection', group='database')
    try:
        with Harness(database_url=db.url) as h:
            yield HarnessEnv(backend, h)
    finally:
        db_api.dispose()
        db.drop()


@pytest.fixture(scope='module', params=['sqlite', 'postgresql', 'mysql'])
def det_env(request: pytest.FixtureRequest) -> Iterator[HarnessEnv]:
    """A harness on a new database of each backend, for one test module
    (use it in a module with ``det_env = deterministic.det_env``)."""
    with harness_engine(request.param) as env:
        yield env


def outbox_rows() -> int:
    with db_api.read_session() as s:
        return int(s.execute(sa.select(sa.func.count()).select_from(
            models.OutboxMessage)).scalar() or 0)
