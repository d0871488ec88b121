"""Configuration options (oslo.config) and how the process reads them.

Every option the service reads is registered here (the action subsystem's
in :mod:`mistral.config.action_opts`) so that ``oslo-config-generator``
can list them through ``list_opts``. This package imports nothing of the
packages that read the options (they import it), so that it stays below
them all. Config is
parsed once per process by :func:`parse_args`; nothing else in the code base
keeps mutable global state besides ``CONF`` and plugin registries.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Iterable

import oslo_messaging
from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as logging
from oslo_messaging import transport as _msg_transport

from mistral import config_compat
from mistral.config import action_opts
from mistral.utils import log_context

CONF = cfg.CONF

SERVER_CHOICES = ('all', 'api', 'engine', 'executor', 'scheduler', 'periodic',
                  'notifier', 'event-engine')

server_opt = cfg.ListOpt(
        'server', default=['all'],
        help='Components to run: all or a comma separated list of '
             + ', '.join(SERVER_CHOICES[1:]) + '. "periodic" is an alias '
             'for "scheduler".')

default_opts = [
    cfg.StrOpt(
        'state_path',
        default=os.environ.get('MISTRAL_STATE_DIR',
                               os.path.join(os.path.expanduser('~'), '.local',
                                            'state', 'mistral')),
        sample_default='$MISTRAL_STATE_DIR or ~/.local/state/mistral',
        help='Directory for local state of the embedded default (the SQLite '
             'database file when [database] connection is not set).'),
    cfg.StrOpt('auth_type', default='keystone',
               choices=['keystone', 'keycloak-oidc'],
               help='Authentication type used when [pecan] auth_enable is '
                    'true.'),
    cfg.StrOpt('js_implementation', default='py_mini_racer',
               help='JavaScript engine used by std.javascript.'),
    # oslo.service's name and meaning, which upstream's launcher reads.
    cfg.IntOpt('graceful_shutdown_timeout', default=60, min=0,
               help='Seconds a stopping process (SIGTERM, SIGINT) lets '
                    'running actions finish before it hands them back '
                    '(safe-rerun actions go to another executor at once, '
                    'the others fail as when an executor dies) and exits. '
                    '0: wait for them however long they take.'),
    cfg.StrOpt('cpu_affinity', default='auto',
               help='Where a process that runs one component (mistral-server '
                    '--server executor, engine, api, ...) runs, on Linux: '
                    '"auto" keeps it on one CPU, the least busy one, looked '
                    'at again every few seconds; "off" leaves it to the '
                    'kernel; a list of CPU numbers (such as 0,2) keeps it '
                    'on those. The threads of one process pass one '
                    'interpreter lock between them at every database, '
                    'broker or network call, which costs far less CPU '
                    'within one CPU than across several; run more '
                    'processes to use more CPUs. A process that runs '
                    'several components is left to the kernel.'),
]

api_opts = [
    cfg.HostAddressOpt('host', default='0.0.0.0', help='API bind address.'),
    cfg.PortOpt('port', default=8989, help='API port.'),
    cfg.IntOpt('max_limit', default=1000, min=1,
               help='Largest page a list request may return.'),
    cfg.BoolOpt('allow_action_execution_deletion', default=False,
                help='Allow DELETE of completed ad-hoc action executions.'),
    cfg.StrOpt('validation_mode', default='mandatory',
               choices=['enabled', 'mandatory', 'disabled'],
               help='"mandatory": always validate definitions; "enabled": '
                    'validate unless skip_validation is given; "disabled": '
                    'never validate.'),
    cfg.BoolOpt('enable_info_endpoint', default=False,
                help='Serve /info from info_json_file_path.'),
    cfg.StrOpt('info_json_file_path', default='info.json',
               help='JSON file served by /info.'),
    cfg.IntOpt('api_workers', default=1, deprecated_for_removal=True,
               help='Ignored: run mistral.wsgi:application under a WSGI '
                    'server to scale the API.'),
    cfg.IntOpt('threads', default=16, min=1,
               help='Worker threads of the built-in (cheroot) API server.'),
    cfg.BoolOpt('enable_ssl_api', default=False,
                help='Serve the built-in API server over HTTPS with the '
                     'certificate of the [ssl] group.'),
    cfg.StrOpt('start_workflows', default='here',
               choices=['here', 'engine'],
               help='Where POST /v2/executions starts a workflow. "here": '
                    'in the API process, with the engine\'s code, in one '
                    'transaction; the first actions go to the executors '
                    'from there (no round trip through the broker to an '
                    'engine and back). Only mistral-server\'s API does '
                    'this, and only with [executor] type and [notifier] '
                    'type remote; under a WSGI server, and otherwise, '
                    'the API asks an engine over RPC, as "engine" '
                    'always does.'),
]

# The names of oslo.service's [ssl] options.
ssl_opts = [
    cfg.StrOpt('cert_file', help='Certificate (PEM) of the HTTPS API.'),
    cfg.StrOpt('key_file', help='Private key (PEM) of cert_file.'),
    cfg.StrOpt('ca_file', help='CA certificates (PEM); when set, clients '
                               'must present a certificate they signed.'),
]

pecan_opts = [
    cfg.StrOpt('root', default='mistral.api.controllers.root.RootController',
               help='Pecan root controller.'),
    cfg.ListOpt('modules', default=['mistral.api'], help='Pecan modules.'),
    cfg.BoolOpt('debug', default=False, help='Pecan debug mode.'),
    cfg.BoolOpt('auth_enable', default=True,
                help='Require authentication on the API. The embedded '
                     'default (no config file) turns it off.'),
]

engine_opts = [
    cfg.StrOpt('host', default='0.0.0.0', help='Name of this engine.'),
    cfg.StrOpt('topic', default='mistral_engine', help='Engine RPC topic.'),
    cfg.StrOpt('version', default='1.0', help='Engine RPC API version.'),
    cfg.IntOpt('execution_field_size_limit_kb', default=1024,
               help='Largest input/output/params/published value in KB '
                    '(-1: unlimited).'),
    cfg.IntOpt('workers', default=4, min=1,
               help='Engine transactions one engine process runs at once '
                    '(its RPC server has twice as many threads). Engine '
                    'work is mostly Python under one GIL between short '
                    'database waits: more at once contend for the GIL and '
                    'cost CPU.'),
    cfg.StrOpt('merge_strategy', default='replace',
               choices=['replace', 'merge'],
               help='How published variables merge into a task context.'),
    cfg.BoolOpt('start_subworkflows_via_rpc', default=False,
                help='Accepted for compatibility; sub-workflows always start '
                     'in the transaction of their parent task.'),
    cfg.BoolOpt('inline_builtin_actions', default=True,
                help='Run std.noop, std.echo (without delay) and std.fail '
                     'inside the engine transaction of their task instead '
                     'of sending them to an executor.'),
    cfg.BoolOpt('coalesce_writes', default=True,
                help='On PostgreSQL (psycopg2), an engine transaction '
                     'sends its writes that nothing reads back (results, '
                     'new tasks and actions, outbox rows) together, in one '
                     'message before its next statement or its commit, '
                     'instead of one round trip each. False: one by one.'),
    cfg.IntOpt('inline_actions_per_transaction', default=500, min=0,
               help='Most actions one engine transaction runs inline; '
                    'the rest run inline in later engine transactions. 0 '
                    'sends every action to executors.'),
    cfg.IntOpt('outbox_lease', default=15, min=1,
               help='Seconds a written but unsent message stays with the '
                    'process that wrote it before any relay may send it.'),
    cfg.FloatOpt('outbox_poll_interval', default=2.0, min=0.05,
                 help='Seconds between sweeps for messages that a crashed '
                      'process left unsent.'),
]

executor_opts = [
    cfg.StrOpt('type', default='remote', choices=['remote', 'local'],
               help='"remote": actions run in executor processes; "local": '
                    'in the engine process.'),
    cfg.StrOpt('host', default='0.0.0.0', help='Name of this executor.'),
    cfg.StrOpt('topic', default='mistral_executor',
               help='Executor RPC topic.'),
    cfg.StrOpt('version', default='1.0', help='Executor RPC API version.'),
    # 64: as many actions at once as upstream's executor runs (one per
    # thread of its RPC server's pool, executor_thread_pool_size = 64).
    cfg.IntOpt('workers', default=64, min=1,
               help='Threads that run actions in one executor process.'),
    cfg.IntOpt('action_lease', default=30, min=2,
               help='Seconds an executor owns a claimed action; it renews '
                    'the lease while the action runs. An action whose lease '
                    'ran out belongs to a dead executor.'),
    cfg.BoolOpt('apply_results', default=True,
                help='An executor applies the results of the actions it ran '
                     'itself (the engine\'s code, in the executor process, '
                     'many results to a transaction), and runs the next '
                     'action of a workflow itself when a result leads to '
                     'exactly one. False: results are sent to the engines, '
                     'which apply them.'),
    cfg.IntOpt('result_appliers', default=1, min=1,
               help='Threads that apply the results of actions in one '
                    'executor process (with apply_results). Each takes '
                    'every result waiting when it is free, of up to 200 '
                    'workflow executions, into one transaction; a second '
                    'thread mostly contends for the interpreter lock with '
                    'the first and with the action threads (on the '
                    'benchmark machine, 40 small workflows of std.http '
                    'calls ran 20-30% faster with one than with four).'),
    cfg.IntOpt('actions_per_message', default=20, min=1,
               help='Most actions one message from an engine hands to an '
                    'executor; the executor that receives it claims them '
                    'together. Actions of one engine transaction (a '
                    'with-items task, a fan-out) go in as few messages as '
                    'this allows; smaller messages spread them over more '
                    'executors.'),
]

scheduler_opts = [
    cfg.StrOpt('host', default='0.0.0.0', help='Name of this scheduler.'),
    cfg.StrOpt('topic', default='mistral_scheduler',
               help='Scheduler RPC topic.'),
    cfg.IntOpt('batch_size', default=100, min=1,
               help='Most jobs one scheduler claims at once.'),
    cfg.IntOpt('job_lease', default=30, min=1,
               help='Seconds a claimed job belongs to its scheduler.'),
    cfg.FloatOpt('max_sleep', default=5.0, min=0.05,
                 help='Longest a scheduler sleeps when nothing is due; '
                      'at least this often it looks for messages that a '
                      'dead process claimed and never sent.'),
]

notifier_opts = [
    cfg.StrOpt('type', default='remote', choices=['remote', 'local'],
               help='Where notifications are published.'),
    cfg.StrOpt('host', default='0.0.0.0', help='Name of this notifier.'),
    cfg.StrOpt('topic', default='mistral_notifier',
               help='Notifier RPC topic.'),
    cfg.ListOpt('notify', item_type=json.loads, default=[],
                help='Publishers added to every execution\'s '
                     'params.notify, as JSON objects, e.g. '
                     '{"type": "webhook", "url": "http://h/p", '
                     '"event_types": ["WORKFLOW_SUCCEEDED"]}.'),
    cfg.IntOpt('workers', default=8, min=1,
               help='Threads that run publishers in one notifier.'),
    cfg.FloatOpt('retry_timeout', default=600.0, min=0,
                 help='Seconds a failing delivery (a webhook that refuses '
                      'connections, times out or answers 5xx, 408 or 429) '
                      'is retried after its first failure before it is '
                      'given up and logged; later events of the same '
                      'execution and publisher wait for it meanwhile, so '
                      'that they arrive in order. 0 gives up at the first '
                      'failure.'),
    cfg.FloatOpt('retry_backoff', default=1.0, min=0.01,
                 help='Seconds before the first retry of a failed '
                      'delivery; each further retry waits twice as long, '
                      'up to retry_max_backoff.'),
    cfg.FloatOpt('retry_max_backoff', default=30.0, min=0.01,
                 help='Longest wait between two retries of a delivery.'),
    cfg.FloatOpt('delivery_lease', default=120.0, min=1,
                 help='Seconds a notifier owns a delivery it is '
                      'publishing; a delivery whose notifier died is '
                      'published by another one after that. Keep it above '
                      'the longest publisher timeout.'),
    cfg.FloatOpt('max_sleep', default=5.0, min=0.05,
                 help='Longest a notifier waits before looking for '
                      'deliveries it was not told about (queued while it '
                      'was down, or left by a notifier that died).'),
]

event_engine_opts = [
    cfg.StrOpt('host', default='0.0.0.0', help='Name of this event engine.'),
    cfg.StrOpt('topic', default='mistral_event_engine',
               help='Event engine RPC topic.'),
    cfg.StrOpt('listener_pool_name', default='events',
               help='Pool name of the notification listeners.'),
    cfg.StrOpt('event_definitions_cfg_file',
               default='/etc/mistral/event_definitions.yaml',
               help='Event definitions file.'),
    cfg.IntOpt('reconcile_interval', default=60, min=1,
               help='Seconds between re-reading the stored event '
                    'triggers (create/update/delete messages apply at '
                    'once; this catches a message that was lost).'),
]

cron_trigger_opts = [
    cfg.BoolOpt('enabled', default=True, help='Run cron triggers.'),
    cfg.IntOpt('execution_interval', default=1, min=1,
               help='Accepted for compatibility: schedulers sleep until the '
                    'next trigger is due.'),
    cfg.BoolOpt('run_in_api', default=False, deprecated_for_removal=True,
                help='Accepted for compatibility: cron triggers fire in '
                     'the scheduler (periodic) processes.'),
]

expiration_opts = [
    cfg.IntOpt('evaluation_interval',
               help='Minutes between purges of finished root executions '
                    '(unset: never purge).'),
    cfg.IntOpt('older_than', default=0, min=0,
               help='Purge finished root executions older than this many '
                    'minutes (0: no age limit).'),
    cfg.IntOpt('max_finished_executions', default=0, min=0,
               help='Keep at most this many finished root executions, '
                    'the newest (0: no limit).'),
    cfg.IntOpt('batch_size', default=0, min=0,
               help='Most executions deleted in one transaction '
                    '(0: all).'),
    cfg.ListOpt('ignored_states', default=[],
                item_type=cfg.types.String(
                    choices=['SUCCESS', 'ERROR', 'CANCELLED']),
                help='Finished states that are never purged.'),
]

yaql_opts = [
    cfg.IntOpt('limit_iterators', default=-1,
               help='Largest number of items a YAQL iterator may produce.'),
    cfg.IntOpt('memory_quota', default=-1,
               help='Largest number of bytes a YAQL expression may use.'),
    cfg.BoolOpt('convert_input_data', default=True,
                help='Convert input data to immutable YAQL types.'),
    cfg.BoolOpt('convert_output_data', default=True,
                help='Convert YAQL results back to plain Python types.'),
    cfg.BoolOpt('convert_tuples_to_lists', default=True,
                help='Turn tuples in results into lists.'),
    cfg.BoolOpt('convert_sets_to_lists', default=False,
                help='Turn sets in results into lists.'),
    cfg.BoolOpt('iterable_dicts', default=False,
                help='Let dictionaries be iterated in YAQL.'),
    cfg.StrOpt('keyword_operator', default='=>',
               help='YAQL keyword-argument operator.'),
    cfg.BoolOpt('allow_delegates', default=False,
                help='Allow YAQL delegates.'),
]

expressions_opts = [
    cfg.ListOpt('allowed_languages', default=['yaql', 'jinja'],
                help='Expression languages workflows may use.'),
]

healthcheck_opts = [
    cfg.BoolOpt('enabled', default=False,
                help='Serve /healthcheck (oslo.middleware, no '
                     'authentication). It answers 503 unless the database '
                     'and the message bus are reachable; the checks are '
                     'the mistral_database and mistral_messaging backends '
                     'of [healthcheck] backends.'),
]

keycloak_oidc_opts = [
    cfg.StrOpt('auth_url',
               help='Keycloak base URL, e.g. https://keycloak:8443/auth. '
                    'Used with [DEFAULT] auth_type = keycloak-oidc.'),
    cfg.StrOpt('certfile',
               help='Client certificate for the connection to Keycloak.'),
    cfg.StrOpt('keyfile',
               help='Private key of the client certificate.'),
    cfg.StrOpt('cafile',
               help='CA bundle that verifies the Keycloak server '
                    'certificate.'),
    cfg.BoolOpt('insecure', default=False,
                help='Do not verify the Keycloak server certificate.'),
    cfg.StrOpt('user_info_endpoint_url',
               default='/realms/%s/protocol/openid-connect/userinfo',
               help='Userinfo endpoint; %s is the realm. An absolute URL '
                    '(http...) makes every token be checked by calling '
                    'it; a relative one (the default) makes tokens be '
                    'checked locally with the realm public key.'),
    cfg.StrOpt('public_cert_url',
               default='/realms/%s/protocol/openid-connect/certs',
               help='Path under auth_url of the realm\'s public keys '
                    '(JWKS); %s is the realm.'),
    cfg.StrOpt('keycloak_iss',
               help='Expected token issuer (iss claim); unset: not '
                    'checked.'),
    cfg.IntOpt('public_key_cache_time', default=300, min=0,
               help='Seconds a realm public key is reused before it is '
                    'fetched again (an unknown key id is fetched at '
                    'once).'),
]

metrics_opts = [
    cfg.BoolOpt('enabled', default=True,
                help='Expose Prometheus metrics: /metrics on the API '
                     '(no authentication) and, for the other components, '
                     'the metrics ports below.'),
    cfg.HostAddressOpt('host', default='127.0.0.1',
                       help='Address the metrics ports of non-API '
                            'components listen on.'),
    cfg.PortOpt('port', default=0,
                help='Base metrics port of non-API components: engine '
                     'port+0, executor +1, scheduler +2, notifier +3, '
                     'event-engine +4. 0: no metrics port unless the '
                     'component\'s own <component>_port option is set.'),
    cfg.PortOpt('engine_port',
                help='Metrics port of the engine (overrides port+0).'),
    cfg.PortOpt('executor_port',
                help='Metrics port of the executor (overrides port+1).'),
    cfg.PortOpt('scheduler_port',
                help='Metrics port of the scheduler (overrides port+2).'),
    cfg.PortOpt('notifier_port',
                help='Metrics port of the notifier (overrides port+3).'),
    cfg.PortOpt('event_engine_port',
                help='Metrics port of the event engine (overrides '
                     'port+4).'),
    cfg.FloatOpt('outbox_depth_interval', default=5.0, min=1.0,
                 help='Seconds between two samples of the outbox depth '
                      '(a COUNT on the outbox table by the relay).'),
]

# Hard limits on what clients send (doc/source/admin/reliability.rst).
limits_opts = [
    cfg.IntOpt('max_definition_size_kb', default=1024, min=1,
               help='Largest workflow, workbook or action definition (and '
                    'YAML text given to yaml_parse()), in KiB of UTF-8.'),
    cfg.IntOpt('max_nesting_depth', default=100, min=10,
               help='Deepest nesting of lists and mappings in a '
                    'definition or a JSON request body.'),
    cfg.IntOpt('max_request_body_kb', default=10240, min=1,
               help='Largest request body the API reads, in KiB (413 '
                    'above).'),
    cfg.IntOpt('max_with_items_length', default=10000, min=1,
               help='Most items one with-items task may iterate over.'),
    cfg.IntOpt('max_fan_out', default=1000, min=1,
               help='Most tasks one transition (on-success, on-error, '
                    'on-complete, next) may name.'),
    cfg.IntOpt('max_name_length', default=255, min=1,
               help='Longest name of a workflow, task, workbook or ad-hoc '
                    'action in a definition (other stored strings are '
                    'bounded by their database column).'),
    cfg.FloatOpt('expression_timeout', default=30.0, min=0.1,
                 help='Seconds one expression may compute (wall clock).'),
    cfg.IntOpt('max_expression_result_kb', default=10240, min=1,
               help='Largest string or collection an expression may '
                    'build, in KiB (estimated).'),
]

_GROUPS = (
    (None, [server_opt] + default_opts),
    ('api', api_opts),
    ('ssl', ssl_opts),
    ('pecan', pecan_opts),
    ('engine', engine_opts),
    ('executor', executor_opts),
    ('scheduler', scheduler_opts),
    ('notifier', notifier_opts),
    ('event_engine', event_engine_opts),
    ('cron_trigger', cron_trigger_opts),
    ('execution_expiration_policy', expiration_opts),
    ('yaql', yaql_opts),
    ('expressions', expressions_opts),
    ('healthcheck', healthcheck_opts),
    ('keycloak_oidc', keycloak_oidc_opts),
    ('metrics', metrics_opts),
    ('limits', limits_opts),
)

# Upstream's options that our mechanisms replace: accepted, no effect.
_GROUPS += config_compat.GROUPS

# The web console (mistral.api.console) served by the API process.
console_opts = [
    cfg.BoolOpt('enabled', default=True,
                help='Serve the web console at /ui/ on the API port.'),
]

# Listed after the groups above, in this order, as before they moved here.
_LATER_GROUPS: tuple[tuple[str | None, list[cfg.Opt]], ...] = (
    tuple(action_opts.GROUPS) + (('console', console_opts),))

CONF.register_cli_opt(server_opt)
for _group, _opts in _GROUPS + _LATER_GROUPS:
    CONF.register_opts([o for o in _opts if o is not server_opt],
                       group=_group)

# 20 connections at most per process: a deployment has several processes
# per database server.
db_options.set_defaults(CONF, max_pool_size=5, max_overflow=15)
logging.register_options(CONF)
# Execution/task/action ids in every log line (mistral.utils.log_context).
log_context.install(CONF)
CONF.register_opts(_msg_transport._transport_opts)
# [keystone_authtoken] (keystonemiddleware registers it on import) is read
# even with authentication off: by the action context (its
# www_authenticate_uri and cafile, as upstream) and by plugins such as
# mistral-extra. [keystone] holds keystoneauth session options, as upstream.
import keystonemiddleware.auth_token  # noqa: E402,F401
from keystoneauth1 import loading as _ks_loading  # noqa: E402

_ks_loading.register_session_conf_options(CONF, 'keystone')
# [profiler] (enabled, hmac_keys, ...): osprofiler traces API requests.
try:
    from osprofiler import opts as _profiler_opts
    _profiler_opts.set_defaults(CONF)
except ImportError:  # optional, as upstream
    _profiler_opts = None
oslo_messaging.set_transport_defaults('mistral')


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Options for oslo-config-generator (entry point oslo.config.opts)."""
    return [(group, list(opts)) for group, opts in _GROUPS + _LATER_GROUPS]


