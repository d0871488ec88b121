"""A real Keystone for functional tests of the API's authentication.

Keystone (the ``keystone`` package from PyPI) pins dependencies that need
not agree with ours, so it lives in a virtualenv of its own, built once per
machine and reused (``$XDG_CACHE_HOME/mistral-tests/keystone-<version>``,
or ``MISTRAL_TEST_KEYSTONE_VENV``); a lock makes parallel test processes
build it once. :class:`KeystoneServer` bootstraps a fresh Keystone on SQLite
in a tmp dir (``keystone-manage db_sync``, ``fernet_setup``,
``credential_setup``, ``bootstrap``) and serves its public WSGI application
on 127.0.0.1 with ``serve.py`` (run by the venv's Python)::

    with KeystoneServer() as ks:
        pa = ks.create_project('pa')
        ks.create_user('alice', 'pw', pa, 'member')
        token = ks.token('alice', 'pw', 'pa')

A Keystone that cannot be installed or started raises
:class:`KeystoneUnavailable` with the command's output: the tests that need
it fail, they never skip.
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

KEYSTONE_VERSION = '30.0.0'
INSTALL_TIMEOUT = 1800
START_TIMEOUT = 180.0
ADMIN_PASSWORD = 'admin-secret'
REGION = 'RegionOne'
DOMAIN = 'default'

_SERVE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'serve.py')


class KeystoneUnavailable(harness.DeploymentError):
    """Keystone could not be installed, bootstrapped or started."""


def venv_dir() -> str:
    """Where the Keystone virtualenv lives (it outlives test runs)."""
    return cached_install.cache_dir('keystone-%s' % KEYSTONE_VERSION,
                                    'MISTRAL_TEST_KEYSTONE_VENV')


def _run(cmd: list[str], what: str, timeout: float,
         env: dict[str, str] | None = None) -> str:
    return cached_install.run(cmd, what, timeout, KeystoneUnavailable,
                              env=env)


def ensure_venv() -> str:
    """The Keystone virtualenv, built on first use; returns its path.

    Building takes about a minute (``pip install keystone==VERSION`` from
    the package index); later calls, in any process, reuse it.
    """
    def build(path: str) -> str:
        return cached_install.venv_with(
            path, ['keystone==%s' % KEYSTONE_VERSION],
            'installing keystone==%s into %s (the auth tests need a real '
            'Keystone from the package index)' % (KEYSTONE_VERSION, path),
            INSTALL_TIMEOUT, KeystoneUnavailable)

    # The venv's python is a link to the base interpreter: gone if that
    # interpreter was removed, and then the venv is rebuilt.
    return cached_install.ensure(
        venv_dir(), build, KeystoneUnavailable,
        usable=lambda path: os.path.exists(
            os.path.join(path, 'bin', 'python')))


_CONF = """\
[DEFAULT]
debug = false
log_file = {tmp}/keystone.log

[database]
connection = sqlite:///{tmp}/keystone.sqlite

[token]
provider = fernet

[fernet_tokens]
key_repository = {tmp}/fernet-keys

[fernet_receipts]
key_repository = {tmp}/fernet-receipts

