"""``[executor] type = local``: actions run in the engine process.

PostgreSQL and RabbitMQ with no executor process at all: one process runs
the API, the engine and the scheduler. Workflow actions, saved ad-hoc runs
and synchronous runs (``POST /v2/action_executions``) must all complete,
and the executor recorded for each action is the engine process's.
"""

from __future__ import annotations

import json
from typing import Iterator

import pytest
import sqlalchemy as sa

from mistral.tests.functional.harness import Deployment
from mistral.tests.functional.harness import wait_for

pytestmark = pytest.mark.functional

WORKFLOWS = """
version: '2.0'
local_wf:
  output:
    r: <% $.r %>
  tasks:
    nap:
      # Not run inline by the engine: it goes to the executor.
      action: std.sleep seconds=0
      on-success: [echo]
    echo:
      action: std.echo output=local
      # A target does not matter to the local executor (as upstream).
      target: nowhere
      publish:
        r: <% task().result %>
"""


@pytest.fixture(scope='module')
def dep() -> Iterator[Deployment]:
    with Deployment(db='postgresql', transport='rabbit',
                    processes=[['api', 'engine', 'scheduler']],
                    conf_overrides={'executor': {'type': 'local',
                                                 'workers': 4},
                                    'engine': {'outbox_lease': 2}}) as d:
        d.client().workflows.create(WORKFLOWS)
        yield d


def _executor_ids(dep: Deployment, wf_ex_id: str) -> list[str]:
    db = sa.create_engine(dep.db_url, poolclass=sa.pool.NullPool)
    with db.connect() as c:
        return list(c.execute(sa.text(
            'SELECT executor_id FROM action_executions_v2 '
            'WHERE workflow_execution_id = :wf'), {'wf': wf_ex_id}
        ).scalars())


def test_workflow_actions_run_in_the_engine_process(dep):
    client = dep.client()
    ex = client.executions.create('local_wf')
    wf = dep.wait_execution(ex.id, timeout=120)
    assert wf.state == 'SUCCESS', wf.state_info
    assert json.loads(wf.output) == {'r': 'local'}
    ids = _executor_ids(dep, ex.id)
    assert len(ids) == 2
    # The process group's engine host is p0; its executor id names it.
    assert all(i and i.endswith('@p0') for i in ids), ids


def test_ad_hoc_runs(dep):
    client = dep.client()
    sync = client.action_executions.create(
        'std.echo', {'output': 'now'}, run_sync=True, save_result=False)
    assert json.loads(sync.output) == {'result': 'now'}
    saved = client.action_executions.create(
        'std.sleep', {'seconds': 0}, save_result=True)

    def done():
        a = client.action_executions.get(saved.id)
        return a if a.state != 'RUNNING' else None

    a = wait_for(done, timeout=60, what='the saved run to finish',
                 logs=lambda: dep.logs(tail=60))
    assert a.state == 'SUCCESS'
    db = sa.create_engine(dep.db_url, poolclass=sa.pool.NullPool)
    with db.connect() as c:
        owner = c.execute(sa.text(
            'SELECT executor_id FROM action_executions_v2 WHERE id = :id'),
            {'id': saved.id}).scalar()
    assert owner and owner.endswith('@p0'), owner
