"""Metrics and log context of a real deployment: the embedded ``all``
process (SQLite, in-memory transport) with a metrics port per component.

Workflows run through python-mistralclient; the counters are read over
HTTP from the API's ``/metrics`` and from a component's metrics port.
"""

from __future__ import annotations

import re
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mistral.tests.functional import harness

WORKFLOWS = """---
version: '2.0'

metered:
  tasks:
    quick:
      action: std.noop
      on-success: [slow]
    slow:
      action: std.echo output="done" delay=0.1
      on-success: [later]
    later:
      action: std.noop
      wait-before: 1

metered_failing:
  tasks:
    boom:
      action: std.fail error_data="bad thing"
"""

COMPONENT_PORTS = ('engine', 'executor', 'scheduler', 'notifier',
                   'event_engine')


@pytest.fixture(scope='module')
def dep():
    ports = {c + '_port': harness.free_port() for c in COMPONENT_PORTS}
    with harness.Deployment(
            db='sqlite', transport='fake', processes=[['all']],
            conf_overrides={'metrics': ports,
                            'DEFAULT': {'debug': True}}) as d:
        d.metrics_ports = ports
        d.client().workflows.create(WORKFLOWS)
        yield d


def _scrape(url: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers['Content-Type'].startswith('text/plain')
        text = resp.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def _api_metrics(dep) -> dict[tuple[str, tuple], float]:
    return _scrape(dep.api_url.rsplit('/v2', 1)[0] + '/metrics')


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_workflow_runs_move_the_counters(dep):
    before = _api_metrics(dep)
    client = dep.client()
    ok = client.executions.create('metered')
    bad = client.executions.create('metered_failing')
    assert dep.wait_execution(ok.id).state == 'SUCCESS'
    assert dep.wait_execution(bad.id).state == 'ERROR'
    # Give the outbox depth sampler a chance too (every 5s at most).
    harness.wait_for(
        lambda: ('mistral_outbox_depth', (('kind', 'due'),))
        in _api_metrics(dep), 15, 'an outbox depth sample')
    after = _api_metrics(dep)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved('mistral_workflow_executions_started_total') == 2
    assert moved('mistral_workflow_executions_finished_total',
                 state='SUCCESS') == 1
    assert moved('mistral_workflow_executions_finished_total',
                 state='ERROR') == 1
    assert moved('mistral_task_transitions_total', state='RUNNING') >= 4
    assert moved('mistral_task_transitions_total', state='SUCCESS') == 3
    assert moved('mistral_task_transitions_total', state='ERROR') == 1
    # std.noop and std.fail run inline, std.echo with a delay in the
    # executor (claim to delivery: at least its 0.1s).
    assert moved('mistral_action_latency_seconds_count', mode='inline',
                 outcome='success') == 2
    assert moved('mistral_action_latency_seconds_count', mode='inline',
                 outcome='error') == 1
    assert moved('mistral_action_latency_seconds_count', mode='executor',
                 outcome='success') == 1
    assert moved('mistral_action_latency_seconds_sum', mode='executor',
                 outcome='success') >= 0.1
    # The executor applies the results of its actions itself (with the
    # engine's code, timed as an engine request).
    assert moved('mistral_engine_request_duration_seconds_count',
                 method='apply_results') >= 1
    # One result (std.echo's) in one transaction.
    assert moved('mistral_action_results_per_transaction_count') == 1
    assert moved('mistral_action_results_per_transaction_sum') == 1
    assert moved('mistral_engine_request_duration_seconds_count',
                 method='start_workflow') == 2
    assert moved('mistral_outbox_send_lag_seconds_count',
                 target='executor') >= 1
    # wait-before: 1 is a delayed message the scheduler sends when due.
    assert moved('mistral_scheduler_lateness_seconds_count') >= 1
    assert _value(after, 'mistral_executor_actions_running') == 0


def test_component_metrics_port_answers(dep):
    for component in COMPONENT_PORTS:
        port = dep.metrics_ports[component + '_port']
        samples = _scrape('http://127.0.0.1:%d/metrics' % port)
        # One process, one registry: every port shows every metric.
        assert ('mistral_executor_actions_running', ()) in samples
    assert 'engine metrics on http://127.0.0.1:%d/metrics' % (
        dep.metrics_ports['engine_port']) in dep.logs()


def test_log_lines_carry_execution_and_task_ids(dep):
    client = dep.client()
    ex = client.executions.create('metered')
    assert dep.wait_execution(ex.id).state == 'SUCCESS'
    slow = [t for t in client.tasks.list(workflow_execution_id=ex.id)
            if t.name == 'slow'][0]
    action = client.action_executions.list(task_execution_id=slow.id)[0]
    expected = '[wf=%s task=%s action=%s] Running std.echo' % (
        ex.id, slow.id, action.id)
    harness.wait_for(lambda: expected in dep.logs(), 10, expected,
                     logs=dep.logs)
    # The engine's own lines name the execution.
    assert re.search(r'\[wf=%s[^\]]*\] Workflow execution %s finished'
                     % (ex.id, ex.id), dep.logs()), dep.logs(tail=40)


def _free_base_port(span: int) -> int:
    """A port p with p .. p+span-1 all free right now."""
    import socket

    for _ in range(50):
        base = harness.free_port()
        socks = []
        try:
            for p in range(base, base + span):
                s = socket.socket()
                socks.append(s)
                s.bind(('127.0.0.1', p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError('no %d consecutive free ports' % span)


def test_one_process_per_component_each_on_its_base_port_offset():
    """PostgreSQL + RabbitMQ, api/engine/executor as separate processes:
    each component's metrics are its own process's, on base + offset."""
    base = _free_base_port(2)
    with harness.Deployment(
            db='postgresql', transport='rabbit',
            processes=[['api'], ['engine'], ['executor']],
            conf_overrides={'metrics': {'port': base}}) as d:
        client = d.client()
        client.workflows.create(WORKFLOWS)
        ex = client.executions.create('metered')
        assert d.wait_execution(ex.id).state == 'SUCCESS'
        engine = _scrape('http://127.0.0.1:%d/metrics' % base)
        executor = _scrape('http://127.0.0.1:%d/metrics' % (base + 1))
        api = _api_metrics(d)
    # The API process started the execution itself ([api]
    # start_workflows = here) and ran its first task's inline std.noop;
    # the executor ran std.echo; the engine ran the task after the
    # wait-before (a scheduler's message) and finished the execution.
    assert _value(api, 'mistral_workflow_executions_started_total') == 1
    assert _value(api, 'mistral_action_latency_seconds_count',
                  mode='inline', outcome='success') == 1
    assert _value(engine, 'mistral_workflow_executions_started_total') == 0
    assert _value(engine, 'mistral_workflow_executions_finished_total',
                  state='SUCCESS') == 1
    assert _value(engine, 'mistral_action_latency_seconds_count',
                  mode='inline', outcome='success') == 1
    assert _value(engine, 'mistral_action_latency_seconds_count',
                  mode='executor', outcome='success') == 0
    assert _value(executor, 'mistral_action_latency_seconds_count',
                  mode='executor', outcome='success') == 1
    assert _value(executor, 'mistral_workflow_executions_started_total') == 0
