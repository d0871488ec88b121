"""The engine's execution events become notifications only for a
publisher that asked for them, and only then is their payload built."""

from __future__ import annotations

import datetime
import types

import pytest

from mistral.engine import notifications

WHEN = datetime.datetime(2026, 12, 7, 9, 0, 0)


class _Untouchable:
    """A row whose fields other than those given must not be read."""

    def __init__(self, **known) -> None:
        self.__dict__.update(known)

    def __getattr__(self, name: str):
        raise AssertionError('the event read %s' % name)


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(notifications.metrics, 'task_event',
                        lambda *a: None)
    monkeypatch.setattr(notifications.metrics, 'workflow_event',
                        lambda *a: None)
    monkeypatch.setattr(notifications.deliveries, 'enqueue',
                        lambda *a: calls.append(a))
    return calls


def _run(wf_ex) -> types.SimpleNamespace:
    return types.SimpleNamespace(session=None, ctx={}, wf_ex=wf_ex)


def test_without_a_publisher_no_payload_is_built(enqueued):
    run = _run(_Untouchable(id='wf', params={}, state='RUNNING'))
    notifications.task_event(run, _Untouchable(id='t'),
                             notifications.TASK_SUCCEEDED)
    notifications.workflow_event(run, notifications.WORKFLOW_SUCCEEDED)
    assert enqueued == []


def test_a_publisher_gets_the_events_it_asked_for_whole(enqueued):
    hook = {'type': 'webhook', 'url': 'http://127.0.0.1:9/',
            'event_types': [notifications.TASK_SUCCEEDED]}
    wf_ex = types.SimpleNamespace(
        id='wf', params={'notify': [hook]}, workflow_name='wf-name',
        workflow_namespace='', workflow_id='wf-def', state='SUCCESS',
        name='wf-name', state_info=None, project_id='p',
        task_execution_id=None, root_execution_id=None, created_at=WHEN,
        updated_at=WHEN)
    task = types.SimpleNamespace(
        id='t', name='first', state='SUCCESS', state_info=None,
        type='ACTION', project_id='p', created_at=WHEN, updated_at=WHEN,
        started_at=WHEN, finished_at=None)
    run = _run(wf_ex)
    notifications.task_event(run, task, notifications.TASK_SUCCEEDED)
    # Not among the hook's event types.
    notifications.workflow_event(run, notifications.WORKFLOW_SUCCEEDED)

    assert len(enqueued) == 1
    _, _, root_id, ex_id, data, event, _, publishers = enqueued[0]
    assert (root_id, ex_id, event, publishers) == (
        'wf', 't', notifications.TASK_SUCCEEDED, [hook])
    assert data == {
        'id': 't', 'name': 'first', 'workflow_execution_id': 'wf',
        'workflow_name': 'wf-name', 'workflow_namespace': '',
        'workflow_id': 'wf-def', 'state': 'SUCCESS', 'state_info': None,
        'type': 'ACTION', 'project_id': 'p',
        'created_at': '2026-12-07 09:00:00',
        'updated_at': '2026-12-07 09:00:00',
        'started_at': '2026-12-07 09:00:00', 'finished_at': None,
        'event': notifications.TASK_SUCCEEDED}
