"""Tests of the functional-test harness itself.

Most of them run a stand-in for ``mistral-server`` (``_FAKE_SERVER``) so
that they check the harness, not the service: real databases, vhosts,
config files, process groups, signals and error messages. One test runs
the real ``mistral-server`` with a bogus ``--server`` name to check the
message of a process that exits early.
"""

from __future__ import annotations

import configparser
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from mistral.tests.functional import harness
from mistral.tests.functional.harness import BackendUnavailable
from mistral.tests.functional.harness import Deployment
from mistral.tests.functional.harness import DeploymentError

# The stand-in for mistral-server: stdlib only, so that the many processes
# these tests start cost little. It behaves like mistral-server as far as
# the harness can tell: one process per component when given several (the
# launcher forks them into its own process group), GET /v2/ and
# /v2/workflows for the api, a "ready" line per component, exit 0 on
# SIGTERM. A [fake] section in the config changes that: crash = <component>,
# ready = false, ignore_sigterm = true.
_FAKE_SERVER = r"""
import argparse, configparser, http.server, json, os, signal, subprocess
import sys, threading, time


def print(text, flush=True):
    # One write per line: the components share the log file, and the
    # builtin's separate writes of text and newline could interleave.
    os.write(1, (text + '\n').encode())


ALL = ['api', 'engine', 'executor', 'scheduler', 'notifier', 'event-engine']
parser = argparse.ArgumentParser()
parser.add_argument('--config-file', action='append', default=[])
parser.add_argument('--server', default='all')
args = parser.parse_args()
conf = configparser.ConfigParser(interpolation=None)
conf.read(args.config_file)
opts = dict(conf['fake']) if conf.has_section('fake') else {}
names = []
for n in args.server.split(','):
    for c in ALL if n == 'all' else ['scheduler'] if n == 'periodic' else [n]:
        if c not in names:
            names.append(c)
if set(names) - set(ALL):
    print('Unknown server %s' % sorted(set(names) - set(ALL)), flush=True)
    sys.exit(2)
ignore_term = opts.get('ignore_sigterm') == 'true'

if len(names) > 1:
    print('launcher pid=%d' % os.getpid(), flush=True)
    cfg = [a for f in args.config_file for a in ('--config-file', f)]
    children = [subprocess.Popen(sys.orig_argv[:3] + cfg + ['--server', n])
                for n in names]

    def on_term(*_):
        for c in children:
            c.terminate()
        for c in children:
            c.wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, signal.SIG_IGN if ignore_term else on_term)
    while True:
        time.sleep(1)

name = names[0]
signal.signal(signal.SIGTERM, signal.SIG_IGN if ignore_term
              else lambda *_: sys.exit(0))
print('component %s pid=%d' % (name, os.getpid()), flush=True)
if opts.get('crash') == name:
    print('crashing on purpose', flush=True)
    sys.exit(3)
if name == 'api':
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = {} if self.path in ('/v2', '/v2/') else None
            if self.path.startswith('/v2/workflows'):
                body = {'workflows': []}
            data = json.dumps(body or {}).encode()
            self.send_response(404 if body is None else 200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(
        (conf['api']['host'], int(conf['api']['port'])), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
if opts.get('ready', 'true') == 'true':
    print('%s ready' % name, flush=True)
while True:
    time.sleep(1)
"""
FAKE = [sys.executable, '-c', _FAKE_SERVER]
DB_KINDS = ['sqlite', 'postgresql', 'mysql']


def fake(**kwargs) -> Deployment:
    kwargs.setdefault('transport', 'fake')
    kwargs.setdefault('start_timeout', 30)
    return Deployment(server_cmd=FAKE, **kwargs)


def _pids_in_log(dep: Deployment, i: int) -> list[int]:
    return [int(line.rsplit('=', 1)[1])
            for line in dep.processes[i].log().splitlines()
            if line.startswith(('component ', 'launcher ')) and 'pid=' in line]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie child of ours still answers kill(0); it is dead all the same.
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(') ', 1)[1].startswith('Z')
    except FileNotFoundError:
        return True


