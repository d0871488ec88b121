"""The metrics, on prometheus-client's default registry.

Labels are bounded sets (states, targets, modes, method names): action
names and ids never become labels, so the number of series stays fixed.
"""

from __future__ import annotations

import prometheus_client as prom

# Counters without their *_created twins: half the series, and Prometheus
# handles counter resets itself.
prom.disable_created_metrics()

# Actions take from a millisecond (std.noop inline) to hours (a long HTTP
# call), RPC lags from a millisecond to a lease (15s by default) or more.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
               5.0, 10.0, 30.0, 60.0, 300.0)

WORKFLOWS_STARTED = prom.Counter(
    'mistral_workflow_executions_started',
    'Workflow executions started (sub-workflows included).')
WORKFLOWS_FINISHED = prom.Counter(
    'mistral_workflow_executions_finished',
    'Workflow executions that finished, by final state.', ['state'])
TASK_TRANSITIONS = prom.Counter(
    'mistral_task_transitions',
    'Task executions entering a state (RUNNING when started, resumed or '
    're-run; SUCCESS, ERROR, CANCELLED, SKIPPED, PAUSED).', ['state'])
ACTION_LATENCY = prom.Histogram(
    'mistral_action_latency_seconds',
    'Action runs: executor from claim to result delivered to the engine, '
    'inline from start to result.', ['mode', 'outcome'],
    buckets=LATENCY_BUCKETS)
ACTIONS_RUNNING = prom.Gauge(
    'mistral_executor_actions_running',
    'Actions this executor process has claimed and not finished.')
# 1 to MAX_PER_MESSAGE (200) results.
BATCH_BUCKETS = (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 200)
RESULTS_PER_TRANSACTION = prom.Histogram(
    'mistral_action_results_per_transaction',
    'Results of workflow actions applied together in one transaction, by '
    'the executor that ran them or by an engine.', buckets=BATCH_BUCKETS)
ENGINE_REQUESTS = prom.Histogram(
    'mistral_engine_request_duration_seconds',
    'Engine RPC requests by method (transaction retries included).',
    ['method'], buckets=LATENCY_BUCKETS)
OUTBOX_SEND_LAG = prom.Histogram(
    'mistral_outbox_send_lag_seconds',
    'RPC queue lag: seconds from when an outbox message was due to when it '
    'was handed to the message bus, by target.', ['target'],
    buckets=LAG_BUCKETS)
SCHEDULER_LATENESS = prom.Histogram(
    'mistral_scheduler_lateness_seconds',
    'How late the scheduler sent delayed messages (policy delays, '
    'timeouts) after they fell due.', buckets=LAG_BUCKETS)
OUTBOX_DEPTH = prom.Gauge(
    'mistral_outbox_depth',
    'Outbox rows: "due" are waiting to be sent or acknowledged, "delayed" '
    'fall due later (sampled by the relay).', ['kind'])
