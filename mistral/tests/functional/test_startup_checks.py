"""A configuration or database that cannot work stops the server at start
with one line that says what to do (mistral.service.startup), instead of a
server that answers 500s or keeps running broken.

Each case starts a real ``mistral-server`` (or uWSGI with
``mistral.wsgi:application``) and expects it to exit on its own, quickly,
with the exit code and the line; and the upstream-style configurations
that must work (a plain ``postgresql://`` URL, the embedded default under
uWSGI) are run end to end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from mistral.tests.functional import harness
from mistral.tests.functional import test_uwsgi

pytestmark = pytest.mark.functional

WF = """---
version: '2.0'
startup_hello:
  tasks:
    hi:
      action: std.sleep seconds=0
"""


def _env(tmp_path: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('MISTRAL_CONFIG_', 'OS_', 'UWSGI_'))}
    env['MISTRAL_STATE_DIR'] = str(tmp_path / 'state')
    env['PYTHONUNBUFFERED'] = '1'
    return env


def _refused(tmp_path: Any, conf: str, timeout: float = 30,
             args: tuple[str, ...] = ()) -> tuple[int, str, float]:
    """Run mistral-server with ``conf``; it must exit by itself."""
    path = tmp_path / 'mistral.conf'
    path.write_text(conf)
    started = time.monotonic()
    proc = subprocess.Popen(
        [harness._script('mistral-server'), '--config-file', str(path),
         *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, env=_env(tmp_path), text=True,
        start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail('mistral-server was still running after %ss:\n%s'
                    % (timeout, out[-4000:]))
    return proc.returncode, out, time.monotonic() - started


def _errors(out: str) -> list[str]:
    return [line for line in out.splitlines() if ' ERROR ' in line]


def _one_line(out: str, *needles: str) -> str:
    """The single ERROR line, which must contain every needle."""
    errors = _errors(out)
    assert len(errors) == 1, out[-4000:]
    assert 'Traceback' not in out, out[-4000:]
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


def test_missing_database_driver(tmp_path):
    code, out, _ = _refused(tmp_path, (
        '[database]\nconnection = postgresql+psycopg://mistral@db/mistral\n'
        '[pecan]\nauth_enable = false\n'))
    assert code == 2, out
    _one_line(out, "'psycopg'", 'pip install psycopg[binary]',
              'postgresql+psycopg2://')


def test_auth_on_without_keystone_authtoken(tmp_path):
    # Only the port: authentication is on, as upstream's default.
    code, out, _ = _refused(tmp_path, '[api]\nport = %d\n'
                            % harness.free_port())
    assert code == 2, out
    _one_line(out, '[keystone_authtoken]', '[pecan] auth_enable = False')


def test_keycloak_without_auth_url(tmp_path):
    code, out, _ = _refused(tmp_path, (
        '[DEFAULT]\nauth_type = keycloak-oidc\n[api]\nport = %d\n'
        % harness.free_port()))
    assert code == 2, out
    _one_line(out, '[keycloak_oidc] auth_url', '[pecan] auth_enable = False')


def test_bad_keystone_auth_plugin(tmp_path):
    code, out, _ = _refused(tmp_path, (
        '[api]\nport = %d\n[keystone_authtoken]\nauth_type = no-such-plugin\n'
        % harness.free_port()))
    assert code == 2, out
    _one_line(out, 'no-such-plugin', '[pecan] auth_enable = False')


def test_unreachable_database_gives_up(tmp_path):
    port = harness.free_port()  # nothing listens there
    code, out, took = _refused(tmp_path, (
        '[database]\nconnection = postgresql://postgres@127.0.0.1:%d/x\n'
        'max_retries = 2\nretry_interval = 1\n[pecan]\nauth_enable = false\n'
        '[DEFAULT]\ntransport_url = fake:/\n' % port))
    assert code == 1, out
    assert took < 20, took
    retries = [line for line in out.splitlines()
               if 'is unreachable' in line and 'retrying in 1 s' in line]
    assert len(retries) == 2, out
    _one_line(out, 'unreachable', 'gave up after 3 attempts')


class _LateForwarder:
    """A TCP port that refuses connections until :meth:`open` is called,
    then forwards them to PostgreSQL: a database that is still starting
    when the server does. (Opened by the test once the server has said it
    is waiting, not after a fixed time, which a loaded machine can spend
    before the server even tries.)"""

    def __init__(self) -> None:
        self.port = harness.free_port()
        self._open = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def open(self) -> None:
        self._open.set()

    def _serve(self) -> None:
        self._open.wait()
        if self._stop.is_set():
            return
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(('127.0.0.1', self.port))
        srv.listen(16)
        srv.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = srv.accept()
            except socket.timeout:
                continue
            upstream = socket.create_connection(('127.0.0.1', 5432))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()
        srv.close()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._open.set()


def test_database_still_starting_is_waited_for(tmp_path):
    db = harness.PostgreSQLDatabase()
    db.create()
    forwarder = _LateForwarder()
    proc = None
    try:
        conf = tmp_path / 'mistral.conf'
        conf.write_text(
            '[database]\nconnection = postgresql://postgres@127.0.0.1:%d/%s\n'
            'max_retries = 20\nretry_interval = 1\n'
            % (forwarder.port, db.name))
        # The schema is built through the real port.
        direct = tmp_path / 'direct.conf'
        direct.write_text('[database]\nconnection = %s\n' % db.url)
        subprocess.run([harness._script('mistral-db-manage'), '--config-file',
                        str(direct), 'upgrade', 'head'], check=True,
                       capture_output=True, env=_env(tmp_path), timeout=120)
        port = harness.free_port()
        conf.write_text(conf.read_text() + (
            '[pecan]\nauth_enable = false\n[DEFAULT]\ntransport_url = '
            'fake:/\n[api]\nhost = 127.0.0.1\nport = %d\n' % port))
        log = open(tmp_path / 'server.log', 'w')
        proc = subprocess.Popen(
            [harness._script('mistral-server'), '--config-file', str(conf)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=_env(tmp_path), start_new_session=True)

        def waiting() -> bool:
            out = (tmp_path / 'server.log').read_text()
            assert proc.poll() is None, out
            return 'is unreachable' in out and 'retrying in 1 s' in out

        # The database "comes up" only once the server said it waits.
        harness.wait_for(waiting, 60, 'the server waiting for the database')
        forwarder.open()

        def answers() -> bool:
            assert proc.poll() is None, (tmp_path / 'server.log').read_text()
            try:
                return requests.get('http://127.0.0.1:%d/v2/workflows' % port,
                                    timeout=5).status_code == 200
            except requests.RequestException:
                return False

        harness.wait_for(answers, 60, 'the API once the database is up')
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        forwarder.close()
        db.drop()


def _pg(tmp_path: Any, revision: str | None) -> tuple[Any, str]:
    db = harness.PostgreSQLDatabase()
    db.create()
    conf = ('[database]\nconnection = %s\n[pecan]\nauth_enable = false\n'
            '[DEFAULT]\ntransport_url = fake:/\n' % db.url)
    if revision:
        path = tmp_path / 'upgrade.conf'
        path.write_text(conf)
        subprocess.run([harness._script('mistral-db-manage'), '--config-file',
                        str(path), 'upgrade', revision], check=True,
                       capture_output=True, env=_env(tmp_path), timeout=120)
    return db, conf


def test_schema_behind(tmp_path):
    db, conf = _pg(tmp_path, '003')
    try:
        code, out, _ = _refused(tmp_path, conf)
    finally:
        db.drop()
    assert code == 2, out
    _one_line(out, 'schema revision 003', 'mistral-db-manage',
              'upgrade head')


def test_no_schema(tmp_path):
    db, conf = _pg(tmp_path, None)
    try:
        code, out, _ = _refused(tmp_path, conf)
    finally:
        db.drop()
    assert code == 2, out
    _one_line(out, 'has no Mistral schema', 'upgrade head')


def test_upstream_database(tmp_path):
    db, conf = _pg(tmp_path, None)
    try:
        # Tables only upstream Mistral has (its scheduler's).
        engine = sa.create_engine(db.url)
        with engine.begin() as c:
            c.execute(sa.text('CREATE TABLE delayed_calls_v2 (id int)'))
            c.execute(sa.text('CREATE TABLE workflow_executions_v2 '
                              '(id int)'))
        engine.dispose()
        code, out, _ = _refused(tmp_path, conf)
    finally:
        db.drop()
    assert code == 2, out
    _one_line(out, 'OpenStack Mistral', 'import-upstream')


def test_plain_postgresql_url_runs_a_workflow(tmp_path):
    dep = harness.Deployment(db='postgresql', transport='fake',
                             processes=[['all']])
    try:
        dep.setup()
        # What an upstream mistral.conf says: no driver in the URL.
        plain = dep.db_url.replace('postgresql+psycopg2://', 'postgresql://')
        assert plain.startswith('postgresql://')
        text = open(dep.conf_path).read().replace(dep.db_url, plain)
        with open(dep.conf_path, 'w') as f:
            f.write(text)
        current = subprocess.run(
            [harness._script('mistral-db-manage'), '--config-file',
             dep.conf_path, 'current'], capture_output=True, text=True,
            env=_env(tmp_path), timeout=120)
        assert current.returncode == 0, current.stdout + current.stderr
        dep.start_all()
        client = dep.client()
        client.workflows.create(WF)
        ex = client.executions.create('startup_hello')
        assert dep.wait_execution(ex.id, 60).state == 'SUCCESS'
        assert 'psycopg' not in ''.join(_errors(dep.logs()))
    finally:
        dep.close()


def _uwsgi(tmp_path: Any, env_extra: dict[str, str]
           ) -> tuple[subprocess.Popen, str, str]:
    port = harness.free_port()
    env = _env(tmp_path)
    env.update(env_extra)
    env['MISTRAL_API_LISTEN'] = '127.0.0.1:%d' % port
    log_path = str(tmp_path / 'uwsgi.log')
    with open(log_path, 'ab') as log:
        proc = subprocess.Popen(
            [test_uwsgi._uwsgi(), '--ini', test_uwsgi.INI], stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
    return proc, 'http://127.0.0.1:%d/v2' % port, log_path


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_uwsgi_embedded_default_upgrades_its_schema(tmp_path):
    # No configuration at all: SQLite under MISTRAL_STATE_DIR, as
    # mistral-server's embedded default.
    proc, url, log_path = _uwsgi(tmp_path, {})
    try:
        def answers() -> bool:
            assert proc.poll() is None, open(log_path).read()[-4000:]
            try:
                return requests.get(url + '/', timeout=5).status_code == 200
            except requests.RequestException:
                return False

        harness.wait_for(answers, 60, 'uWSGI to answer')

        def both_loaded() -> bool:
            # lazy-apps: each of the 2 workers imports and builds the app
            # (and stopping one mid-import would print a traceback).
            return open(log_path).read().count('WSGI app 0') >= 2

        harness.wait_for(both_loaded, 60, 'both uWSGI workers to load')
        # Each request may hit either worker.
        for _ in range(4):
            r = requests.get(url + '/workflows', timeout=30)
            assert r.status_code == 200, r.text
        r = requests.post(url + '/workflows', data=WF, timeout=30,
                          headers={'Content-Type': 'text/plain'})
        assert r.status_code == 201, r.text
        names = [w['name'] for w in requests.get(
            url + '/workflows', timeout=30).json()['workflows']]
        assert names == ['startup_hello']
        assert (tmp_path / 'state' / 'mistral.sqlite').exists()
    finally:
        _stop(proc)
    log = open(log_path).read()
    assert 'Traceback' not in log, log[-8000:]


def test_uwsgi_refuses_to_start_without_keystone_authtoken(tmp_path):
    conf = tmp_path / 'mistral.conf'
    conf.write_text('[api]\nport = 9999\n')
    proc, url, log_path = _uwsgi(tmp_path, {
        'MISTRAL_CONFIG_FILE': str(conf)})
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        _stop(proc)
        pytest.fail('uWSGI kept running:\n' + open(log_path).read()[-4000:])
    log = open(log_path).read()
    assert code != 0, log
    lines = [line for line in log.splitlines()
             if ' ERROR ' in line and '[keystone_authtoken]' in line]
    assert lines and '[pecan] auth_enable = False' in lines[0], log[-4000:]


def test_launcher_of_several_components_refuses_before_starting_them(
        tmp_path):
    # A real transport: one process per component, none of them started.
    code, out, _ = _refused(tmp_path, (
        '[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:5672/'
        'h16_never_used\n[api]\nport = %d\n' % harness.free_port()),
        args=('--server', 'api,engine,executor'))
    assert code == 2, out
    _one_line(out, '[keystone_authtoken]')
    assert 'Started ' not in out, out


def test_an_unknown_cpu_affinity(tmp_path):
    code, out, _ = _refused(tmp_path, (
        '[DEFAULT]\ncpu_affinity = fastest\n'),
        args=('--server', 'executor'))
    assert code == 2, out
    _one_line(out, '[DEFAULT] cpu_affinity', "'fastest'")