def test_components_expand_all_and_aliases():
    assert harness.components(['all']) == list(harness.ALL_COMPONENTS)
    assert harness.components(['periodic', 'api', 'scheduler']) == [
        'scheduler', 'api']


def test_fake_transport_cannot_span_processes():
    with pytest.raises(ValueError, match='fake transport'):
        Deployment(transport='fake', processes=[['api'], ['engine']])


def test_conf_overrides_must_be_sections():
    with pytest.raises(TypeError, match='section'):
        Deployment(conf_overrides={'debug': True})


def test_config_file_content():
    overrides = {'DEFAULT': {'debug': True},
                 'engine': {'topic': 'my_engine'},
                 'executor': {'host': 'mine', 'workers': 3},
                 'cron_trigger': {'enabled': False}}
    with fake(db='sqlite', processes=[['all']],
              conf_overrides=overrides) as dep:
        conf = configparser.ConfigParser(interpolation=None)
        conf.read(dep.conf_path)
        assert conf['DEFAULT']['transport_url'] == 'fake:/'
        assert conf['DEFAULT']['debug'] == 'true'
        assert conf['database']['connection'] == dep.db_url
        assert dep.db_url.startswith('sqlite:///' + dep.tmpdir)
        assert conf['api']['host'] == '127.0.0.1'
        port = int(conf['api']['port'])
        assert dep.api_url == 'http://127.0.0.1:%d/v2' % port
        assert conf['pecan']['auth_enable'] == 'false'
        assert conf['engine']['topic'] == 'my_engine'
        assert conf['executor']['workers'] == '3'
        assert conf['cron_trigger']['enabled'] == 'false'

        # The per-process file names the hosts, except where overridden.
        own = configparser.ConfigParser(interpolation=None)
        own.read(dep.processes[0].argv[-3])
        assert own['engine']['host'] == 'p0'
        assert not own.has_option('executor', 'host')
        assert own['api']['port'] == str(port)
        assert dep.processes[0].argv[-2:] == ['--server', 'all']

        # The CLI environment talks to us, not to Keystone.
        assert dep.env['OS_MISTRAL_URL'] == dep.api_url
        assert not [k for k in dep.env if k.startswith('OS_AUTH')]
        tmpdir = dep.tmpdir
    assert not os.path.exists(tmpdir)


@pytest.mark.parametrize('db', DB_KINDS)
def test_database_created_upgraded_and_dropped(db):
    with fake(db=db) as dep:
        engine = sa.create_engine(dep.db_url)
        try:
            with engine.connect() as conn:
                tables = sa.inspect(conn).get_table_names()
                version = conn.execute(sa.text(
                    'SELECT version_num FROM mistral_alembic_version')
                ).scalar()
        finally:
            engine.dispose()
        assert 'workflow_executions_v2' in tables or len(tables) > 3
        assert version
        if db != 'sqlite':
            assert dep.db_name.startswith(harness.RESOURCE_PREFIX)
            assert dep.db_name in harness.make_database(
                db, dep.tmpdir).list_all()
        name, tmpdir = dep.db_name, dep.tmpdir
    if db == 'sqlite':
        assert not os.path.exists(name)
    else:
        assert name not in harness.make_database(db, tmpdir).list_all()


def test_two_deployments_are_isolated():
    with fake(db='postgresql', transport='rabbit',
              processes=[['api']]) as a, \
            fake(db='postgresql', transport='rabbit',
                 processes=[['api']]) as b:
        assert a.db_name != b.db_name
        assert a.vhost != b.vhost
        assert a.api_url != b.api_url
        assert a.transport_url.endswith('/' + a.vhost)


def test_rabbit_vhost_created_usable_and_deleted():
    import kombu

    procs = [['api'], ['engine', 'executor'], ['periodic']]
    with fake(db='sqlite', transport='rabbit', processes=procs) as dep:
        assert dep.vhost in harness.RabbitVhost.list_all()
        url = dep.transport_url.replace('rabbit://', 'amqp://', 1)
        with kombu.Connection(url, connect_timeout=10) as conn:
            conn.ensure_connection(max_retries=1)
        assert len(dep.processes) == 3
        assert [p.api_port is not None for p in dep.processes] == [
            True, False, False]
        vhost = dep.vhost
    assert vhost not in harness.RabbitVhost.list_all()