def _env_config_args() -> list[str]:
    args: list[str] = []
    cfg_file = os.environ.get('MISTRAL_CONFIG_FILE')
    cfg_dir = os.environ.get('MISTRAL_CONFIG_DIR')
    if cfg_file:
        args += ['--config-file', cfg_file]
    if cfg_dir:
        args += ['--config-dir', cfg_dir]
    return args


def parse_args(argv: Iterable[str] | None = None,
               default_config_files: list[str] | None = None) -> None:
    """Parse the command line and config files once for this process.

    ``--config-file`` options are moved to the front so that options given
    on the command line win over the files. ``MISTRAL_CONFIG_FILE`` and
    ``MISTRAL_CONFIG_DIR`` add a file and a directory. When no file is found
    at all, the embedded default applies: SQLite under ``state_path``, the
    in-memory transport and no API authentication.
    """
    from mistral import version

    args = list(argv or [])
    front, rest = [], []
    it = iter(args)
    for a in it:
        if a in ('--config-file', '--config-dir'):
            front += [a, next(it, '')]
        elif a.startswith(('--config-file=', '--config-dir=')):
            front.append(a)
        else:
            rest.append(a)
    args = _env_config_args() + front + rest

    CONF(args=args, project='mistral', version=version.version_string(),
         default_config_files=default_config_files)
    _apply_embedded_defaults()
    # The pure core reads its limits and expression settings through
    # interfaces of its own; give it this configuration.
    from mistral.config import core_settings
    core_settings.install(CONF)
    global _parsed
    _parsed = True