[credential]
key_repository = {tmp}/credential-keys
"""


class KeystoneServer:
    """A fresh Keystone on SQLite, served on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.port = harness.free_port()
        self.url = 'http://127.0.0.1:%d/v3' % self.port
        self.tmpdir = ''
        self.conf_path = ''
        self.venv = ''
        self.popen: subprocess.Popen | None = None
        self._watchdog: harness.Watchdog | None = None
        self._admin_token = ''
        self._roles: dict[str, str] = {}

    # -- lifecycle

    def __enter__(self) -> KeystoneServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _bin(self, name: str) -> str:
        return os.path.join(self.venv, 'bin', name)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('OS_', 'PYTHON', 'VIRTUAL_ENV'))}
        env['OS_KEYSTONE_CONFIG_FILES'] = self.conf_path
        env['PYTHONWARNINGS'] = 'ignore'
        return env

    def _manage(self, *args: str) -> None:
        _run([self._bin('keystone-manage'), '--config-file', self.conf_path]
             + list(args), 'keystone-manage %s' % args[0], 300,
             env=self._env())

    def start(self) -> None:
        self.venv = ensure_venv()
        self.tmpdir = tempfile.mkdtemp(prefix='mistral-keystone-')
        self._watchdog = harness.Watchdog()
        if not os.environ.get('MISTRAL_TEST_KEEP'):
            self._watchdog.watch('rmtree', self.tmpdir)
        self.conf_path = os.path.join(self.tmpdir, 'keystone.conf')
        with open(self.conf_path, 'w') as f:
            f.write(_CONF.format(tmp=self.tmpdir))
        self._manage('db_sync')
        # Without --keystone-user/group it would chown to "keystone".
        user = group = str(os.getuid())
        for step in ('fernet_setup', 'credential_setup'):
            self._manage(step, '--keystone-user', user,
                         '--keystone-group', group)
        self._manage('bootstrap', '--bootstrap-password', ADMIN_PASSWORD,
                     '--bootstrap-region-id', REGION,
                     '--bootstrap-public-url', self.url,
                     '--bootstrap-internal-url', self.url)
        with open(self.log_path('serve.log'), 'wb') as log:
            self.popen = subprocess.Popen(
                [self._bin('python'), _SERVE, str(self.port)],
                stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self._env(),
                start_new_session=True)
        self._watchdog.watch('pgid', self.popen.pid)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise KeystoneUnavailable(
                    'keystone exited with code %s before it answered.\n%s'
                    % (self.popen.returncode, self.logs()))
            try:
                if requests.get(self.url, timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise KeystoneUnavailable(
                    'keystone did not answer GET %s within %.0fs.\n%s'
                    % (self.url, START_TIMEOUT, self.logs()))
            time.sleep(0.3)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(30)
            except ProcessLookupError:
                pass
        if self.tmpdir and not os.environ.get('MISTRAL_TEST_KEEP'):
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self._watchdog is not None:
            self._watchdog.done()
            self._watchdog = None

    def log_path(self, name: str) -> str:
        return os.path.join(self.tmpdir, name)

    def logs(self, tail: int = 60) -> str:
        parts = []
        for name in ('serve.log', 'keystone.log'):
            try:
                with open(self.log_path(name), errors='replace') as f:
                    lines = f.read().splitlines()[-tail:]
            except OSError:
                continue
            parts.append('----- keystone %s\n%s' % (name, '\n'.join(lines)))
        return '\n'.join(parts)

    # -- Identity API

    def issue(self, username: str, password: str,
              project: str | None) -> tuple[str, dict[str, Any]]:
        """A token (and its body) for the user, scoped to ``project``."""
        auth: dict[str, Any] = {'identity': {
            'methods': ['password'],
            'password': {'user': {'name': username,
                                  'domain': {'id': DOMAIN},
                                  'password': password}}}}
        if project:
            auth['scope'] = {'project': {'name': project,
                                         'domain': {'id': DOMAIN}}}
        r = requests.post(self.url + '/auth/tokens', json={'auth': auth},
                          timeout=60)
        if r.status_code != 201:
            raise KeystoneUnavailable('token for %s failed: %s %s' % (
                username, r.status_code, r.text))
        return r.headers['X-Subject-Token'], r.json()['token']

    def token(self, username: str, password: str,
              project: str | None) -> str:
        return self.issue(username, password, project)[0]

    def admin_token(self) -> str:
        if not self._admin_token:
            self._admin_token = self.token('admin', ADMIN_PASSWORD, 'admin')
        return self._admin_token

    def call(self, method: str, path: str, expect: int = 200,
             **kwargs: Any) -> Any:
        """An Identity API call as the bootstrap admin."""
        headers = kwargs.pop('headers', {})
        headers.setdefault('X-Auth-Token', self.admin_token())
        r = requests.request(method, self.url + path, headers=headers,
                             timeout=60, **kwargs)
        if r.status_code != expect:
            raise KeystoneUnavailable('%s %s: expected %d, got %d %s' % (
                method, path, expect, r.status_code, r.text))
        return r.json() if r.content else None

    def role_id(self, name: str) -> str:
        if not self._roles:
            self._roles = {r['name']: r['id']
                           for r in self.call('GET', '/roles')['roles']}
        return self._roles[name]

    def create_project(self, name: str) -> str:
        body = {'project': {'name': name, 'domain_id': DOMAIN}}
        return self.call('POST', '/projects', 201, json=body)['project']['id']

    def create_user(self, name: str, password: str, project_id: str,
                    role: str) -> str:
        body = {'user': {'name': name, 'password': password,
                         'domain_id': DOMAIN,
                         'default_project_id': project_id}}
        user_id = self.call('POST', '/users', 201, json=body)['user']['id']
        self.grant(user_id, project_id, role)
        return user_id

    def grant(self, user_id: str, project_id: str, role: str) -> None:
        self.call('PUT', '/projects/%s/users/%s/roles/%s' % (
            project_id, user_id, self.role_id(role)), 204)

    def project_id(self, name: str) -> str:
        found = self.call('GET', '/projects', params={'name': name})
        return found['projects'][0]['id']

    def register_endpoint(self, service_type: str, name: str,
                          url: str) -> None:
        """Put a service with a public endpoint into the catalog."""
        service = self.call('POST', '/services', 201, json={'service': {
            'type': service_type, 'name': name}})['service']
        for interface in ('public', 'internal'):
            self.call('POST', '/endpoints', 201, json={'endpoint': {
                'service_id': service['id'], 'interface': interface,
                'region_id': REGION, 'url': url}})

    def revoke(self, token: str) -> None:
        self.call('DELETE', '/auth/tokens', 204,
                  headers={'X-Subject-Token': token})