def test_client_and_cli_reach_the_api():
    with fake(db='sqlite', processes=[['api']]) as dep:
        assert dep.client().workflows.list() == []
        out = dep.cli('workflow-list', '-f', 'value')
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == ''


def test_every_process_gets_its_own_api_port():
    with fake(db='sqlite', transport='rabbit',
              processes=[['api'], ['api', 'engine']]) as dep:
        assert len(set(dep.api_urls)) == 2
        assert dep.processes[1].ready()


def test_kill_group_and_restart():
    with fake(db='sqlite', processes=[['engine', 'executor']]) as dep:
        pids = _pids_in_log(dep, 0)
        assert len(pids) == 3  # the launcher and two components
        dep.kill(0, signal.SIGKILL)
        assert dep.processes[0].wait(10) == -signal.SIGKILL
        harness.wait_for(lambda: all(_gone(p) for p in pids), 10,
                         'the children to die')
        dep.start(0)
        assert dep.processes[0].alive()
        assert dep.processes[0].starts == 2
        assert dep.processes[0].log().count('=== start:') == 2
        new = [p for p in _pids_in_log(dep, 0) if p not in pids]
        assert len(new) == 3
    assert dep.exit_codes == [0]


def test_sigterm_stops_cleanly_and_stragglers_are_killed():
    with fake(db='sqlite', processes=[['engine', 'executor']]) as dep:
        pids = _pids_in_log(dep, 0)
        assert dep.stop() == [0]
        assert all(_gone(p) for p in pids)
        dep.start(0)
    assert dep.exit_codes == [0]

    with fake(db='sqlite', processes=[['engine', 'executor']],
              conf_overrides={'fake': {'ignore_sigterm': True}},
              stop_timeout=1) as dep:
        pids = _pids_in_log(dep, 0)
        t0 = time.monotonic()
    assert dep.exit_codes == [-signal.SIGKILL]
    assert time.monotonic() - t0 < 15
    harness.wait_for(lambda: all(_gone(p) for p in pids), 10,
                     'the stragglers to die')


def test_process_that_exits_early_fails_with_its_log():
    dep = fake(db='postgresql', transport='rabbit',
               processes=[['api'], ['engine']],
               conf_overrides={'fake': {'crash': 'engine'}})
    with pytest.raises(DeploymentError) as err:
        with dep:
            pass
    msg = str(err.value)
    assert 'process 1 (--server engine) exited with code 3' in msg
    assert 'crashing on purpose' in msg
    assert not isinstance(err.value, BackendUnavailable)
    # Everything was cleaned up although the start failed.
    assert dep.db_name not in harness.PostgreSQLDatabase().list_all()
    assert dep.vhost not in harness.RabbitVhost.list_all()
    assert not os.path.exists(dep.tmpdir)
    assert not dep.processes[0].alive()


def test_real_server_with_bogus_name_fails_with_its_log():
    dep = Deployment(db='sqlite', transport='fake',
                     processes=[['bogus-component']], start_timeout=60)
    with pytest.raises(DeploymentError) as err:
        with dep:
            pass
    msg = str(err.value)
    assert 'process 0 (--server bogus-component) exited with code' in msg
    assert 'exited with code 0 ' not in msg
    # The log of the process is part of the message.
    assert '=== start:' in msg and 'mistral-server' in msg


def test_timeout_names_the_pending_processes():
    dep = fake(db='sqlite', processes=[['engine']], start_timeout=2,
               conf_overrides={'fake': {'ready': False}})
    with pytest.raises(DeploymentError, match=r'processes \[0\] not ready '
                       r'after 2s') as err:
        with dep:
            pass
    assert 'component engine pid=' in str(err.value)


def test_ready_lines_can_be_ignored():
    with fake(db='sqlite', processes=[['api']], wait_ready_lines=False,
              conf_overrides={'fake': {'ready': False}}) as dep:
        assert dep.processes[0].ready_lines() == 0


