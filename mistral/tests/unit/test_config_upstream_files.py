"""A configuration file written for upstream Mistral is read unchanged:
driverless database URLs, [keystone_authtoken] and [keystone] with
authentication off, and the options upstream documents that have no
effect here."""

from __future__ import annotations

import importlib.util

import pytest
from oslo_config import cfg

from mistral import config

CONF = cfg.CONF

HAS_MYSQLDB = importlib.util.find_spec('MySQLdb') is not None


@pytest.mark.parametrize('url,expected', [
    ('postgresql://u:p@db:5432/mistral',
     'postgresql+psycopg2://u:p@db:5432/mistral'),
    ('postgresql://u:p%40x@db/mistral?sslmode=require',
     'postgresql+psycopg2://u:p%40x@db/mistral?sslmode=require'),
    ('postgresql+psycopg2://u@db/m', 'postgresql+psycopg2://u@db/m'),
    ('postgresql+psycopg://u@db/m', 'postgresql+psycopg://u@db/m'),
    ('mysql+pymysql://u@db/m?charset=utf8', 'mysql+pymysql://u@db/m'
                                            '?charset=utf8'),
    ('sqlite:////var/lib/mistral/m.sqlite',
     'sqlite:////var/lib/mistral/m.sqlite'),
    ('', ''),
])
def test_database_url_with_driver(url, expected):
    assert config.database_url_with_driver(url) == expected


@pytest.mark.parametrize('scheme', ['mysql', 'mariadb'])
def test_plain_mysql_url_uses_pymysql_without_mysqlclient(scheme):
    url = '%s://u:p@db/mistral' % scheme
    mapped = config.database_url_with_driver(url)
    if HAS_MYSQLDB:
        assert mapped == url
    else:
        assert mapped == '%s+pymysql://u:p@db/mistral' % scheme


def test_upstream_config_file_is_read_as_is(tmp_path):
    conf = tmp_path / 'mistral.conf'
    conf.write_text(
        '[DEFAULT]\nscheduler_type = default\n'
        'expiration_token_duration = 60\n'
        'workflow_trace_log_name = wf_trace\n'
        'graceful_shutdown_timeout = 15\n'
        '[database]\nconnection = postgresql://mistral:pw@db/mistral\n'
        '[pecan]\nauth_enable = false\n'
        '[keystone_authtoken]\nwww_authenticate_uri = http://ks:5000/v3\n'
        'auth_type = password\nauth_url = http://ks:5000/v3\n'
        'memcached_servers = mc:11211\n'
        '[keystone]\ntimeout = 30\n'
        '[ssl]\nciphers = HIGH\nversion = TLSv1_2\n')
    try:
        config.parse_args(['--config-file', str(conf)])
        assert CONF.database.connection == (
            'postgresql+psycopg2://mistral:pw@db/mistral')
        # Read with authentication off, as upstream registers them.
        assert CONF.keystone_authtoken.www_authenticate_uri == (
            'http://ks:5000/v3')
        assert CONF.keystone_authtoken.memcached_servers == ['mc:11211']
        assert CONF.keystone.timeout == 30
        assert CONF.scheduler_type == 'default'
        assert CONF.expiration_token_duration == 60
        assert CONF.workflow_trace_log_name == 'wf_trace'
        assert CONF.graceful_shutdown_timeout == 15
        assert (CONF.ssl.ciphers, CONF.ssl.version) == ('HIGH', 'TLSv1_2')
    finally:
        CONF.clear_override('connection', group='database')
        config.parse_args([], default_config_files=[])


def test_generated_sample_lists_the_new_options():
    names = {(g or 'DEFAULT', o.name) for g, opts in config.list_opts()
             for o in opts}
    for item in [('DEFAULT', 'graceful_shutdown_timeout'),
                 ('DEFAULT', 'scheduler_type'),
                 ('DEFAULT', 'expiration_token_duration'),
                 ('DEFAULT', 'workflow_trace_log_name'),
                 ('ssl', 'ciphers'), ('ssl', 'version')]:
        assert item in names
