"""Cron trigger answers as upstream Mistral 23.0.0's.

Each expectation was observed on a live upstream server (noauth,
PostgreSQL) with the same requests.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from mistral.services import triggers
from mistral.tests.unit.api import conftest as c
from mistral.utils import timeutils

WF = """version: '2.0'
wf:
  input:
    - a: 1
  tasks:
    t1:
      action: std.noop
"""

REQ = """version: '2.0'
req:
  input:
    - need
  tasks:
    t1:
      action: std.noop
"""


def _time(minutes: int) -> str:
    return (timeutils.utcnow() + datetime.timedelta(minutes=minutes)
            ).strftime('%Y-%m-%d %H:%M')


def _post(app: Any, status: int = 201, **body: Any) -> Any:
    body.setdefault('workflow_name', 'wf')
    return app.post_json('/v2/cron_triggers', body, status=status).json


@pytest.fixture
def wf_app(app: Any) -> Any:
    c.create_wf(app, WF)
    return app


def test_one_time_trigger_has_upstreams_pattern(wf_app: Any) -> None:
    app = wf_app
    first = _time(10)
    made = _post(app, name='once', first_execution_time=first)
    # Upstream stores its "never" pattern and one execution left.
    assert made['pattern'] == triggers.ONE_TIME_PATTERN == '0 0 30 2 0'
    assert made['remaining_executions'] == 1
    assert made['first_execution_time'] == first + ':00'
    assert made['next_execution_time'] == first + ':00'
    got = app.get('/v2/cron_triggers/once').json
    assert got['pattern'] == '0 0 30 2 0'
    listed = app.get('/v2/cron_triggers?fields=pattern').json
    assert listed['cron_triggers'][0]['pattern'] == '0 0 30 2 0'
    by_pattern = app.get('/v2/cron_triggers', {'pattern': '0 0 30 2 0'})
    assert [t['name'] for t in by_pattern.json['cron_triggers']] == ['once']


# (body, accepted a second time with another name?) as upstream: its
# unique constraint over workflow, input, params, pattern, count and first
# time, where a null in any of them never conflicts.
DUPLICATES = [
    ({'first_execution_time': 10}, False),
    ({'first_execution_time': 10, 'remaining_executions': 1}, False),
    ({'pattern': '0 1 * * *'}, True),
    ({'pattern': '0 2 * * *', 'remaining_executions': 3}, True),
    ({'pattern': '0 3 * * *', 'first_execution_time': 20}, True),
    ({'pattern': '0 4 * * *', 'remaining_executions': 3,
      'first_execution_time': 20}, False),
]


@pytest.mark.parametrize('body,again', DUPLICATES)
def test_duplicates_as_upstream(wf_app: Any, body: dict[str, Any],
                                again: bool) -> None:
    body = dict(body)
    if 'first_execution_time' in body:
        body['first_execution_time'] = _time(body['first_execution_time'])
    _post(wf_app, name='one', **body)
    if again:
        _post(wf_app, name='two', **body)
    else:
        r = _post(wf_app, status=409, name='two', **body)
        assert 'Duplicate entry for cron trigger' in r['faultstring']
    # Another input is another trigger, always.
    _post(wf_app, name='three', workflow_input={'a': 2}, **body)


def test_same_workflow_by_name_and_by_id(wf_app: Any) -> None:
    # The identifier is the workflow id when both are given; with neither
    # count nor first time the same pattern twice is accepted.
    wf_id = wf_app.get('/v2/workflows/wf').json['id']
    c.create_wf(wf_app, REQ)
    _post(wf_app, name='one', workflow_id=wf_id, pattern='0 7 * * *')
    made = _post(wf_app, name='two', workflow_name='req', workflow_id=wf_id,
                 pattern='0 7 * * *')
    assert made['workflow_name'] == 'wf'


def test_workflow_of_another_namespace(app: Any) -> None:
    # Looked up by name in the default namespace only; by id anywhere.
    made = c.create_wf(app, WF, namespace='ns1').json['workflows'][0]
    r = _post(app, status=404, name='t', pattern='0 8 * * *')
    assert r['faultstring'] == \
        'Workflow not found [workflow_identifier=wf, namespace=]'
    r = _post(app, status=400, name='t', pattern='0 8 * * *',
              workflow_namespace='ns1')
    assert r['faultstring'] == \
        'Unknown attribute for argument cron_trigger: workflow_namespace'
    made = _post(app, name='t', pattern='0 8 * * *', workflow_id=made['id'])
    assert made['workflow_name'] == 'wf'


def test_input_errors_name_only_what_is_wrong(wf_app: Any) -> None:
    c.create_wf(wf_app, REQ)
    r = _post(wf_app, status=400, name='t', workflow_name='req',
              pattern='0 9 * * *')
    assert r['faultstring'] == \
        "Invalid input [name=req, class=DirectWorkflowSpec, missing=['need']]"
    r = _post(wf_app, status=400, name='t', pattern='0 9 * * *',
              workflow_input={'zz': 1})
    assert r['faultstring'] == \
        "Invalid input [name=wf, class=DirectWorkflowSpec, unexpected=['zz']]"
    r = _post(wf_app, status=400, name='t', workflow_name='req',
              pattern='0 9 * * *', workflow_input={'zz': 1})
    assert r['faultstring'] == (
        "Invalid input [name=req, class=DirectWorkflowSpec, "
        "missing=['need'], unexpected=['zz']]")