def test_wait_for_reports_what_and_logs():
    with pytest.raises(TimeoutError, match='the moon.*\nLOGS'):
        harness.wait_for(lambda: False, 0.1, 'the moon',
                         logs=lambda: 'LOGS')
    assert harness.wait_for(lambda: 42, 1) == 42


@pytest.mark.parametrize('env,value,backend', [
    ('MISTRAL_TEST_POSTGRESQL',
     'postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres',
     'PostgreSQL'),
    ('MISTRAL_TEST_MYSQL', 'mysql+pymysql://root@127.0.0.1:{port}/',
     'MariaDB'),
    ('MISTRAL_TEST_RABBIT', '127.0.0.1:{port}', 'RabbitMQ'),
])
def test_backend_down_is_an_error_not_a_skip(monkeypatch, env, value,
                                             backend):
    monkeypatch.setenv(env, value.format(port=harness.free_port()))
    db = {'PostgreSQL': 'postgresql', 'MariaDB': 'mysql'}.get(backend,
                                                              'sqlite')
    dep = fake(db=db, transport='rabbit' if backend == 'RabbitMQ' else 'fake')
    with pytest.raises(BackendUnavailable) as err:
        with dep:
            pass
    msg = str(err.value)
    assert backend + ' is not reachable at 127.0.0.1:' in msg
    assert 'Start it with: ' + harness.START_HINTS[backend] in msg
    assert not os.path.exists(dep.tmpdir)


def test_rabbitmqctl_failure_is_reported(monkeypatch):
    monkeypatch.setenv('MISTRAL_TEST_RABBITMQCTL', 'false')
    with pytest.raises(BackendUnavailable, match='false add_vhost'):
        with fake(db='sqlite', transport='rabbit'):
            pass


def test_stale_resources_of_dead_runs_are_dropped():
    proc = subprocess.run([sys.executable, '-c', 'import os; print('
                           'os.getpid())'], capture_output=True, text=True,
                          check=True)
    dead = int(proc.stdout)
    name = '%s%d_%s' % (harness.RESOURCE_PREFIX, dead, 'deadbeef')
    live = harness.resource_name()
    assert harness.is_stale(name) and not harness.is_stale(live)
    pg = harness.PostgreSQLDatabase(name)
    my = harness.MySQLDatabase(name)
    vhost = harness.RabbitVhost(name)
    mine = harness.PostgreSQLDatabase(live)
    for res in (pg, my, vhost, mine):
        res.create()
    try:
        dropped = harness.drop_stale_resources()
        assert name in dropped['postgresql']
        assert name in dropped['mysql']
        assert name in dropped['rabbit']
        assert live in harness.PostgreSQLDatabase().list_all()
        assert name not in harness.PostgreSQLDatabase().list_all()
    finally:
        for res in (pg, my, vhost, mine):
            res.drop()


_KILLED_TEST_PROCESS = """
import json, os, signal
from mistral.tests.functional import test_harness as t
dep = t.fake(db='postgresql', transport='rabbit',
             processes=[['engine', 'executor']]).__enter__()
print(json.dumps({'db': dep.db_name, 'vhost': dep.vhost,
                  'tmpdir': dep.tmpdir, 'pids': t._pids_in_log(dep, 0)}),
      flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_watchdog_cleans_up_after_a_killed_test_process():
    proc = subprocess.run([sys.executable, '-c', _KILLED_TEST_PROCESS],
                          capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(info['pids']) == 3
    harness.wait_for(lambda: all(_gone(p) for p in info['pids']), 30,
                     'the orphaned servers to be killed')
    harness.wait_for(
        lambda: info['db'] not in harness.PostgreSQLDatabase().list_all(),
        60, 'the orphaned database to be dropped')
    harness.wait_for(
        lambda: info['vhost'] not in harness.RabbitVhost.list_all(), 60,
        'the orphaned vhost to be deleted')
    harness.wait_for(lambda: not os.path.exists(info['tmpdir']), 30,
                     'the tmp dir to be removed')
