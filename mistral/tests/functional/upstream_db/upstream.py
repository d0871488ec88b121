"""Upstream OpenStack Mistral 23.0.0, from PyPI, for the import tests.

Upstream pins dependencies that need not agree with ours, so it lives in a
virtualenv of its own, built once per machine on first use
(``pip install mistral==23.0.0`` and the two database drivers, a few
minutes) and reused: ``$XDG_CACHE_HOME/mistral-tests/upstream-mistral-
23.0.0-py<ver>`` (default ``~/.cache``), or the path in
``MISTRAL_TEST_UPSTREAM_VENV``. A file lock makes parallel test processes
build it once. A venv that cannot be built fails the tests with pip's
output; they never skip.

:class:`UpstreamServer` runs upstream on a database of its own (created
and dropped like a :class:`~mistral.tests.functional.harness.Deployment`'s,
a watchdog included) and a RabbitMQ vhost of its own:

* PostgreSQL and MariaDB: the schema is built by upstream's own
  ``mistral-db-manage upgrade head`` (its migrations);
* SQLite: upstream's migrations cannot run there (they ALTER constraints,
  which SQLite cannot do), so the schema is built from its models
  (``mistral.db.v2.api.setup_db()``, what its own tests do) - the other
  way an upstream schema comes to be;

then its ``mistral-db-manage populate``, then ``mistral-server --server
api,engine,executor`` with authentication off and its cron loop off (a
trigger never fires upstream while a test compares it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any

import requests

from mistral.tests.functional import cached_install
from mistral.tests.functional import harness

UPSTREAM_VERSION = '23.0.0'
INSTALL_TIMEOUT = 1800
START_TIMEOUT = 180.0
# What the venv holds besides upstream: the drivers of our test databases.
_PACKAGES = ('mistral==%s' % UPSTREAM_VERSION, 'psycopg2-binary', 'pymysql')

_SETUP_MODELS = """
import sys
from mistral import config
config.parse_args(['--config-file', sys.argv[1]])
from mistral.db.v2 import api
api.setup_db()
"""


class UpstreamUnavailable(harness.DeploymentError):
    """Upstream could not be installed, set up or started."""


def venv_dir() -> str:
    return cached_install.cache_dir('upstream-mistral-%s' % UPSTREAM_VERSION,
                                    'MISTRAL_TEST_UPSTREAM_VENV')


def _run(cmd: list[str], what: str, timeout: float,
         env: dict[str, str] | None = None, cwd: str | None = None) -> str:
    return cached_install.run(cmd, what, timeout, UpstreamUnavailable,
                              env=env, cwd=cwd)


def _usable(path: str) -> bool:
    return all(os.path.exists(os.path.join(path, 'bin', name))
               for name in ('python', 'mistral-server', 'mistral-db-manage'))


def ensure_venv() -> str:
    """The upstream virtualenv, built on first use; returns its path."""
    path = venv_dir()
    if os.environ.get('MISTRAL_TEST_UPSTREAM_VENV') and _usable(path):
        # Given by the caller (e.g. a venv made by run_upstream.sh).
        return path

    def build(path: str) -> str:
        return cached_install.venv_with(
            path, list(_PACKAGES),
            'installing %s into %s (the import tests need upstream '
            'Mistral from the package index)' % (' '.join(_PACKAGES), path),
            INSTALL_TIMEOUT, UpstreamUnavailable)

    return cached_install.ensure(path, build, UpstreamUnavailable,
                                 usable=_usable)


_CONF = """\
[DEFAULT]
transport_url = {transport}
log_file = {tmp}/upstream.log
use_stderr = False
debug = False

[api]
host = 127.0.0.1
port = {port}

[pecan]
auth_enable = False

[database]
connection = {db}

[cron_trigger]
enabled = False
run_in_api = False

[oslo_policy]
policy_file = {tmp}/policy.yaml

