"""Each metric moves when its hook is driven."""

from __future__ import annotations

import datetime
import time
import types

import pytest

from mistral.db import api as db_api
from mistral.engine import notifications
from mistral.handoff import outbox
from mistral.metrics import hooks
from mistral.utils import log_context
from mistral.utils import timeutils


def _run(session, state='RUNNING', wf_id='wf-1'):
    wf_ex = types.SimpleNamespace(id=wf_id, state=state)
    return types.SimpleNamespace(session=session, wf_ex=wf_ex)


def test_workflow_started_and_finished_count_after_commit(db, delta):
    started = delta('mistral_workflow_executions_started_total')
    failed = delta('mistral_workflow_executions_finished_total',
                   state='ERROR')
    with db_api.transaction() as s:
        hooks.workflow_event(_run(s), notifications.WORKFLOW_LAUNCHED)
        hooks.workflow_event(_run(s, 'ERROR'), notifications.WORKFLOW_FAILED)
        # Not yet: the transaction may still be retried or rolled back.
        assert started() == 0 and failed() == 0
    assert started() == 1
    assert failed() == 1


def test_rolled_back_changes_are_not_counted(db, delta):
    started = delta('mistral_workflow_executions_started_total')
    with pytest.raises(RuntimeError):
        with db_api.transaction() as s:
            hooks.workflow_event(_run(s), notifications.WORKFLOW_LAUNCHED)
            raise RuntimeError('deadlock')
    assert started() == 0


def test_paused_workflow_is_not_finished(db, delta):
    paused = delta('mistral_workflow_executions_finished_total',
                   state='PAUSED')
    with db_api.transaction() as s:
        hooks.workflow_event(_run(s, 'PAUSED'), notifications.WORKFLOW_PAUSED)
    assert paused() == 0


def test_task_transitions_by_state(db, delta):
    running = delta('mistral_task_transitions_total', state='RUNNING')
    success = delta('mistral_task_transitions_total', state='SUCCESS')
    with db_api.transaction() as s:
        run = _run(s)
        for state, event in (('RUNNING', notifications.TASK_LAUNCHED),
                             ('SUCCESS', notifications.TASK_SUCCEEDED),
                             ('RUNNING', notifications.TASK_LAUNCHED)):
            hooks.task_event(run, types.SimpleNamespace(id='t', state=state),
                             event)
    assert running() == 2
    assert success() == 1


def test_notifications_call_the_hooks(db, delta, monkeypatch):
    """The engine's event functions feed the metrics (no publishers)."""
    monkeypatch.setattr(notifications, '_emit', lambda *a, **k: None)
    success = delta('mistral_task_transitions_total', state='SUCCESS')
    task_fields = ('name', 'state_info', 'type', 'project_id', 'created_at',
                   'updated_at', 'started_at', 'finished_at')
    task = types.SimpleNamespace(id='t', state='SUCCESS',
                                 **dict.fromkeys(task_fields))
    wf_fields = ('workflow_name', 'workflow_namespace', 'workflow_id')
    with db_api.transaction() as s:
        run = _run(s)
        run.wf_ex.__dict__.update(dict.fromkeys(wf_fields))
        notifications.task_event(run, task, notifications.TASK_SUCCEEDED)
    assert success() == 1


def test_engine_request_binds_ids_and_times_the_request(delta):
    seen = []

    class Engine:
        @hooks.engine_request
        def continue_task(self, ctx, task_ex_id, outbox_id=None):
            seen.append(log_context.current())

        @hooks.engine_request
        def pause_workflow(self, ctx, wf_ex_id):
            log_context.setdefault(task_id='learned')
            seen.append(log_context.current())

    count = delta('mistral_engine_request_duration_seconds_count',
                  method='continue_task')
    Engine().continue_task({}, 'task-1')
    Engine().pause_workflow({}, wf_ex_id='wf-9')
    assert seen[0]['task_id'] == 'task-1'
    assert seen[0]['execution_id'] is None
    assert seen[1] == {'execution_id': 'wf-9', 'task_id': 'learned',
                       'action_execution_id': None}
    # Nothing is left behind for the next request on this thread.
    assert log_context.current() == dict.fromkeys(log_context.FIELDS)
    assert count() == 1


def test_action_latency_by_mode_and_outcome(delta):
    ok = delta('mistral_action_latency_seconds_count', mode='inline',
               outcome='success')
    err = delta('mistral_action_latency_seconds_count', mode='executor',
                outcome='error')
    total = delta('mistral_action_latency_seconds_sum', mode='executor',
                  outcome='error')
    hooks.action_done('inline', time.perf_counter(), {'data': 1})
    hooks.action_done('executor', time.perf_counter() - 0.5,
                      {'error': 'boom'})
    assert ok() == 1
    assert err() == 1
    assert 0.5 <= total() < 5


