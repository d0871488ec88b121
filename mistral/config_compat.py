"""Upstream options whose mechanism this implementation replaces (and
upstream's ``[engine] memory_limit_mb``, which works as upstream's).

An operator's existing ``mistral.conf`` keeps working unchanged: these
options are registered (so they appear in the sample, in ``oslo-config``
tooling and in ``CONF``), accepted and documented, but they change nothing.
Each help text says what does the job instead.
"""

from __future__ import annotations

from oslo_config import cfg

_NO_EFFECT = 'Accepted for compatibility; has no effect: '

engine_opts = [
    cfg.IntOpt('memory_limit_mb', default=0, min=0,
               help='Address space limit (RLIMIT_AS) of a process that runs '
                    'the engine, in MiB; 0 means no limit. As upstream, a '
                    'safety net against runaway expressions.'),
    cfg.StrOpt('engine', default='default',
               help=_NO_EFFECT + 'there is one engine implementation.'),
    cfg.IntOpt('execution_integrity_check_delay', default=20,
               help=_NO_EFFECT + 'no execution can be left RUNNING by a '
                    'lost message (transactional outbox, leases), so there '
                    'is no integrity checker.'),
    cfg.IntOpt('execution_integrity_check_batch_size', default=5, min=1,
               help=_NO_EFFECT + 'see execution_integrity_check_delay.'),
    cfg.IntOpt('action_definition_cache_time', default=60,
               help=_NO_EFFECT + 'action definitions are looked up per '
                    'request; stored ad-hoc actions take effect at once.'),
]

scheduler_opts = [
    cfg.FloatOpt('fixed_delay', default=1, min=0.1,
                 help=_NO_EFFECT + 'schedulers sleep until the next job is '
                      'due and are woken when an earlier one is added.'),
    cfg.FloatOpt('random_delay', default=0, min=0,
                 help=_NO_EFFECT + 'see fixed_delay.'),
    cfg.IntOpt('in_memory_workers', default=10, min=1,
               help=_NO_EFFECT + 'jobs run on the scheduler\'s own thread.'),
    cfg.IntOpt('captured_job_timeout', default=30, min=1,
               help=_NO_EFFECT + 'claimed jobs have leases: see '
                    '[scheduler] job_lease.'),
    cfg.IntOpt('pickup_job_after', default=60, min=1,
               help=_NO_EFFECT + 'see captured_job_timeout.'),
]

action_heartbeat_opts = [
    cfg.IntOpt('max_missed_heartbeats', default=15, min=0,
               help=_NO_EFFECT + 'executors renew a lease on each running '
                    'action instead of sending heartbeats; see [executor] '
                    'action_lease.'),
    cfg.IntOpt('check_interval', default=20, min=0,
               help=_NO_EFFECT + 'see max_missed_heartbeats.'),
    cfg.IntOpt('batch_size', default=10, min=0,
               help=_NO_EFFECT + 'see max_missed_heartbeats.'),
    cfg.IntOpt('first_heartbeat_timeout', default=3600, min=0,
               help=_NO_EFFECT + 'see max_missed_heartbeats.'),
]

action_logging_opts = [
    cfg.BoolOpt('hide_response_body', default=False,
                help=_NO_EFFECT + 'std.http never logs response bodies.'),
    cfg.BoolOpt('hide_request_body', default=False,
                help=_NO_EFFECT + 'std.http never logs request bodies.'),
    cfg.ListOpt('sensitive_headers', default=[],
                help=_NO_EFFECT + 'std.http never logs headers.'),
]

context_versioning_opts = [
    cfg.BoolOpt('enabled', default=True,
                help=_NO_EFFECT + 'published values always carry the '
                     'version of the task that published them, and joins '
                     'merge by version.'),
    cfg.BoolOpt('hash_version_keys', default=True,
                help=_NO_EFFECT + 'see enabled.'),
]

profiler_opts = [
    cfg.StrOpt('profiler_log_name', default='profiler_trace',
               help='Logger name for the osprofiler trace of requests '
                    '(as upstream).'),
]

# [DEFAULT]
default_opts = [
    cfg.StrOpt('scheduler_type', default='legacy',
               choices=['legacy', 'default'],
               help=_NO_EFFECT + 'there is one scheduler, which keeps its '
                    'jobs in the database.'),
    cfg.IntOpt('expiration_token_duration', default=30,
               help=_NO_EFFECT + 'trust-scoped tokens are not refreshed '
                    'ahead of their expiry.'),
    cfg.StrOpt('workflow_trace_log_name', default='workflow_trace',
               help=_NO_EFFECT + 'there is no separate workflow trace '
                    'log; task and action ids are in every log line.'),
]

# oslo.service's TLS options upstream's API server reads, next to the
# certificate options in mistral.config.
ssl_opts = [
    cfg.StrOpt('ciphers',
               help='OpenSSL cipher list of the built-in HTTPS API server '
                    '([api] enable_ssl_api); unset: Python\'s defaults.'),
    cfg.StrOpt('version',
               help=_NO_EFFECT + 'the HTTPS API negotiates the newest TLS '
                    'version both sides support.'),
]

GROUPS = (
    (None, default_opts),
    ('ssl', ssl_opts),
    ('engine', engine_opts),
    ('scheduler', scheduler_opts),
    ('action_heartbeat', action_heartbeat_opts),
    ('action_logging', action_logging_opts),
    ('context_versioning', context_versioning_opts),
    ('profiler', profiler_opts),
)
