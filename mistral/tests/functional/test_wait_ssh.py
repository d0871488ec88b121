"""std.wait_ssh, upstream's pre-installed ad-hoc action, against a real
OpenSSH ``sshd`` (see ``test_std_ssh_openssh.py``), on every backend of
the matrix.

As upstream's, it takes ``host``, ``username`` and ``password`` only and
runs ``ls -l`` over std.ssh, which also tries the executor's own keys
(``~/.ssh/id_*``): a task with a retry policy waits until the host
answers. The servers run with ``HOME`` in a tmp dir whose
``.ssh/id_ed25519`` the test sshd authorizes; the account's password is
never known (tests must not set one).
"""

from __future__ import annotations

import getpass
import json
import os
import signal
import subprocess
from typing import Any, Iterator

import pytest
import requests

from mistral.tests.functional import harness
from mistral.tests.unit.actions import servers
from mistral.tests.unit.actions import test_std_ssh_openssh as openssh

USER = getpass.getuser()

WF = """---
version: '2.0'
wait_for_host:
  input:
    - host
    - user
    - retries: 60
  tasks:
    wait:
      action: std.wait_ssh
      input:
        host: <% $.host %>
        username: <% $.user %>
        password: not-the-password
      retry:
        count: <% $.retries %>
        delay: 1
      publish:
        listing: <% task().result %>
  output:
    listing: <% $.listing %>
"""


def _sshd_path() -> str:
    path = servers.find_sshd()
    if path is None:
        pytest.fail(servers.SSHD_MISSING
                    % ', '.join(servers.SSHD_CANDIDATES), pytrace=False)
    return path


@pytest.fixture(scope='module', autouse=True)
def executor_home(tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[str]:
    """HOME of the servers started by this module: a key of its own."""
    home = tmp_path_factory.mktemp('executor-home')
    ssh_dir = home / '.ssh'
    ssh_dir.mkdir(mode=0o700)
    private, public = openssh._keypair('ed25519')
    key = ssh_dir / 'id_ed25519'
    key.write_text(private)
    key.chmod(0o600)
    saved = {k: os.environ.get(k) for k in ('HOME', 'SSH_AUTH_SOCK')}
    os.environ['HOME'] = str(home)
    os.environ.pop('SSH_AUTH_SOCK', None)  # no agent of the caller's
    try:
        yield public
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope='module')
def populated(deployment: harness.Deployment) -> harness.Deployment:
    # What an operator runs after "upgrade head" (the harness ran that).
    proc = subprocess.run(
        [harness._script('mistral-db-manage'), '--config-file',
         deployment.conf_path, 'populate'], capture_output=True, text=True,
        timeout=120, env=deployment._child_env(), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    deployment.client().workflows.create(WF)
    return deployment


def _attempts(client: Any, execution_id: str) -> list[Any]:
    return [a for t in client.tasks.list(execution_id)
            for a in client.action_executions.list(t.id)]


def test_listed_with_upstreams_input(populated: harness.Deployment) -> None:
    got = requests.get(populated.api_url + '/actions/std.wait_ssh',
                       timeout=30).json()
    assert got['name'] == 'std.wait_ssh'
    assert got['input'] == 'host, username, password'
    assert got['namespace'] == '' and got['scope'] == 'public'
    assert 'base: std.ssh' in got['definition']


def test_waits_until_the_host_answers(populated: harness.Deployment,
                                      executor_home: str, tmp_path: Any,
                                      monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    client = populated.client()
    port = servers._free_port()  # nothing listens there yet
    ex = client.executions.create('wait_for_host', workflow_input={
        'host': '127.0.0.1:%d' % port, 'user': USER})

    def failed_attempts() -> list[Any]:
        return [a for a in _attempts(client, ex.id) if a.state == 'ERROR']

    # Refused connections, retried.
    harness.wait_for(lambda: len(failed_attempts()) >= 2, 60,
                     'two failed attempts while nothing listens',
                     logs=lambda: populated.logs(tail=60))
    assert 'Cannot connect to 127.0.0.1:%d' % port in \
        failed_attempts()[0].state_info
    monkeypatch.setattr(servers, '_free_port', lambda: port)
    sshd = servers.OpenSSHServer(_sshd_path(), str(tmp_path))
    try:
        sshd.authorize(executor_home)
        done = populated.wait_execution(ex.id, 90)
        assert done.state == 'SUCCESS', (done.state_info, sshd.log())
        listing = json.loads(done.output)['listing']
        assert listing.startswith('total '), listing
        assert 'Accepted publickey for %s' % USER in sshd.log()
    finally:
        sshd.close()


def test_refused_login_fails(populated: harness.Deployment, tmp_path: Any
                             ) -> None:
    client = populated.client()
    sshd = servers.OpenSSHServer(_sshd_path(), str(tmp_path))
    try:
        # The executor's key is not authorized here and the password is
        # wrong: the host answers and refuses.
        ex = client.executions.create('wait_for_host', workflow_input={
            'host': sshd.address, 'user': USER, 'retries': 0})
        done = populated.wait_execution(ex.id, 90)
        assert done.state == 'ERROR'
        [attempt] = _attempts(client, ex.id)
        assert 'Authentication to %s as %s failed' % (sshd.address, USER) \
            in attempt.state_info
    finally:
        sshd.close()


def test_a_new_sqlite_database_gets_it_at_start(tmp_path: Any) -> None:
    # No "mistral-db-manage" at all: the server creates the SQLite schema
    # and installs what "populate" installs; a restart keeps the row.
    port = harness.free_port()
    conf = tmp_path / 'mistral.conf'
    conf.write_text(
        '[DEFAULT]\ntransport_url = fake:/\n[pecan]\nauth_enable = false\n'
        '[api]\nhost = 127.0.0.1\nport = %d\n[database]\nconnection = '
        'sqlite:///%s\n' % (port, tmp_path / 'fresh.sqlite'))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('MISTRAL_CONFIG_', 'OS_'))}
    env['MISTRAL_STATE_DIR'] = str(tmp_path / 'state')
    url = 'http://127.0.0.1:%d/v2' % port
    ids = []
    for _ in range(2):
        log = open(tmp_path / 'server.log', 'ab')
        proc = subprocess.Popen(
            [harness._script('mistral-server'), '--config-file', str(conf),
             '--server', 'api'], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            def answers(proc: subprocess.Popen[bytes] = proc) -> bool:
                assert proc.poll() is None, \
                    (tmp_path / 'server.log').read_text()[-4000:]
                try:
                    return requests.get(url + '/', timeout=5).ok
                except requests.RequestException:
                    return False

            harness.wait_for(answers, 60, 'the server to answer')
            got = requests.get(url + '/actions/std.wait_ssh', timeout=30)
            assert got.status_code == 200, got.text
            assert got.json()['input'] == 'host, username, password'
            ids.append(got.json()['id'])
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()
    assert ids[0] == ids[1]