def test_executor_times_claim_to_delivery(monkeypatch, delta):
    from mistral.executor import executor

    ex = executor.Executor()
    during = {}

    def run(*a):
        during['running'] = hooks.m.ACTIONS_RUNNING._value.get()
        during['ids'] = log_context.current()
        time.sleep(0.05)
        return {'data': 'x'}

    monkeypatch.setattr(ex, '_claim_many', lambda ids, *a: {
        i: {'name': 'std.noop', 'input': {}} for i in ids})
    monkeypatch.setattr(ex, '_run', run)
    monkeypatch.setattr(ex.results, 'report', lambda *a: None)
    count = delta('mistral_action_latency_seconds_count', mode='executor',
                  outcome='success')
    total = delta('mistral_action_latency_seconds_sum', mode='executor',
                  outcome='success')
    before = hooks.m.ACTIONS_RUNNING._value.get()
    ex.run_action({}, 'ax-1', 'std.noop', exec_ctx={
        'workflow_execution_id': 'wf-1', 'task_execution_id': 't-1'})
    assert count() == 1
    assert total() >= 0.05
    assert during['running'] == before + 1
    assert hooks.m.ACTIONS_RUNNING._value.get() == before
    assert during['ids'] == {'execution_id': 'wf-1', 'task_id': 't-1',
                             'action_execution_id': 'ax-1'}


def test_inline_actions_are_timed(delta):
    from mistral.actions import registry
    from mistral.engine import inline

    count = delta('mistral_action_latency_seconds_count', mode='inline',
                  outcome='error')
    desc = registry.find('std.fail', '')
    result = inline.run(desc, {'error_data': 'x'}, {}, {})
    assert 'error' in result
    assert count() == 1


def _row(target, seconds_ago):
    return {'id': 'r-%s' % target, 'target': target, 'method': 'm',
            'server': None, 'payload': {'ctx': {}, 'args': {}},
            'due_at': timeutils.utcnow()
            - datetime.timedelta(seconds=seconds_ago)}


def test_relay_records_send_lag_by_target(delta):
    def broken(*a):
        raise OSError('bus down')

    relay = outbox.Relay(senders={'notifier': lambda *a: None,
                                  'engine': lambda *a: None,
                                  'executor': broken})
    lagged = delta('mistral_outbox_send_lag_seconds_count',
                   target='notifier')
    lag = delta('mistral_outbox_send_lag_seconds_sum', target='notifier')
    slow = delta('mistral_outbox_send_lag_seconds_bucket',
                 target='notifier', le='1.0')
    engine = delta('mistral_outbox_send_lag_seconds_count', target='engine')
    failed = delta('mistral_outbox_send_lag_seconds_count',
                   target='executor')
    relay.deliver([_row('notifier', 3), _row('engine', 0),
                   _row('executor', 0)])
    relay._sent.clear()  # nothing to delete: no database here
    assert lagged() == 1
    assert 3 <= lag() < 10
    assert slow() == 0  # 3s late is above the 1s bucket
    assert engine() == 1
    assert failed() == 0  # not sent, not measured


def test_scheduler_records_lateness_of_delayed_rows(db, delta, conf):
    from mistral.scheduler import scheduler

    conf('enabled', False, group='cron_trigger')
    sent = []
    relay = outbox.Relay(senders={
        'engine': lambda ctx, method, server, args: sent.append(method)})
    batch = outbox.Batch()
    batch.add('engine', 'continue_task', {'task_ex_id': 't'},
              due_at=timeutils.utcnow() + datetime.timedelta(seconds=0.2))
    with db_api.transaction() as s:
        s.execute(outbox.sa.insert(outbox.models.OutboxMessage), batch.rows)
    time.sleep(0.5)
    count = delta('mistral_scheduler_lateness_seconds_count')
    total = delta('mistral_scheduler_lateness_seconds_sum')
    scheduler.Scheduler(relay=relay).run_once()
    assert sent == ['continue_task']
    assert count() == 1
    assert 0.3 <= total() < 10


def test_outbox_depth_is_sampled_at_most_every_interval(db, conf):
    conf('outbox_depth_interval', 60, group='metrics')
    now = timeutils.utcnow()
    batch = outbox.Batch()
    batch.add('engine', 'a', {})
    batch.add('engine', 'b', {})
    batch.add('engine', 'c', {}, due_at=now + datetime.timedelta(hours=1))
    with db_api.transaction() as s:
        s.execute(outbox.sa.insert(outbox.models.OutboxMessage), batch.rows)
    sampler = hooks._DepthSampler()
    sampler.maybe_sample()
    assert hooks.m.OUTBOX_DEPTH.labels('due')._value.get() == 2
    assert hooks.m.OUTBOX_DEPTH.labels('delayed')._value.get() == 1
    with db_api.transaction() as s:
        s.execute(outbox.sa.delete(outbox.models.OutboxMessage))
    sampler.maybe_sample()  # too soon: the gauge keeps the last sample
    assert hooks.m.OUTBOX_DEPTH.labels('due')._value.get() == 2
    sampler.sample()
    assert hooks.m.OUTBOX_DEPTH.labels('due')._value.get() == 0


def test_outbox_depth_is_not_sampled_when_metrics_are_off(db, conf,
                                                          monkeypatch):
    conf('enabled', False, group='metrics')
    sampler = hooks._DepthSampler()
    monkeypatch.setattr(sampler, 'sample', lambda: pytest.fail('sampled'))
    sampler.maybe_sample()


def test_results_per_transaction(delta):
    count = delta('mistral_action_results_per_transaction_count')
    total = delta('mistral_action_results_per_transaction_sum')
    small = delta('mistral_action_results_per_transaction_bucket', le='1.0')
    hooks.results_applied(1)
    hooks.results_applied(7)
    assert count() == 2
    assert total() == 8
    assert small() == 1
