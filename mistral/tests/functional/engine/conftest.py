"""An engine and an executor in this process, on a real database.

Each test module gets its own database on each backend (SQLite, PostgreSQL,
MariaDB) and the in-memory transport, so engine behaviour (locking,
idempotency, the outbox) is checked against every database we support.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import time
from typing import Any, Iterator

import pytest
from oslo_config import cfg

from mistral import config
from mistral.db import api as db_api
from mistral.db import models
from mistral.db.migration import cli as db_cli
from mistral.handoff import outbox
from mistral.lang import parser
from mistral.rpc import base as rpc_base
from mistral.rpc import clients
from mistral.service import components
from mistral.tests.functional import harness

CONF = cfg.CONF


class EngineEnv:
    """Helpers over a running in-process engine + executor."""

    def __init__(self, backend: str) -> None:
        self.backend = backend

    def create_workflows(self, text: str, namespace: str = '') -> list[str]:
        ids = []
        with db_api.transaction() as s:
            for spec in parser.parse_workflows(text):
                row = models.WorkflowDefinition(
                    name=spec.name, namespace=namespace,
                    definition=spec.definition, spec=spec.to_dict(),
                    tags=spec.tags, project_id='<default-project>',
                    checksum=hashlib.md5(
                        spec.definition.encode()).hexdigest())
                s.add(row)
                s.flush()
                ids.append(row.id)
        return ids

    def create_actions(self, text: str, namespace: str = '') -> None:
        """Store ad-hoc actions as the API does."""
        with db_api.transaction() as s:
            for spec in parser.parse_actions(text):
                s.add(models.ActionDefinition(
                    name=spec.name, namespace=namespace,
                    definition=spec.definition, spec=spec.to_dict(),
                    tags=spec.tags, project_id='<default-project>',
                    input=spec.input_string, is_system=False))

    def start(self, name: str, wf_input: dict | None = None,
              **params: Any) -> dict[str, Any]:
        from mistral.context import default_context

        return clients.engine().start_workflow(default_context(), name,
                                               wf_input=wf_input or {},
                                               **params)

    def wait(self, wf_ex_id: str, timeout: float = 30.0,
             states: tuple[str, ...] = ('SUCCESS', 'ERROR', 'CANCELLED')
             ) -> models.WorkflowExecution:
        deadline = time.monotonic() + timeout
        while True:
            wf = self.execution(wf_ex_id)
            if wf.state in states:
                return wf
            if time.monotonic() > deadline:
                raise AssertionError('execution %s still %s after %ss'
                                     % (wf_ex_id, wf.state, timeout))
            time.sleep(0.05)

    def wait_action(self, action_ex_id: str, timeout: float = 30.0
                    ) -> models.ActionExecution:
        deadline = time.monotonic() + timeout
        while True:
            with db_api.read_session() as s:
                ax = s.get(models.ActionExecution, action_ex_id)
                state = ax.state
            if state != 'RUNNING':
                return ax
            if time.monotonic() > deadline:
                raise AssertionError('action %s still RUNNING' % action_ex_id)
            time.sleep(0.05)

    def wait_action_state(self, action_ex_id: str, predicate,
                          timeout: float = 30.0) -> models.ActionExecution:
        deadline = time.monotonic() + timeout
        while True:
            with db_api.read_session() as s:
                ax = s.get(models.ActionExecution, action_ex_id)
                s.expunge(ax)
            if predicate(ax):
                return ax
            if time.monotonic() > deadline:
                raise AssertionError('action %s: condition not met'
                                     % action_ex_id)
            time.sleep(0.05)

    def execution(self, wf_ex_id: str) -> models.WorkflowExecution:
        from sqlalchemy import orm

        with db_api.read_session() as s:
            wf = s.get(models.WorkflowExecution, wf_ex_id,
                       options=[orm.undefer(models.WorkflowExecution.output)])
            s.expunge(wf)
            return wf

    def tasks(self, wf_ex_id: str) -> list[models.TaskExecution]:
        import sqlalchemy as sa

        with db_api.read_session() as s:
            found = s.execute(sa.select(models.TaskExecution).where(
                models.TaskExecution.workflow_execution_id == wf_ex_id)
                .order_by(models.TaskExecution.created_at)).scalars().all()
            for t in found:
                s.expunge(t)
            return list(found)

    def actions(self, task_ex_id: str) -> list[models.ActionExecution]:
        import sqlalchemy as sa
        from sqlalchemy import orm

        with db_api.read_session() as s:
            found = s.execute(sa.select(models.ActionExecution).where(
                models.ActionExecution.task_execution_id == task_ex_id)
                .options(orm.undefer(models.ActionExecution.output))
            ).scalars().all()
            for a in found:
                s.expunge(a)
            return list(found)


@contextlib.contextmanager
def in_process_engine(backend: str, prefix: str = 'mistral-engine-test-',
                      component_names: tuple[str, ...] = ('engine',
                                                         'executor')
                      ) -> Iterator[EngineEnv]:
    """An engine and an executor (``component_names``) in this process on
    a new database of ``backend``, with short leases; everything is undone
    on exit."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    db = harness.make_database(backend, tmp)
    db.create()
    config.parse_args([], default_config_files=[])
    CONF.set_override('connection', db.url, group='database')
    CONF.set_override('transport_url', 'fake:/')
    CONF.set_override('outbox_lease', 2, group='engine')
    CONF.set_override('outbox_poll_interval', 0.2, group='engine')
    CONF.set_override('action_lease', 3, group='executor')
    db_api.dispose()
    rpc_base.cleanup()
    clients.reset()
    outbox.reset()
    db_cli.upgrade('head')
    comps = [components.build(name) for name in component_names]
    for c in comps:
        c.start()
    try:
        yield EngineEnv(backend)
    finally:
        for c in reversed(comps):
            c.stop()
        outbox.reset()
        rpc_base.cleanup()
        clients.reset()
        db_api.dispose()
        db.drop()
        shutil.rmtree(tmp, ignore_errors=True)
        CONF.clear_override('connection', group='database')
        CONF.clear_override('transport_url')


@pytest.fixture(scope='module', params=['sqlite', 'postgresql', 'mysql'])
def engine_env(request) -> Iterator[EngineEnv]:
    with in_process_engine(request.param) as env:
        yield env
