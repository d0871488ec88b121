"""The corpus against an engine and an executor in this process."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from oslo_config import cfg

from mistral.context import default_context
from mistral.db import api as db_api
from mistral.db import models
from mistral.engine import engine as engine_mod
from mistral.tests.functional.corpus import driver
from mistral.tests.functional.engine.conftest import EngineEnv

CONF = cfg.CONF


def _store_workbook(text: str, namespace: str) -> None:
    # The API's own code path, so workbook entities are named and cut the
    # way the deployed part stores them.
    from mistral.api.controllers.v2 import spec_parser
    from mistral.api.controllers.v2 import workbook as workbook_ctl

    spec = spec_parser.parser().parse_workbook(text)
    with db_api.transaction() as s:
        workbook_ctl._store(s, default_context(), spec, namespace,
                            'private', update=False)


def _time(value: Any) -> str | None:
    # The API's format: whole seconds, UTC.
    return value.strftime('%Y-%m-%d %H:%M:%S') if value else None


class EmbeddedDriver(driver.Driver):
    def __init__(self, env: EngineEnv) -> None:
        self.env = env
        self.engine = engine_mod.Engine()
        self.ctx = default_context()
        self._overrides: list[tuple[str, str]] = []

    def define(self, case: dict[str, Any]) -> None:
        for extra in case.get('extra') or []:
            self._define(extra, extra.get('namespace', ''))
        self._define(case, case['namespace'])

    def _define(self, spec: dict[str, Any], namespace: str) -> None:
        if spec.get('actions'):
            self.env.create_actions(spec['actions'], namespace=namespace)
        if spec.get('workbook'):
            _store_workbook(spec['workbook'], namespace)
        if spec.get('workflows'):
            self.env.create_workflows(spec['workflows'],
                                      namespace=namespace)

    def apply_conf(self, conf: dict[str, dict[str, Any]]) -> None:
        for group, opts in conf.items():
            for name, value in opts.items():
                CONF.set_override(name, value, group=group)
                self._overrides.append((name, group))

    def clear_conf(self) -> None:
        for name, group in self._overrides:
            CONF.clear_override(name, group=group)
        self._overrides = []

    def start(self, case: dict[str, Any]) -> str:
        params = dict(case.get('params') or {})
        ex = self.env.start(case['start'], case.get('input') or {},
                            wf_namespace=case['namespace'], **params)
        return ex['id']

    def execution(self, ex_id: str) -> dict[str, Any]:
        wf = self.env.execution(ex_id)
        return {'state': wf.state, 'state_info': wf.state_info,
                'output': wf.output}

    def tasks(self, ex_id: str) -> list[dict[str, Any]]:
        return [{'id': t.id, 'name': t.name, 'state': t.state,
                 'state_info': t.state_info, 'published': t.published,
                 'runtime_context': t.runtime_context,
                 'started_at': _time(t.started_at),
                 'finished_at': _time(t.finished_at)}
                for t in self.env.tasks(ex_id)]

    def action_ids(self, task_id: str, running: bool = False) -> list[str]:
        ax = models.ActionExecution
        stmt = sa.select(ax.id).where(ax.task_execution_id == task_id)
        if running:
            # An async action is ready for its result once the executor
            # has said it is async.
            stmt = stmt.where(ax.state == 'RUNNING', ax.is_sync.is_(False))
        with db_api.read_session() as s:
            return list(s.execute(stmt).scalars())

    def pause(self, ex_id: str) -> None:
        self.engine.pause_workflow(self.ctx, ex_id)

    def resume(self, ex_id: str, env: dict | None) -> None:
        self.engine.resume_workflow(self.ctx, ex_id, env=env)

    def stop(self, ex_id: str, state: str, msg: str | None) -> None:
        self.engine.stop_workflow(self.ctx, ex_id, state, msg)

    def rerun(self, task_id: str, reset: bool, env: dict | None) -> None:
        self.engine.rerun_workflow(self.ctx, task_id, reset=reset, env=env)

    def skip(self, task_id: str) -> None:
        self.engine.rerun_workflow(self.ctx, task_id, skip=True)

    def complete_action(self, action_id: str, output: Any,
                        error: bool, cancel: bool = False) -> None:
        result = {'error': output} if error else {'data': output}
        if cancel:
            result = {'cancel': True}
        self.engine.on_action_complete(self.ctx, action_id, result)