_parsed = False


def is_parsed() -> bool:
    """True once :func:`parse_args` ran in this process."""
    return _parsed


def is_embedded() -> bool:
    """True when no configuration file or directory was found."""
    return not CONF.config_file and not CONF.config_dir


# SQLAlchemy 2.1 made psycopg (3) the driver of a plain postgresql:// URL;
# upstream Mistral, on SQLAlchemy 2.0, got psycopg2 for the same URL, and
# psycopg2 is the driver this package ships and tests. A plain mysql:// or
# mariadb:// URL means mysqlclient (MySQLdb), a C extension: PyMySQL, which
# this package ships, stands in when it is not installed.
_PLAIN_URL_DRIVERS = {
    'postgresql': ('psycopg2', True),
    'mysql': ('pymysql', False),
    'mariadb': ('pymysql', False),
}


def database_url_with_driver(url: str) -> str:
    """``url`` with the driver this package ships when it names none.

    ``postgresql://`` always becomes ``postgresql+psycopg2://`` (what it
    meant for upstream); ``mysql://`` and ``mariadb://`` become
    ``+pymysql`` only when mysqlclient is not installed. Other URLs are
    returned unchanged.
    """
    scheme, sep, rest = (url or '').partition('://')
    if not sep or scheme not in _PLAIN_URL_DRIVERS:
        return url
    driver, always = _PLAIN_URL_DRIVERS[scheme]
    if not always:
        import importlib.util

        if importlib.util.find_spec('MySQLdb') is not None:
            return url
    return '%s+%s://%s' % (scheme, driver, rest)


