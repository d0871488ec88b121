"""std.ssh / std.ssh_proxied against a real paramiko SSH server."""

from __future__ import annotations

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa

from mistral import exceptions
from mistral.actions import runner
from mistral.actions import ssh_client
from mistral.actions import std
from mistral.tests.unit.actions import servers


def _private_text(kind, passphrase=None):
    if kind == 'rsa':
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    elif kind == 'ecdsa':
        key = ec.generate_private_key(ec.SECP256R1())
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        fmt = serialization.PrivateFormat.OpenSSH
    enc = (serialization.BestAvailableEncryption(passphrase.encode())
           if passphrase else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc).decode()


def _pkey(text, passphrase=None):
    return ssh_client.load_private_key(text, passphrase=passphrase)


@pytest.fixture(scope='module')
def ssh():
    srv = servers.SSHServer()
    srv.passwords.add(('alice', 'pw'))
    yield srv
    srv.close()


def test_password_login_returns_stdout(ssh, ctx):
    res = runner.run(std.SSHAction('echo hello', ssh.address, 'alice',
                                   password='pw'), None, ctx)
    assert res == {'data': 'hello\n'}
    assert 'echo hello' in ssh.commands


def test_nonzero_exit_fails(ssh, ctx):
    with pytest.raises(exceptions.ActionException) as e:
        std.SSHAction('exit 3', ssh.address, 'alice', password='pw').run(ctx)
    assert str(e.value) == "Failed to execute ssh cmd 'exit 3' on %s" % (
        ssh.address)


def test_return_result_on_error(ssh, ctx):
    action = std.SSHAction('echo out; echo err >&2; exit 4', ssh.address,
                           'alice', password='pw',
                           return_result_on_error=True)
    assert action.run(ctx) == {'stdout': 'out\n', 'stderr': 'err\n',
                               'exit_code': 4}


def test_host_list(ssh, ctx):
    action = std.SSHAction('printf x', [ssh.address, ssh.address], 'alice',
                           password='pw')
    assert action.run(ctx) == ['x', 'x']


def test_wrong_password(ssh, ctx):
    res = runner.run(std.SSHAction('true', ssh.address, 'alice',
                                   password='nope'), None, ctx)
    assert "Failed to execute ssh cmd 'true'" in res['error']
    assert 'Authentication' in res['error']


@pytest.mark.parametrize('kind', ['rsa', 'ecdsa', 'ed25519'])
def test_private_key_text(ssh, ctx, kind):
    text = _private_text(kind)
    ssh.allow_key('keyuser', _pkey(text))
    out = std.SSHAction('echo %s' % kind, ssh.address, 'keyuser',
                        private_key=text).run(ctx)
    assert out == '%s\n' % kind
    assert ssh.key_logins[-1][0] == 'keyuser'


def test_encrypted_key_unlocked_by_password(ssh, ctx):
    text = _private_text('ed25519', passphrase='unlock')
    ssh.allow_key('enc', _pkey(text, 'unlock'))
    out = std.SSHAction('echo enc', ssh.address, 'enc', password='unlock',
                        private_key=text).run(ctx)
    assert out == 'enc\n'


def test_private_key_file_under_home_ssh(ssh, ctx, tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    (tmp_path / '.ssh').mkdir()
    text = _private_text('ecdsa')
    (tmp_path / '.ssh' / 'id_test').write_text(text)
    ssh.allow_key('fileuser', _pkey(text))
    out = std.SSHAction('echo file', ssh.address, 'fileuser',
                        private_key_filename='id_test').run(ctx)
    assert out == 'file\n'


@pytest.mark.parametrize('name', ['../id_test', '/etc/ssh/key',
                                  'a/../../b'])
def test_key_file_outside_home_ssh_refused(ssh, ctx, name):
    with pytest.raises(exceptions.ActionException) as e:
        std.SSHAction('true', ssh.address, 'x',
                      private_key_filename=name).run(ctx)
    assert 'private_key_filename' in str(e.value)


def test_garbage_key(ssh, ctx):
    with pytest.raises(exceptions.ActionException) as e:
        std.SSHAction('true', ssh.address, 'x',
                      private_key='not a key').run(ctx)
    assert 'private key' in str(e.value)


def test_unknown_key_rejected(ssh, ctx):
    with pytest.raises(exceptions.ActionException):
        std.SSHAction('true', ssh.address, 'alice',
                      private_key=_private_text('ed25519')).run(ctx)


def test_proxied_through_gateway(ctx):
    gateway = servers.SSHServer()
    target = servers.SSHServer()
    try:
        text = _private_text('rsa')
        gateway.allow_key('gw', _pkey(text))
        target.allow_key('inner', _pkey(text))
        action = std.SSHProxiedAction(
            'echo via-gateway', target.address, 'inner',
            private_key_filename=None, gateway_host=gateway.address,
            gateway_username='gw', private_key=text)
        assert action.run(ctx) == 'via-gateway\n'
        assert gateway.forwards == [('127.0.0.1', target.port)]
        assert target.commands == ['echo via-gateway']
        assert gateway.commands == []
    finally:
        gateway.close()
        target.close()


def test_proxied_gateway_auth_failure(ctx):
    gateway = servers.SSHServer()
    try:
        res = runner.run(std.SSHProxiedAction(
            'true', '127.0.0.1:1', 'u', None, gateway.address,
            password='bad'), None, ctx)
        assert 'Authentication' in res['error']
    finally:
        gateway.close()


def test_split_host():
    assert ssh_client.split_host('h') == ('h', 22)
    assert ssh_client.split_host('h:2222') == ('h', 2222)
    assert ssh_client.split_host('[::1]:2200') == ('::1', 2200)
    assert ssh_client.split_host('::1') == ('::1', 22)


def test_key_types_parse():
    for kind, cls in (('rsa', paramiko.RSAKey), ('ecdsa', paramiko.ECDSAKey),
                      ('ed25519', paramiko.Ed25519Key)):
        assert isinstance(_pkey(_private_text(kind)), cls)
