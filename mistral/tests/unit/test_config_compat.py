"""Every option of upstream's configuration is accepted (section 1.13 of
the reference), and [engine] memory_limit_mb works."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from oslo_config import cfg

from mistral import config

CONF = cfg.CONF

# Upstream 23.0.0 options by group, as an operator's mistral.conf has them.
UPSTREAM = {
    # rpc_response_timeout is oslo.messaging's, registered with the
    # transport.
    'DEFAULT': ['server', 'auth_type', 'transport_url'],
    'api': ['host', 'port', 'max_limit', 'allow_action_execution_deletion',
            'enable_ssl_api', 'validation_mode', 'enable_info_endpoint',
            'info_json_file_path'],
    'pecan': ['root', 'modules', 'debug', 'auth_enable'],
    'engine': ['engine', 'host', 'topic', 'version',
               'execution_field_size_limit_kb', 'memory_limit_mb',
               'execution_integrity_check_delay',
               'execution_integrity_check_batch_size',
               'action_definition_cache_time', 'start_subworkflows_via_rpc',
               'merge_strategy'],
    'executor': ['type', 'host', 'topic', 'version'],
    'scheduler': ['fixed_delay', 'random_delay', 'batch_size',
                  'in_memory_workers', 'captured_job_timeout',
                  'pickup_job_after'],
    'cron_trigger': ['enabled', 'execution_interval'],
    'event_engine': ['host', 'listener_pool_name', 'topic',
                     'event_definitions_cfg_file'],
    'notifier': ['type', 'host', 'topic', 'notify'],
    'execution_expiration_policy': ['evaluation_interval', 'older_than',
                                    'max_finished_executions', 'batch_size',
                                    'ignored_states'],
    'action_heartbeat': ['max_missed_heartbeats', 'check_interval',
                         'batch_size', 'first_heartbeat_timeout'],
    'action_logging': ['hide_response_body', 'hide_request_body',
                       'sensitive_headers'],
    'context_versioning': ['enabled', 'hash_version_keys'],
    'action_providers': ['allowlist', 'denylist'],
    'legacy_action_provider': ['load_action_plugins',
                               'load_action_generators',
                               'only_builtin_actions', 'allowlist',
                               'denylist'],
    'yaql': ['limit_iterators', 'memory_quota', 'convert_input_data',
             'convert_output_data', 'convert_tuples_to_lists',
             'convert_sets_to_lists', 'iterable_dicts', 'keyword_operator',
             'allow_delegates'],
    'keycloak_oidc': ['auth_url', 'certfile', 'keyfile', 'cafile',
                      'insecure', 'user_info_endpoint_url',
                      'public_cert_url', 'keycloak_iss'],
    'healthcheck': ['enabled'],
}


@pytest.mark.parametrize('group', sorted(UPSTREAM))
def test_upstream_options_are_registered(group):
    generated = {g or 'DEFAULT': {o.name for o in opts}
                 for g, opts in config.list_opts()}
    config.parse_args([], default_config_files=[])
    missing = []
    for name in UPSTREAM[group]:
        section = CONF if group == 'DEFAULT' else getattr(CONF, group)
        try:
            getattr(section, name)
        except cfg.NoSuchOptError:
            missing.append(name)
    assert missing == [], 'not registered in [%s]: %s' % (group, missing)
    # And they are in the generated sample (DEFAULT has library options
    # registered elsewhere).
    if group != 'DEFAULT':
        merged = set()
        for g, opts in config.list_opts():
            if (g or 'DEFAULT') == group:
                merged |= {o.name for o in opts}
        assert set(UPSTREAM[group]) <= merged, generated.get(group)


def test_upstream_config_file_starts_the_config(tmp_path):
    conf = tmp_path / 'mistral.conf'
    conf.write_text('[action_heartbeat]\nmax_missed_heartbeats = 3\n'
                    'check_interval = 5\n[scheduler]\nfixed_delay = 2\n'
                    '[context_versioning]\nenabled = false\n'
                    '[engine]\nexecution_integrity_check_delay = -1\n')
    config.parse_args(['--config-file', str(conf)])
    assert CONF.action_heartbeat.max_missed_heartbeats == 3
    assert CONF.scheduler.fixed_delay == 2
    assert CONF.context_versioning.enabled is False


def test_memory_limit_caps_the_address_space():
    code = (
        'import resource\n'
        'from mistral.service import components\n'
        'components.limit_memory(600)\n'
        'soft, _ = resource.getrlimit(resource.RLIMIT_AS)\n'
        'print(soft // (1024 * 1024))\n'
        'try:\n'
        '    block = bytearray(1024 * 1024 * 1024)\n'
        '    print("allocated")\n'
        'except MemoryError:\n'
        '    print("MemoryError")\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, env=dict(os.environ), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ['600', 'MemoryError']
