"""The corpus against a deployment, through python-mistralclient."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from mistral.tests.functional.corpus import driver


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class DeployedDriver(driver.Driver):
    poll = 0.1

    def __init__(self, client: Any, db_url: str | None = None) -> None:
        self.client = client
        # The API does not show whether an action execution is async yet;
        # the database of the deployment does (see ``action_ids``).
        self._db = sa.create_engine(db_url) if db_url else None

    def define(self, case: dict[str, Any]) -> None:
        for extra in case.get('extra') or []:
            self._define(extra, extra.get('namespace', ''))
        self._define(case, case['namespace'])

    def _define(self, spec: dict[str, Any], namespace: str) -> None:
        if spec.get('actions'):
            self.client.actions.create(spec['actions'], namespace=namespace)
        if spec.get('workbook'):
            self.client.workbooks.create(spec['workbook'],
                                         namespace=namespace)
        if spec.get('workflows'):
            self.client.workflows.create(spec['workflows'],
                                         namespace=namespace)

    def start(self, case: dict[str, Any]) -> str:
        ex = self.client.executions.create(
            case['start'], namespace=case['namespace'],
            workflow_input=case.get('input') or None,
            **(case.get('params') or {}))
        return ex.id

    def execution(self, ex_id: str) -> dict[str, Any]:
        ex = self.client.executions.get(ex_id)
        return {'state': ex.state, 'state_info': ex.state_info,
                'output': _json(ex.output)}

    def tasks(self, ex_id: str) -> list[dict[str, Any]]:
        found = self.client.tasks.list(workflow_execution_id=ex_id)
        # created_at has whole seconds: the id breaks no ties in creation
        # order, so cases run here avoid depending on the order of runs of
        # one task within a second.
        found.sort(key=lambda t: (t.created_at, t.started_at or ''))
        return [{'id': t.id, 'name': t.name, 'state': t.state,
                 'state_info': t.state_info,
                 'published': _json(t.published),
                 'runtime_context': _json(t.runtime_context),
                 'started_at': t.started_at, 'finished_at': t.finished_at}
                for t in found]

    def action_ids(self, task_id: str, running: bool = False) -> list[str]:
        found = self.client.action_executions.list(
            task_execution_id=task_id)
        ids = [a.id for a in found if not running or a.state == 'RUNNING']
        if running and ids and self._db is not None:
            # A result sent before the executor has reported the action
            # as async is taken as a sync one (corpus bug 7): wait for it.
            with self._db.connect() as conn:
                async_ids = set(conn.execute(sa.text(
                    'SELECT id FROM action_executions_v2 WHERE '
                    'task_execution_id = :t AND is_sync = :f'),
                    {'t': task_id, 'f': False}).scalars())
            ids = [i for i in ids if i in async_ids]
        return ids

    def pause(self, ex_id: str) -> None:
        self.client.executions.update(ex_id, 'PAUSED')

    def resume(self, ex_id: str, env: dict | None) -> None:
        self.client.executions.update(ex_id, 'RUNNING', env=env)

    def stop(self, ex_id: str, state: str, msg: str | None) -> None:
        body = {'state': state}
        if msg:
            body['state_info'] = msg
        self.client.executions._update('/executions/%s' % ex_id, body)

    def rerun(self, task_id: str, reset: bool, env: dict | None) -> None:
        self.client.tasks.rerun(task_id, reset=reset, env=env)

    def skip(self, task_id: str) -> None:
        self.client.tasks._update('/tasks/%s' % task_id,
                                  {'id': task_id, 'state': 'SKIPPED'})

    def complete_action(self, action_id: str, output: Any,
                        error: bool, cancel: bool = False) -> None:
        if cancel:
            self.client.action_executions.update(action_id,
                                                 state='CANCELLED')
            return
        self.client.action_executions.update(
            action_id, state='ERROR' if error else 'SUCCESS',
            output=json.dumps(output))
