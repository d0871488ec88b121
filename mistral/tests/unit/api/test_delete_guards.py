"""A workflow still used by a trigger cannot be deleted.

The answer is a 400 naming the triggers, on every backend, instead of the
database's foreign key error; nothing is deleted.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db import models
from mistral.tests.unit.api import conftest as c
from mistral.utils import timeutils

# Foreign keys are enforced differently per backend.
pytestmark = pytest.mark.parametrize(
    'db', ['sqlite', 'postgresql', 'mysql'], indirect=True)

WB = """---
version: '2.0'
name: wb
workflows:
  w:
    tasks:
      t:
        action: std.noop
  unused:
    tasks:
      t:
        action: std.noop
"""


def _cron(app: Any, name: str, wf: str, wf_input: Any = None) -> str:
    return app.post_json('/v2/cron_triggers', {
        'name': name, 'workflow_name': wf, 'pattern': '0 0 1 1 *',
        'workflow_input': wf_input or {}}).json['id']


def _event(app: Any, name: str, wf_id: str) -> str:
    return app.post_json('/v2/event_triggers', {
        'name': name, 'workflow_id': wf_id, 'exchange': 'nova',
        'topic': 'notifications', 'event': name,
        'workflow_input': {'name': 'x'}}).json['id']


def _counts() -> dict[str, int]:
    with db_api.read_session() as session:
        return {m.__tablename__: session.execute(
            sa.select(sa.func.count()).select_from(m)).scalar()
            for m in (models.Workbook, models.WorkflowDefinition,
                      models.CronTrigger, models.EventTrigger)}


def test_workflow_used_by_triggers(app: Any) -> None:
    wf_id = c.create_wf(app).json['workflows'][0]['id']
    cron_id = _cron(app, 'ct1', 'wf1', {'name': 'x'})
    event_id = _event(app, 'et1', wf_id)
    before = _counts()
    r = app.delete('/v2/workflows/wf1', status=400)
    text = r.json['faultstring']
    assert r.json['faultcode'] == 'Client'
    assert text.startswith("Can't delete workflow 'wf1' [id=%s]" % wf_id)
    assert "cron trigger 'ct1' [id=%s]" % cron_id in text
    assert "event trigger 'et1' [id=%s]" % event_id in text
    assert 'FOREIGN KEY' not in text.upper()
    assert _counts() == before
    # By id too; once the cron trigger is gone only the event one counts.
    app.delete('/v2/cron_triggers/ct1', status=204)
    text = app.delete('/v2/workflows/' + wf_id,
                      status=400).json['faultstring']
    assert 'cron trigger' not in text
    assert "event trigger 'et1'" in text
    app.delete('/v2/event_triggers/' + event_id, status=204)
    app.delete('/v2/workflows/wf1', status=204)
    app.get('/v2/workflows/wf1', status=404)


def test_workbook_whose_workflow_is_triggered(app: Any) -> None:
    # Deleting a workbook deletes only the workbook (upstream): its
    # workflows stay, so a trigger on one of them is no obstacle ...
    app.post('/v2/workbooks', WB, headers={'Content-Type': 'text/plain'})
    cron_id = _cron(app, 'nightly', 'wb.w')
    app.delete('/v2/workbooks/wb', status=204)
    app.get('/v2/workflows/wb.w', status=200)
    assert app.get('/v2/cron_triggers/nightly').json['id'] == cron_id
    # ... but deleting the workflow itself still is.
    text = app.delete('/v2/workflows/wb.w', status=400).json['faultstring']
    assert "cron trigger 'nightly' [id=%s]" % cron_id in text
    app.delete('/v2/cron_triggers/nightly', status=204)
    app.delete('/v2/workflows/wb.w', status=204)


def test_trigger_of_another_project_is_not_named(app: Any) -> None:
    wf_id = c.create_wf(app).json['workflows'][0]['id']
    # A trigger another project made on this (public, say) workflow.
    now = timeutils.utcnow()
    with db_api.transaction() as session:
        session.add(models.EventTrigger(
            name='secret-name', workflow_id=wf_id, exchange='a', topic='b',
            event='c', project_id='other-project', scope='private',
            workflow_input={}, workflow_params={}, created_at=now))
    with db_api.read_session() as session:
        trigger_id = session.execute(
            sa.select(models.EventTrigger.id)).scalar()
    text = app.delete('/v2/workflows/wf1', status=400).json['faultstring']
    assert 'event trigger [id=%s] of another project' % trigger_id in text
    assert 'secret-name' not in text
    app.get('/v2/workflows/wf1', status=200)
