"""std.ssh and std.ssh_proxied against a real OpenSSH ``sshd``.

The test starts ``sshd`` (Debian package ``openssh-server``) on a free
port of 127.0.0.1 with its own host key, config and ``authorized_keys`` in
a tmp dir, running as the current user. It never skips: without sshd it
fails and says how to install it.

Logins use RSA and Ed25519 keys. Password logins would need the account's
system password, which a test must not set; a wrong password is checked
here (OpenSSH refuses it) and successful password logins are checked
against the paramiko server in ``test_std_ssh.py``.
"""

from __future__ import annotations

import getpass
from typing import Any, Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa

from mistral import exceptions
from mistral.actions import runner
from mistral.actions import std
from mistral.tests.unit.actions import servers

USER = getpass.getuser()


def _keypair(kind: str) -> tuple[str, str]:
    """(private key text, authorized_keys line)."""
    if kind == 'rsa':
        key: Any = rsa.generate_private_key(public_exponent=65537,
                                            key_size=2048)
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        fmt = serialization.PrivateFormat.OpenSSH
    private = key.private_bytes(serialization.Encoding.PEM, fmt,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH).decode()
    return private, public


@pytest.fixture(scope='module')
def sshd(tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[servers.OpenSSHServer]:
    path = servers.find_sshd()
    if path is None:
        pytest.fail(servers.SSHD_MISSING
                    % ', '.join(servers.SSHD_CANDIDATES), pytrace=False)
    srv = servers.OpenSSHServer(path, str(tmp_path_factory.mktemp('sshd')))
    yield srv
    srv.close()


@pytest.fixture(scope='module')
def keys(sshd: servers.OpenSSHServer) -> dict[str, str]:
    """Private key texts by type; their public halves are authorized."""
    out = {}
    for kind in ('rsa', 'ed25519'):
        private, public = _keypair(kind)
        sshd.authorize(public)
        out[kind] = private
    return out


def test_the_server_is_openssh(sshd):
    import socket

    with socket.create_connection(('127.0.0.1', sshd.port), timeout=10) as s:
        assert s.recv(64).startswith(b'SSH-2.0-OpenSSH_')


@pytest.mark.parametrize('kind', ['rsa', 'ed25519'])
def test_key_login_returns_stdout(sshd, keys, ctx, kind):
    res = runner.run(std.SSHAction('echo hello-%s' % kind, sshd.address,
                                   USER, private_key=keys[kind]), None, ctx)
    assert res == {'data': 'hello-%s\n' % kind}
    # sshd logs which key type let the user in.
    expected = {'rsa': 'RSA', 'ed25519': 'ED25519'}[kind]
    assert any('Accepted publickey for %s' % USER in line
               and expected in line for line in sshd.log().splitlines())


def test_command_runs_as_the_user_in_a_shell(sshd, keys, ctx):
    out = std.SSHAction('id -un; echo "$((6 * 7))"', sshd.address, USER,
                        private_key=keys['ed25519']).run(ctx)
    assert out == '%s\n42\n' % USER


def test_nonzero_exit_fails(sshd, keys, ctx):
    res = runner.run(std.SSHAction('exit 3', sshd.address, USER,
                                   private_key=keys['rsa']), None, ctx)
    # The runner wraps it in upstream's "The action raised an exception
    # [...]" text.
    assert res['error'].startswith('The action raised an exception')
    assert ("msg='Failed to execute ssh cmd 'exit 3' on %s'"
            % sshd.address) in res['error']


def test_return_result_on_error(sshd, keys, ctx):
    action = std.SSHAction('echo out; echo err >&2; exit 4', sshd.address,
                           USER, private_key=keys['ed25519'],
                           return_result_on_error=True)
    assert action.run(ctx) == {'stdout': 'out\n', 'stderr': 'err\n',
                               'exit_code': 4}


def test_host_list(sshd, keys, ctx):
    action = std.SSHAction('printf x', [sshd.address, sshd.address], USER,
                           private_key=keys['rsa'])
    assert action.run(ctx) == ['x', 'x']


def test_private_key_file_under_home_ssh(sshd, keys, ctx, tmp_path,
                                         monkeypatch):
    # Only the client's HOME moves; sshd keeps its own files.
    monkeypatch.setenv('HOME', str(tmp_path))
    (tmp_path / '.ssh').mkdir()
    (tmp_path / '.ssh' / 'id_ed25519').write_text(keys['ed25519'])
    out = std.SSHAction('echo from-file', sshd.address, USER,
                        private_key_filename='id_ed25519').run(ctx)
    assert out == 'from-file\n'


def test_unauthorized_key_is_refused(sshd, ctx):
    stranger, _ = _keypair('ed25519')
    res = runner.run(std.SSHAction('true', sshd.address, USER,
                                   private_key=stranger), None, ctx)
    assert ("Failed to execute ssh cmd 'true' on %s" % sshd.address
            in res['error'])
    assert 'Authentication' in res['error']


def test_wrong_password_is_refused(sshd, ctx):
    with pytest.raises(exceptions.ActionException) as e:
        std.SSHAction('true', sshd.address, USER,
                      password='not-the-password').run(ctx)
    assert 'Authentication' in str(e.value)


def test_proxied_through_openssh_gateway(sshd, keys, ctx):
    before = sshd.log().count('Accepted publickey for %s' % USER)
    action = std.SSHProxiedAction(
        'echo via-gateway', sshd.address, USER, private_key_filename=None,
        gateway_host=sshd.address, private_key=keys['rsa'])
    assert action.run(ctx) == 'via-gateway\n'
    # Two logins: the gateway, then the target through the tunnel.
    assert sshd.log().count('Accepted publickey for %s' % USER) == before + 2


def test_missing_sshd_is_reported_not_skipped(monkeypatch):
    monkeypatch.setattr(servers, 'SSHD_CANDIDATES', ('/nonexistent/sshd',))
    monkeypatch.setenv('PATH', '/nonexistent')
    assert servers.find_sshd() is None
    msg = servers.SSHD_MISSING % '/nonexistent/sshd'
    assert 'apt-get install -y openssh-server' in msg