def _apply_database_driver() -> None:
    url = CONF.database.connection
    mapped = database_url_with_driver(url)
    if mapped != url:
        CONF.set_override('connection', mapped, group='database')


def _apply_embedded_defaults() -> None:
    _apply_database_driver()
    if not CONF.database.connection:
        os.makedirs(CONF.state_path, exist_ok=True)
        path = os.path.join(CONF.state_path, 'mistral.sqlite')
        CONF.set_default('connection', 'sqlite:///' + path, group='database')
    loc = CONF.get_location('transport_url')
    if loc is None or loc.location == cfg.Locations.opt_default:
        CONF.set_default('transport_url', 'fake:/')
    if is_embedded():
        CONF.set_default('auth_enable', False, group='pecan')


def servers() -> list[str]:
    """The components this process was asked to run, validated."""
    names: list[str] = []
    for raw in itertools.chain.from_iterable(
            s.split(',') for s in CONF.server):
        name = raw.strip()
        if not name:
            continue
        if name not in SERVER_CHOICES:
            raise ValueError(
                'Unknown server "%s"; choose from: %s'
                % (name, ', '.join(SERVER_CHOICES)))
        if name == 'periodic':
            name = 'scheduler'
        if name == 'all':
            return ['api', 'engine', 'executor', 'scheduler', 'notifier',
                    'event-engine']
        if name not in names:
            names.append(name)
    return names
