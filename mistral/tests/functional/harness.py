"""Real deployments of Mistral for functional tests.

A :class:`Deployment` is a set of real ``mistral-server`` processes that
share a private database and a private RabbitMQ vhost, so that parallel runs
(pytest-xdist workers, two CI runs on one machine) never see each other's
rows or messages::

    with Deployment(db='postgresql', transport='rabbit',
                    processes=[['api'], ['engine'], ['executor']]) as dep:
        dep.client().workflows.create(WF)
        dep.kill(2, signal.SIGKILL)      # crash the executor
        dep.start(2)                     # and bring it back

A backend that is down raises :class:`BackendUnavailable`; tests never skip
because of it. Admin endpoints can be moved with environment variables:
``MISTRAL_TEST_POSTGRESQL`` and ``MISTRAL_TEST_MYSQL`` (SQLAlchemy URLs of an
account that may create databases), ``MISTRAL_TEST_RABBIT`` (``host:port``),
``MISTRAL_TEST_RABBIT_USER``/``_PASSWORD`` and ``MISTRAL_TEST_RABBITMQCTL``
(the rabbitmqctl command). ``MISTRAL_TEST_KEEP=1`` keeps the tmp dir with
the config and log files.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy.engine import make_url

ALL_COMPONENTS = ('api', 'engine', 'executor', 'scheduler', 'notifier',
                  'event-engine')
RESOURCE_PREFIX = 'mistral_t_'
LOG_TAIL_LINES = 80

_PG_ADMIN = 'postgresql+psycopg2://postgres@127.0.0.1:5432/postgres'
_MYSQL_ADMIN = 'mysql+pymysql://root@127.0.0.1:3306/'
_RABBIT = '127.0.0.1:5672'

# How to start each backend; shown when it is down.
START_HINTS = {
    'PostgreSQL': 'pg_ctlcluster --skip-systemctl-redirect '
                  '$(ls /etc/postgresql) main start',
    'MariaDB': 'start-stop-daemon --start --oknodo --background '
               '--exec /usr/sbin/mariadbd',
    'RabbitMQ': 'rabbitmq-server -detached',
}


class DeploymentError(RuntimeError):
    """The deployment could not be set up, started or torn down."""


class BackendUnavailable(DeploymentError):
    """A database or the message broker the test asked for is down."""


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def resource_name() -> str:
    """A database/vhost name unique to this run.

    It carries the creating pid so that :func:`stale_resources` can tell
    the leftovers of a killed run from the resources of a live one.
    """
    return '%s%d_%s' % (RESOURCE_PREFIX, os.getpid(), uuid.uuid4().hex[:8])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(name: str) -> bool:
    """A resource of ours whose creating process is gone."""
    m = re.fullmatch(re.escape(RESOURCE_PREFIX) + r'(\d+)_[0-9a-f]+', name)
    return bool(m) and not _pid_alive(int(m.group(1)))


def _check_tcp(backend: str, host: str, port: int) -> None:
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as e:
        raise BackendUnavailable(
            '%s is not reachable at %s:%s (%s). Start it with: %s'
            % (backend, host, port, e, START_HINTS[backend])) from e


# --- databases ------------------------------------------------------------


class Database:
    """A database created for one deployment and dropped after it."""

    url = ''
    name = ''

    def create(self) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError


class SQLiteDatabase(Database):
    def __init__(self, tmpdir: str) -> None:
        self.path = os.path.join(tmpdir, 'mistral.sqlite')
        self.name = self.path
        self.url = 'sqlite:///' + self.path

    def create(self) -> None:
        pass  # the file appears on the first connection

    def drop(self) -> None:
        for suffix in ('', '-wal', '-shm', '-journal'):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass


class ServerDatabase(Database):
    """A database on a server; the admin account creates and drops it."""

    backend = ''
    admin_env = ''
    admin_default = ''
    default_port = 0

    def __init__(self, name: str | None = None) -> None:
        self.admin = make_url(os.environ.get(self.admin_env,
                                             self.admin_default))
        self.name = name or resource_name()
        self.url = self.admin.set(database=self.name).render_as_string(
            hide_password=False)

    def _connect(self) -> Any:
        raise NotImplementedError

    def execute(self, *statements: str) -> list[tuple]:
        """Run admin statements (autocommit); return the rows they give."""
        _check_tcp(self.backend, self.admin.host or '127.0.0.1',
                   self.admin.port or self.default_port)
        try:
            conn = self._connect()
        except Exception as e:
            raise BackendUnavailable('Cannot log in to %s as %s: %s' % (
                self.backend, self.admin.render_as_string(), e)) from e
        try:
            rows: list[tuple] = []
            with conn.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)
                    if cur.description:
                        rows += list(cur.fetchall())
            return rows
        finally:
            conn.close()

    def list_all(self) -> list[str]:
        """Names of all the test databases on this server."""
        raise NotImplementedError


class PostgreSQLDatabase(ServerDatabase):
    backend = 'PostgreSQL'
    admin_env = 'MISTRAL_TEST_POSTGRESQL'
    admin_default = _PG_ADMIN
    default_port = 5432

    def _connect(self) -> Any:
        import psycopg2

        conn = psycopg2.connect(
            host=self.admin.host or '127.0.0.1',
            port=self.admin.port or self.default_port,
            user=self.admin.username, password=self.admin.password or '',
            dbname=self.admin.database or 'postgres', connect_timeout=10)
        conn.autocommit = True  # CREATE DATABASE refuses transactions
        return conn

    def create(self) -> None:
        self.execute('CREATE DATABASE "%s" ENCODING \'UTF8\'' % self.name)

    def drop(self) -> None:
        # FORCE ends the sessions a killed process may have left behind.
        self.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)

    def list_all(self) -> list[str]:
        rows = self.execute('SELECT datname FROM pg_database')
        return [r[0] for r in rows if r[0].startswith(RESOURCE_PREFIX)]


class MySQLDatabase(ServerDatabase):
    backend = 'MariaDB'
    admin_env = 'MISTRAL_TEST_MYSQL'
    admin_default = _MYSQL_ADMIN
    default_port = 3306

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.url = make_url(self.url).update_query_dict(
            {'charset': 'utf8mb4'}).render_as_string(hide_password=False)

    def _connect(self) -> Any:
        import pymysql

        return pymysql.connect(
            host=self.admin.host or '127.0.0.1',
            port=self.admin.port or self.default_port,
            user=self.admin.username, password=self.admin.password or '',
            connect_timeout=10, autocommit=True)

    def create(self) -> None:
        self.execute('CREATE DATABASE `%s` CHARACTER SET utf8mb4' % self.name)

    def drop(self) -> None:
        self.execute('DROP DATABASE IF EXISTS `%s`' % self.name)

    def list_all(self) -> list[str]:
        rows = self.execute('SHOW DATABASES')
        return [r[0] for r in rows if r[0].startswith(RESOURCE_PREFIX)]


def make_database(db: str, tmpdir: str) -> Database:
    if db == 'sqlite':
        return SQLiteDatabase(tmpdir)
    if db in ('postgresql', 'postgres', 'pg'):
        return PostgreSQLDatabase()
    if db in ('mysql', 'mariadb'):
        return MySQLDatabase()
    raise ValueError('db must be sqlite, postgresql or mysql, not %r' % db)


@contextlib.contextmanager
def in_process_database(db: str) -> Iterator[Database]:
    """A new database of kind ``db`` that this process's
    ``mistral.db.api`` uses until the block ends; then it is dropped."""
    from oslo_config import cfg

    from mistral import config
    from mistral.db import api as db_api

    database = make_database(db, tempfile.mkdtemp())
    database.create()
    config.parse_args([], default_config_files=[])
    cfg.CONF.set_override('connection', database.url, group='database')
    db_api.dispose()
    try:
        yield database
    finally:
        db_api.dispose()
        database.drop()
        cfg.CONF.clear_override('connection', group='database')


# --- message broker -------------------------------------------------------


class RabbitVhost:
    """A RabbitMQ vhost for one deployment, deleted with all its queues."""

    def __init__(self, name: str | None = None) -> None:
        host, _, port = os.environ.get('MISTRAL_TEST_RABBIT',
                                       _RABBIT).rpartition(':')
        self.host, self.port = host or '127.0.0.1', int(port)
        self.user = os.environ.get('MISTRAL_TEST_RABBIT_USER', 'guest')
        self.password = os.environ.get('MISTRAL_TEST_RABBIT_PASSWORD',
                                       'guest')
        self.name = name or resource_name()
        self.url = 'rabbit://%s:%s@%s:%d/%s' % (
            self.user, self.password, self.host, self.port, self.name)

    @staticmethod
    def ctl(*args: str) -> str:
        """Run rabbitmqctl; a failure means the broker is unusable."""
        cmd = shlex.split(os.environ.get('MISTRAL_TEST_RABBITMQCTL',
                                         'rabbitmqctl')) + list(args)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=120, stdin=subprocess.DEVNULL,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise BackendUnavailable(
                'Cannot run %s: %s. Is RabbitMQ installed and running? '
                'Start it with: %s' % (shlex.join(cmd), e,
                                       START_HINTS['RabbitMQ'])) from e
        if proc.returncode != 0:
            raise BackendUnavailable(
                '%s failed (exit %d): %s %s. Start RabbitMQ with: %s' % (
                    shlex.join(cmd), proc.returncode, proc.stdout.strip(),
                    proc.stderr.strip(), START_HINTS['RabbitMQ']))
        return proc.stdout

    def create(self) -> None:
        _check_tcp('RabbitMQ', self.host, self.port)
        self.ctl('add_vhost', self.name)
        self.ctl('set_permissions', '-p', self.name, self.user,
                 '.*', '.*', '.*')

    def drop(self) -> None:
        try:
            self.ctl('delete_vhost', self.name)
        except BackendUnavailable as e:
            if 'does not exist' not in str(e):
                raise

    @classmethod
    def list_all(cls) -> list[str]:
        out = cls.ctl('list_vhosts', '--quiet', '--no-table-headers')
        return [v.strip() for v in out.splitlines()
                if v.strip().startswith(RESOURCE_PREFIX)]


def stale_resources() -> dict[str, list[str]]:
    """Databases and vhosts left by test runs whose process is gone."""
    return {
        'postgresql': [n for n in PostgreSQLDatabase().list_all()
                       if is_stale(n)],
        'mysql': [n for n in MySQLDatabase().list_all() if is_stale(n)],
        'rabbit': [n for n in RabbitVhost.list_all() if is_stale(n)],
    }


def drop_stale_resources() -> dict[str, list[str]]:
    """Drop what :func:`stale_resources` finds; return what was dropped."""
    stale = stale_resources()
    for name in stale['postgresql']:
        PostgreSQLDatabase(name).drop()
    for name in stale['mysql']:
        MySQLDatabase(name).drop()
    for name in stale['rabbit']:
        RabbitVhost(name).drop()
    return stale

# --- processes ------------------------------------------------------------

# A log line that announces that a component has joined the bus.
_READY_RE = re.compile(rb'\bready\b', re.IGNORECASE)


def components(names: Sequence[str]) -> list[str]:
    """The components a ``--server`` list runs (``all`` and aliases)."""
    out: list[str] = []
    for name in names:
        if name == 'all':
            expanded: Sequence[str] = ALL_COMPONENTS
        elif name == 'periodic':
            expanded = ('scheduler',)
        else:
            expanded = (name,)
        out += [c for c in expanded if c not in out]
    return out


def _script(name: str) -> str:
    """The console script installed next to this interpreter, or on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    if os.access(here, os.X_OK):
        return here
    found = shutil.which(name)
    if not found:
        raise DeploymentError(
            '%s is not installed; run "pip install -e ." first' % name)
    return found


