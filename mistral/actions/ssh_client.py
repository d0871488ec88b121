"""Running a command over SSH with paramiko (used by std.ssh*)."""

from __future__ import annotations

import dataclasses
import io
import os
from typing import Any

import paramiko

from mistral import exceptions

CONNECT_TIMEOUT = 30
DEFAULT_PORT = 22

# Key types tried, in order, when a private key is given as text or file.
_KEY_CLASSES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


class SSHError(exceptions.ActionException):
    """Connecting or authenticating to an SSH host failed."""


@dataclasses.dataclass
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str

    def as_dict(self) -> dict[str, Any]:
        return {'stdout': self.stdout, 'stderr': self.stderr,
                'exit_code': self.exit_code}


def split_host(host: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` -> (host, port)."""
    host = host.strip()
    if host.startswith('['):
        addr, _, rest = host[1:].partition(']')
        port = rest[1:] if rest.startswith(':') else ''
        return addr, int(port) if port else DEFAULT_PORT
    if host.count(':') == 1:
        addr, port = host.split(':')
        return addr, int(port)
    return host, DEFAULT_PORT


def key_dir() -> str:
    """Directory private_key_filename is relative to."""
    return os.path.join(os.path.expanduser('~'), '.ssh')


def _key_path(filename: str) -> str:
    # The file name comes from a workflow; confine it to ~/.ssh so a user
    # cannot make the executor read arbitrary files.
    parts = filename.replace('\\', '/').split('/')
    if os.path.isabs(filename) or '..' in parts:
        raise SSHError(
            'private_key_filename must be a file name inside %s'
            % key_dir())
    return os.path.join(key_dir(), filename)


def _parse_key(text: str, passphrase: str | None) -> paramiko.PKey:
    errors = []
    for cls in _KEY_CLASSES:
        try:
            return cls.from_private_key(io.StringIO(text),
                                        password=passphrase or None)
        except (paramiko.SSHException, ValueError) as e:
            errors.append('%s: %s' % (cls.__name__, e))
    raise SSHError('Unsupported or invalid private key (%s)'
                   % '; '.join(errors))


def load_private_key(private_key: str | None = None,
                     private_key_filename: str | None = None,
                     passphrase: str | None = None) -> paramiko.PKey | None:
    """A key object from PEM/OpenSSH text or a file under ~/.ssh."""
    if private_key:
        return _parse_key(private_key, passphrase)
    if private_key_filename:
        path = _key_path(private_key_filename)
        try:
            with open(path, encoding='utf-8') as f:
                return _parse_key(f.read(), passphrase)
        except OSError as e:
            raise SSHError('Cannot read private key %s: %s'
                           % (private_key_filename, e.strerror)) from e
    return None


def connect(host: str, username: str, password: str | None = None,
            pkey: paramiko.PKey | None = None, sock: Any = None,
            timeout: float = CONNECT_TIMEOUT) -> paramiko.SSHClient:
    hostname, port = split_host(host)
    client = paramiko.SSHClient()
    # Hosts are addressed dynamically by workflows; there is no
    # known_hosts to check them against.
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        # As upstream: besides the given password and key, the executor's
        # own keys (~/.ssh/id_*) and its ssh-agent are tried, so that
        # std.wait_ssh (host, username, password only) reaches hosts that
        # take the executor's key.
        client.connect(hostname, port=port, username=username,
                       password=password or None, pkey=pkey, sock=sock,
                       timeout=timeout, banner_timeout=timeout,
                       auth_timeout=timeout, look_for_keys=True,
                       allow_agent=True)
    except paramiko.AuthenticationException as e:
        client.close()
        raise SSHError('Authentication to %s as %s failed: %s'
                       % (host, username, e)) from e
    except (paramiko.SSHException, OSError) as e:
        client.close()
        raise SSHError('Cannot connect to %s: %s' % (host, e)) from e
    return client


def run_command(client: paramiko.SSHClient, cmd: str) -> CommandResult:
    _, stdout, stderr = client.exec_command(cmd)
    # Read both streams before asking for the status so that a chatty
    # command cannot block on a full window.
    out = stdout.read().decode('utf-8', 'replace')
    err = stderr.read().decode('utf-8', 'replace')
    code = stdout.channel.recv_exit_status()
    return CommandResult(code, out, err)


def execute(cmd: str, host: str, username: str, password: str | None = None,
            private_key: str | None = None,
            private_key_filename: str | None = None,
            gateway_host: str | None = None,
            gateway_username: str | None = None,
            proxy_command: str | None = None) -> CommandResult:
    """Run ``cmd`` on ``host``, optionally through a gateway host."""
    pkey = load_private_key(private_key, private_key_filename, password)
    gateway = None
    sock: Any = None
    try:
        if proxy_command:
            sock = paramiko.ProxyCommand(proxy_command)
        elif gateway_host:
            gateway = connect(gateway_host, gateway_username or username,
                              password, pkey)
            transport = gateway.get_transport()
            assert transport is not None
            try:
                sock = transport.open_channel(
                    'direct-tcpip', split_host(host), ('127.0.0.1', 0),
                    timeout=CONNECT_TIMEOUT)
            except (paramiko.SSHException, OSError) as e:
                raise SSHError('Gateway %s cannot reach %s: %s'
                               % (gateway_host, host, e)) from e
        client = connect(host, username, password, pkey, sock=sock)
        try:
            return run_command(client, cmd)
        finally:
            client.close()
    finally:
        if gateway is not None:
            gateway.close()
