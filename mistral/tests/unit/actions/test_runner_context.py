"""runner.run outcomes and timeouts; build_action_context."""

from __future__ import annotations

import threading
import time

from mistral_lib import actions as ml_actions
from mistral_lib.actions import context as ml_context

from mistral.actions import context as action_context
from mistral.actions import runner


class Slow(ml_actions.Action):
    def __init__(self, seconds, done):
        self.seconds = seconds
        self.done = done

    def run(self, context):
        time.sleep(self.seconds)
        self.done.set()
        return 'finished'


class Boom(ml_actions.Action):
    def run(self, context):
        raise ValueError('it broke')

    def __repr__(self):
        return 'Boom action'


class AsyncBoom(Boom):
    def is_sync(self):
        return False


class AsyncErrorResult(ml_actions.Action):
    def run(self, context):
        return ml_actions.Result(error='nope')

    def is_sync(self):
        return False


class SeesContext(ml_actions.Action):
    def run(self, context):
        return {'token': context.security.auth_token,
                'wf': context.execution.workflow_execution_id}


def test_timeout_returns_at_deadline_and_thread_finishes(ctx):
    done = threading.Event()
    start = time.monotonic()
    res = runner.run(Slow(1.5, done), None, ctx, timeout=0.3)
    elapsed = time.monotonic() - start
    assert res == {'error': 'Timeout after 0.3 seconds'}
    assert elapsed < 1.0
    assert not done.is_set()
    assert done.wait(5)


def test_within_timeout(ctx):
    res = runner.run(Slow(0.05, threading.Event()), None, ctx, timeout=5)
    assert res == {'data': 'finished'}


def test_exception_text(ctx):
    assert runner.run(Boom(), None, ctx) == {'error': (
        "The action raised an exception [action=Boom action, "
        "action_ex_id=act-1, msg='it broke']")}
    assert runner.run(Boom(), None, ctx, timeout=5)['error'].startswith(
        'The action raised an exception [action=Boom action')


def test_async_failures_reported_at_once(ctx):
    assert 'it broke' in runner.run(AsyncBoom(), None, ctx)['error']
    assert runner.run(AsyncErrorResult(), None, ctx) == {'error': 'nope'}


def test_context_reaches_action(ctx):
    assert runner.run(SeesContext(), None, ctx, timeout=5) == {
        'data': {'token': 'tok', 'wf': 'wf-1'}}


def test_build_action_context_ignores_unknown_keys():
    c = action_context.build_action_context(
        {'auth_token': 't', 'project_id': 'p', 'project_name': 'pn',
         'user_name': 'u', 'auth_uri': 'http://ks', 'redelivered': True,
         'roles': ['admin'], 'request_id': 'req-1', 'is_admin': True},
        {'workflow_execution_id': 'w', 'task_execution_id': 't1',
         'action_execution_id': 'a', 'workflow_name': 'n',
         'callback_url': '/v2/action_executions/a', 'extra': 1})
    assert isinstance(c, ml_context.ActionContext)
    sec, ex = c.security, c.execution
    assert (sec.auth_token, sec.project_id, sec.project_name,
            sec.user_name, sec.auth_uri, sec.redelivered) == (
        't', 'p', 'pn', 'u', 'http://ks', True)
    assert (ex.workflow_execution_id, ex.task_execution_id,
            ex.action_execution_id, ex.workflow_name, ex.callback_url) == (
        'w', 't1', 'a', 'n', '/v2/action_executions/a')


def test_build_action_context_from_nothing():
    c = action_context.build_action_context(None, None)
    assert c.security.auth_token is None
    assert c.execution.workflow_execution_id is None