# No heartbeats: the std.sleep a test leaves running under a cancelled
# workflow would otherwise have its row stamped every 20 s while the
# tests compare it (at a real switch upstream is stopped).
[action_heartbeat]
check_interval = 0
max_missed_heartbeats = 0
"""

# Without authentication every caller is a plain member: code sources and
# public definitions need admin (rule admin_only), which is opened here.
POLICY = '"admin_only": "@"\n'


class UpstreamServer:
    """Upstream Mistral on a private database and vhost (context manager).
    """

    def __init__(self, db: str = 'sqlite') -> None:
        self.db_kind = db
        self.venv = ''
        self.tmpdir = ''
        self.port = harness.free_port()
        self.db: harness.Database | None = None
        self.vhost: harness.RabbitVhost | None = None
        self.popen: subprocess.Popen | None = None
        self.watchdog: harness.Watchdog | None = None
        self.conf_path = ''

    @property
    def url(self) -> str:
        return 'http://127.0.0.1:%d/v2' % self.port

    @property
    def db_url(self) -> str:
        assert self.db is not None
        return self.db.url

    @property
    def built_by(self) -> str:
        return 'models' if self.db_kind == 'sqlite' else 'migrations'

    def __enter__(self) -> UpstreamServer:
        try:
            self.setup()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _bin(self, name: str) -> str:
        return os.path.join(self.venv, 'bin', name)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('OS_', 'MISTRAL_', 'PYTHON'))}
        env['PYTHONWARNINGS'] = 'ignore'
        return env

    def setup(self) -> None:
        self.venv = ensure_venv()
        self.tmpdir = tempfile.mkdtemp(prefix='mistral-upstream-')
        self.watchdog = harness.Watchdog()
        self.watchdog.watch('rmtree', self.tmpdir)
        db = harness.make_database(self.db_kind, self.tmpdir)
        if isinstance(db, harness.ServerDatabase):
            self.watchdog.watch(
                'postgresql' if isinstance(db, harness.PostgreSQLDatabase)
                else 'mysql', db.name)
        db.create()
        self.db = db
        vhost = harness.RabbitVhost()
        self.watchdog.watch('vhost', vhost.name)
        vhost.create()
        self.vhost = vhost
        with open(os.path.join(self.tmpdir, 'policy.yaml'), 'w') as f:
            f.write(POLICY)
        self.conf_path = os.path.join(self.tmpdir, 'upstream.conf')
        with open(self.conf_path, 'w') as f:
            f.write(_CONF.format(transport=vhost.url, tmp=self.tmpdir,
                                 port=self.port, db=db.url))
        if self.db_kind == 'sqlite':
            _run([self._bin('python'), '-c', _SETUP_MODELS, self.conf_path],
                 'building the upstream schema from its models', 300,
                 env=self._env())
        else:
            _run([self._bin('mistral-db-manage'), '--config-file',
                  self.conf_path, 'upgrade', 'head'],
                 'upstream mistral-db-manage upgrade head', 600,
                 env=self._env())
        _run([self._bin('mistral-db-manage'), '--config-file',
              self.conf_path, 'populate'], 'upstream mistral-db-manage '
             'populate', 600, env=self._env())

    def start(self) -> None:
        log = open(os.path.join(self.tmpdir, 'server.out'), 'ab')
        self.popen = subprocess.Popen(
            [self._bin('mistral-server'), '--config-file', self.conf_path,
             '--server', 'api,engine,executor'],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self._env(), start_new_session=True, cwd=self.tmpdir)
        log.close()
        if self.watchdog is not None:
            self.watchdog.watch('pgid', self.popen.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise UpstreamUnavailable('upstream mistral-server exited '
                                          '(%s):\n%s' % (self.popen.returncode,
                                                         self.logs()))
            try:
                r = requests.get(self.url + '/workflows?limit=1', timeout=2)
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise UpstreamUnavailable('upstream API not up after %ds:\n%s' % (
            START_TIMEOUT, self.logs()))

    def logs(self, tail: int = 80) -> str:
        parts = []
        for name in ('server.out', 'upstream.log'):
            path = os.path.join(self.tmpdir, name)
            if os.path.exists(path):
                with open(path, errors='replace') as f:
                    lines = f.read().splitlines()
                parts.append('--- %s\n%s' % (name, '\n'.join(lines[-tail:])))
        return '\n'.join(parts)

    def stop(self) -> None:
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except OSError:
            pass
        self.popen.wait(10)
        self.popen = None

    def close(self) -> None:
        errors = []
        try:
            self.stop()
        except Exception as e:  # keep cleaning up
            errors.append('stopping upstream: %s' % e)
        for what, res in (('database', self.db), ('vhost', self.vhost)):
            if res is None:
                continue
            try:
                res.drop()
            except Exception as e:  # keep cleaning up
                errors.append('dropping the %s: %s' % (what, e))
        self.db = self.vhost = None
        if self.tmpdir and not os.environ.get('MISTRAL_TEST_KEEP'):
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self.watchdog is not None:
            self.watchdog.done()
            self.watchdog = None
        if errors:
            raise harness.DeploymentError('cleanup failed: ' +
                                          '; '.join(errors))