class ServerProcess:
    """One ``mistral-server`` launcher and the components it runs."""

    def __init__(self, index: int, names: Sequence[str], argv: list[str],
                 log_path: str, env: dict[str, str],
                 api_port: int | None,
                 on_start: Callable[[int], None] | None = None) -> None:
        self.index = index
        self.on_start = on_start
        self.names = list(names)
        self.components = components(self.names)
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.api_port = api_port
        self.popen: subprocess.Popen | None = None
        self.starts = 0
        self._log_offset = 0
        self._terminating = False

    def __repr__(self) -> str:
        return '<ServerProcess %d --server %s pid=%s>' % (
            self.index, ','.join(self.names), self.pid)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll() if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        if self.alive():
            raise DeploymentError('%r is already running' % self)
        with open(self.log_path, 'ab') as log:
            log.write(('=== start: %s\n' % shlex.join(self.argv)).encode())
            log.flush()
            # Only what the process writes counts for readiness.
            self._log_offset = log.tell()
            # A new session makes the launcher a process group leader, so
            # that the components it forks can be killed together.
            self.popen = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.env,
                start_new_session=True)
        if self.on_start is not None:
            self.on_start(self.popen.pid)
        self.starts += 1
        self._terminating = False

    def signal(self, sig: int = signal.SIGKILL, group: bool = True) -> None:
        """Send ``sig`` to the launcher and its children, or to it alone."""
        if self.popen is None:
            raise DeploymentError('%r was never started' % self)
        try:
            if group:
                os.killpg(self.popen.pid, sig)
            elif self.popen.poll() is None:
                self.popen.send_signal(sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the launcher to exit; return its exit code."""
        if self.popen is None:
            raise DeploymentError('%r was never started' % self)
        return self.popen.wait(timeout)

    def terminate(self) -> None:
        """SIGTERM the launcher, once: it stops its components itself."""
        if self.alive() and not self._terminating:
            self._terminating = True
            self.signal(signal.SIGTERM, group=False)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the launcher; SIGKILL the whole group if it lingers."""
        if self.popen is None:
            return None
        self.terminate()
        try:
            self.popen.wait(max(timeout, 0))
        except subprocess.TimeoutExpired:
            pass
        code = self.popen.poll()
        # Children that outlive their launcher are stragglers too.
        self.signal(signal.SIGKILL, group=True)
        if code is None:
            code = self.popen.wait(10)
        return code

    def log(self) -> str:
        """Everything this process group wrote, over all its starts."""
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return ''

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return '\n'.join(self.log().splitlines()[-lines:])

    def ready_lines(self) -> int:
        """Lines announcing readiness since the last start."""
        try:
            with open(self.log_path, 'rb') as f:
                f.seek(self._log_offset)
                return len(_READY_RE.findall(f.read()))
        except FileNotFoundError:
            return 0

    def api_ready(self) -> bool:
        """True when the API answers ``GET /v2/`` (or this runs no API)."""
        if self.api_port is None:
            return True
        url = 'http://127.0.0.1:%d/v2/' % self.api_port
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def ready(self, wait_ready_lines: bool = True) -> bool:
        if wait_ready_lines and self.ready_lines() < len(self.components):
            return False
        return self.api_ready()


def _ini_value(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return str(value)

# --- cleanup when the test process dies ----------------------------------

# Runs in its own session, reading what to clean up from a pipe whose
# other end only the test process holds. EOF without "done" means the test
# process died (SIGKILL, a crashed xdist worker, a timeout of the whole CI
# job): kill the server process groups and drop the database, vhost and
# tmp dir, so that nothing keeps eating the machine's two cores.
_WATCHDOG = r"""
import os, signal, sys
groups, resources, done = [], [], False
for line in sys.stdin:
    kind, _, arg = line.rstrip('\n').partition(' ')
    if kind == 'pgid':
        groups.append(int(arg))
    elif kind == 'done':
        done = True
    else:
        resources.append((kind, arg))
if not done:
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    from mistral.tests.functional import harness
    harness.drop_orphans(resources)
"""


class Watchdog:
    """Cleans up after a deployment whose test process died."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, '-c', _WATCHDOG], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, text=True)

    def watch(self, kind: str, arg: Any) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write('%s %s\n' % (kind, arg))
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the watchdog is gone; cleanup stays our own job

    def done(self) -> None:
        """Everything is cleaned up: let the watchdog go."""
        self.watch('done', '')
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(30)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()


def drop_orphans(resources: Sequence[tuple[str, str]]) -> None:
    """Drop what a dead test process left (called by the watchdog)."""
    for kind, name in resources:
        try:
            if kind == 'postgresql':
                PostgreSQLDatabase(name).drop()
            elif kind == 'mysql':
                MySQLDatabase(name).drop()
            elif kind == 'vhost':
                RabbitVhost(name).drop()
            elif kind == 'rmtree':
                shutil.rmtree(name, ignore_errors=True)
        except Exception:  # best effort: nobody is left to tell
            pass


# --- the deployment ------------------------------------------------------

TERMINAL_STATES = ('SUCCESS', 'ERROR', 'CANCELLED')


def wait_for(predicate: Callable[[], Any], timeout: float = 60,
             what: str | Callable[[], str] = 'condition',
             interval: float = 0.2,
             logs: Callable[[], str] | None = None) -> Any:
    """Poll ``predicate`` until it returns a true value; return that value.

    On timeout raise :class:`TimeoutError` naming ``what`` and, when given,
    the output of ``logs``.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            msg = 'timed out after %.0fs waiting for %s' % (
                timeout, what() if callable(what) else what)
            if logs is not None:
                msg += '\n' + logs()
            raise TimeoutError(msg)
        time.sleep(interval)


class ProcessList(list):
    """The deployment's processes; helpers take the index in this list."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__()
        self._dep = deployment

    def kill(self, i: int, sig: int = signal.SIGKILL,
             group: bool = True) -> None:
        self[i].signal(sig, group=group)

    def start(self, i: int, wait: bool = True) -> None:
        self._dep.start(i, wait=wait)

    def logs(self, tail: int | None = None) -> str:
        return self._dep.logs(tail)


class Deployment:
    """Mistral processes on a private database and RabbitMQ vhost.

    :param db: ``sqlite``, ``postgresql`` or ``mysql``.
    :param transport: ``rabbit`` (a private vhost) or ``fake`` (in-memory,
        only for a single process group).
    :param processes: one ``--server`` list per process group, e.g.
        ``[['api'], ['engine'], ['executor']]`` or ``[['all']]``.
    :param conf_overrides: ``{section: {option: value}}`` written into the
        config file (lists are comma-joined, booleans lower-cased).
    :param server_cmd: argv that replaces ``mistral-server`` (the tests of
        the harness use a stand-in).
    :param start_timeout: seconds each process group has to become ready.
    :param stop_timeout: seconds between SIGTERM and SIGKILL on teardown.
    :param wait_ready_lines: also wait until every component has logged a
        line with ``ready`` (it has joined the bus); the API answering
        ``GET /v2/`` is always awaited.
    :param keep_tmpdir: keep config and logs after exit (default: the
        ``MISTRAL_TEST_KEEP`` environment variable).
    """

    def __init__(self, db: str = 'sqlite', transport: str = 'rabbit',
                 processes: Sequence[Sequence[str]] | None = None,
                 conf_overrides: dict[str, dict[str, Any]] | None = None,
                 *, server_cmd: Sequence[str] | None = None,
                 start_timeout: float = 90.0, stop_timeout: float = 30.0,
                 wait_ready_lines: bool = True,
                 keep_tmpdir: bool | None = None) -> None:
        if transport not in ('rabbit', 'fake'):
            raise ValueError('transport must be "rabbit" or "fake"')
        groups = [list(p) for p in (processes or [['all']])]
        if not all(groups):
            raise ValueError('processes must be non-empty lists of names')
        if transport == 'fake' and len(groups) > 1:
            raise ValueError('the fake transport does not cross processes; '
                             'use one process group or transport="rabbit"')
        overrides = dict(conf_overrides or {})
        for section, opts in overrides.items():
            if not isinstance(opts, dict):
                raise TypeError('conf_overrides must be {section: {option: '
                                'value}}, got %r for %r' % (opts, section))
        self.db_kind = db
        self.transport = transport
        self.groups = groups
        self.conf_overrides = overrides
        self.server_cmd = list(server_cmd or [])
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.wait_ready_lines = wait_ready_lines
        if keep_tmpdir is None:
            keep_tmpdir = bool(os.environ.get('MISTRAL_TEST_KEEP'))
        self.keep_tmpdir = keep_tmpdir

        self.tmpdir = ''
        self.conf_path = ''
        self.db_url = ''
        self.db_name = ''
        self.vhost = ''
        self.transport_url = 'fake:/'
        self.api_urls: list[str] = []
        self.exit_codes: list[int | None] = []
        self.processes = ProcessList(self)
        self._api_port = int(overrides.get('api', {}).get('port')
                             or free_port())
        self._db: Database | None = None
        self._vhost: RabbitVhost | None = None
        self._watchdog: Watchdog | None = None

    def __repr__(self) -> str:
        return '<Deployment db=%s transport=%s processes=%s>' % (
            self.db_kind, self.transport, self.groups)

    # -- context manager

    def __enter__(self) -> Deployment:
        try:
            self.setup()
            self.start_all()
        except BaseException:
            try:
                self.close()
            except DeploymentError:
                pass  # the original error says more
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    # -- what tests use

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:<port>/v2`` of the first API process."""
        if not self.api_urls:
            raise DeploymentError('no process group runs the api')
        return self.api_urls[0]

    @property
    def env(self) -> dict[str, str]:
        """Environment for the ``mistral`` CLI: no Keystone, our API."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        if self.api_urls:
            env['OS_MISTRAL_URL'] = self.api_url
        return env

    def client(self) -> Any:
        """A python-mistralclient v2 client for this deployment."""
        from mistralclient.api import client

        return client.client(mistral_url=self.api_url)

    def cli(self, *args: str, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess:
        """Run the ``mistral`` CLI against this deployment."""
        proc = subprocess.run([_script('mistral')] + list(args),
                              env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL,
                              check=False)
        if check and proc.returncode != 0:
            raise DeploymentError('mistral %s failed (exit %d):\n%s\n%s' % (
                shlex.join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def wait_execution(self, execution_id: str, timeout: float = 120,
                       states: Sequence[str] = TERMINAL_STATES) -> Any:
        """Poll the API until the workflow execution reaches ``states``."""
        client = self.client()
        last: list[Any] = [None]

        def reached() -> bool:
            last[0] = client.executions.get(execution_id)
            return last[0].state in states

        def what() -> str:
            return 'execution %s to reach %s (last state: %s)' % (
                execution_id, '/'.join(states),
                last[0].state if last[0] else None)

        wait_for(reached, timeout, what,
                 logs=lambda: self.logs(tail=LOG_TAIL_LINES))
        return last[0]

    def kill(self, i: int, sig: int = signal.SIGKILL,
             group: bool = True) -> None:
        """Signal process group ``i`` (``group=False``: the launcher only)."""
        self.processes.kill(i, sig, group=group)

    def start(self, i: int, wait: bool = True) -> None:
        """(Re)start process group ``i`` and wait until it is ready."""
        proc = self.processes[i]
        if proc.popen is not None and not proc.alive():
            # Reap what is left of the previous incarnation.
            proc.signal(signal.SIGKILL, group=True)
        proc.start()
        if wait:
            self.wait_ready([proc])

    def stop(self, i: int | None = None) -> list[int | None]:
        """SIGTERM one group or all of them; returns their exit codes.

        A group that is still running after ``stop_timeout`` is killed
        with SIGKILL, children included.
        """
        procs = [self.processes[i]] if i is not None else list(
            self.processes)
        # Signal everyone first so that they shut down in parallel.
        for p in procs:
            p.terminate()
        deadline = time.monotonic() + self.stop_timeout
        return [p.stop(deadline - time.monotonic()) for p in procs]

    def logs(self, tail: int | None = None) -> str:
        """Every process group's log (or its last ``tail`` lines)."""
        parts = []
        for p in self.processes:
            text = p.log() if tail is None else p.tail(tail)
            parts.append('----- process %d (--server %s) pid=%s exit=%s %s'
                         '\n%s' % (p.index, ','.join(p.names), p.pid,
                                   p.returncode, p.log_path, text))
        return '\n'.join(parts)

    # -- steps

    def setup(self) -> None:
        """Create the tmp dir, database, vhost, config file and schema."""
        self.tmpdir = tempfile.mkdtemp(prefix='mistral-func-')
        self._watchdog = Watchdog()
        if not self.keep_tmpdir:
            self._watchdog.watch('rmtree', self.tmpdir)
        db = make_database(self.db_kind, self.tmpdir)
        self.db_url, self.db_name = db.url, db.name
        if isinstance(db, ServerDatabase):
            # Before create(): a crash right after it leaves nothing behind.
            self._watchdog.watch(
                'postgresql' if isinstance(db, PostgreSQLDatabase)
                else 'mysql', db.name)
        db.create()
        self._db = db  # only what exists is dropped on close
        if self.transport == 'rabbit':
            vhost = RabbitVhost()
            self.vhost, self.transport_url = vhost.name, vhost.url
            self._watchdog.watch('vhost', vhost.name)
            vhost.create()
            self._vhost = vhost
        self.conf_path = os.path.join(self.tmpdir, 'mistral.conf')
        with open(self.conf_path, 'w') as f:
            self._conf().write(f)
        self._upgrade()
        self._make_processes()

    def start_all(self) -> None:
        for p in self.processes:
            p.start()
        self.wait_ready(list(self.processes))

    def wait_ready(self, procs: Sequence[ServerProcess]) -> None:
        """Wait for ``procs``; fail early, with the logs, if one exits."""
        deadline = time.monotonic() + self.start_timeout
        pending = list(procs)
        while pending:
            for p in list(pending):
                if not p.alive():
                    raise DeploymentError(
                        'mistral-server process %d (--server %s) exited '
                        'with code %s before it was ready.\n%s' % (
                            p.index, ','.join(p.names), p.returncode,
                            self.logs(tail=LOG_TAIL_LINES)))
                if p.ready(self.wait_ready_lines):
                    pending.remove(p)
            if not pending:
                break
            if time.monotonic() > deadline:
                raise DeploymentError(
                    'mistral-server processes %s not ready after %.0fs '
                    '(waiting for the api to answer GET /v2/ and for one '
                    '"ready" log line per component).\n%s' % (
                        [p.index for p in pending], self.start_timeout,
                        self.logs(tail=LOG_TAIL_LINES)))
            time.sleep(0.2)

    def close(self) -> None:
        """Stop everything, then drop the database and the vhost."""
        errors = []
        try:
            self.exit_codes = self.stop()
        except Exception as e:  # keep cleaning up
            errors.append('stopping processes: %s' % e)
        for what, res in (('database', self._db), ('vhost', self._vhost)):
            if res is None:
                continue
            try:
                res.drop()
            except Exception as e:  # keep cleaning up
                errors.append('dropping the %s: %s' % (what, e))
        self._db = self._vhost = None
        if self.tmpdir and not (self.keep_tmpdir or errors):
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self._watchdog is not None:
            self._watchdog.done()
            self._watchdog = None
        if errors:
            raise DeploymentError('cleanup failed: ' + '; '.join(errors))

    # -- internals

    def _conf(self) -> configparser.ConfigParser:
        conf = configparser.ConfigParser(interpolation=None)
        conf.read_dict({
            'DEFAULT': {'transport_url': self.transport_url,
                        'debug': 'false'},
            'database': {'connection': self.db_url},
            'api': {'host': '127.0.0.1', 'port': str(self._api_port)},
            'pecan': {'auth_enable': 'false'},
        })
        for section, opts in self.conf_overrides.items():
            if section != 'DEFAULT' and not conf.has_section(section):
                conf.add_section(section)
            for key, value in opts.items():
                conf.set(section, key, _ini_value(value))
        return conf

    def _upgrade(self) -> None:
        cmd = [_script('mistral-db-manage'), '--config-file', self.conf_path,
               'upgrade', 'head']
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=300, stdin=subprocess.DEVNULL,
                              env=self._child_env(), check=False)
        if proc.returncode != 0:
            raise DeploymentError('%s failed (exit %d):\n%s\n%s' % (
                shlex.join(cmd), proc.returncode, proc.stdout, proc.stderr))

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Only our config files count: no MISTRAL_CONFIG_* from the caller.
        env.pop('MISTRAL_CONFIG_FILE', None)
        env.pop('MISTRAL_CONFIG_DIR', None)
        env['MISTRAL_STATE_DIR'] = os.path.join(self.tmpdir, 'state')
        env['PYTHONUNBUFFERED'] = '1'
        return env

    def _make_processes(self) -> None:
        server = self.server_cmd or [_script('mistral-server')]
        for i, names in enumerate(self.groups):
            port = None
            if 'api' in components(names):
                # The first API gets the port of the shared config file.
                port = self._api_port if not self.api_urls else free_port()
                self.api_urls.append('http://127.0.0.1:%d/v2' % port)
            argv = server + ['--config-file', self.conf_path,
                             '--config-file', self._process_conf(i, port),
                             '--server', ','.join(names)]
            log = os.path.join(self.tmpdir, 'process-%d-%s.log' % (
                i, '-'.join(names)))
            self.processes.append(ServerProcess(
                i, names, argv, log, self._child_env(), port,
                on_start=self._watch_pgid))

    def _watch_pgid(self, pgid: int) -> None:
        if self._watchdog is not None:
            self._watchdog.watch('pgid', pgid)

    def _process_conf(self, i: int, port: int | None) -> str:
        """Per-process options: its own host names and API port.

        Distinct host names keep the per-server queues of two executors
        (or engines) apart, as on separate machines.
        """
        conf = configparser.ConfigParser(interpolation=None)
        for section in ('engine', 'executor', 'scheduler', 'notifier',
                        'event_engine'):
            if 'host' not in self.conf_overrides.get(section, {}):
                conf[section] = {'host': 'p%d' % i}
        if port is not None:
            conf['api'] = {'port': str(port)}
        path = os.path.join(self.tmpdir, 'process-%d.conf' % i)
        with open(path, 'w') as f:
            conf.write(f)
        return path


# The two shapes plugin tests run in: one process, and an executor process
# of its own beside the rest (where plugins are loaded apart from the API).
PLUGIN_DEPLOYMENTS: dict[str, dict[str, Any]] = {
    'embedded': dict(db='sqlite', transport='fake', processes=[['all']]),
    'pg-rabbit': dict(db='postgresql', transport='rabbit',
                      processes=[['api', 'engine', 'scheduler', 'notifier',
                                  'event-engine'], ['executor']]),
}


def pip_install_target(package_dir: str, tmp_dir: str) -> str:
    """Install the package at ``package_dir`` into ``<tmp_dir>/site``
    (``pip install --target``, for the servers' PYTHONPATH); returns that
    directory. Built from a copy: setuptools writes build/ and egg-info
    next to the sources, which other test processes must not see
    half-written."""
    source = os.path.join(tmp_dir, os.path.basename(package_dir))
    shutil.copytree(package_dir, source)
    target = os.path.join(tmp_dir, 'site')
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps',
         '--no-build-isolation', '--no-index',
         '--disable-pip-version-check', '--target', target, source],
        capture_output=True, text=True, cwd=tmp_dir)
    if proc.returncode != 0:
        raise DeploymentError('installing %s failed:\n%s%s' % (
            package_dir, proc.stdout, proc.stderr))
    return target
