"""Real servers on 127.0.0.1 for action tests: HTTP, SMTP and SSH."""

from __future__ import annotations

import base64
import datetime
import http.server
import ipaddress
import json
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from typing import Any, Callable
from urllib import parse

import paramiko
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# --------------------------------------------------------------------- HTTP

class _HTTPHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes,
              ctype: str = 'application/json',
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        url = parse.urlsplit(self.path)
        query = dict(parse.parse_qsl(url.query))
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode() if length else ''
        self.server.requests.append(  # type: ignore[attr-defined]
            {'method': self.command, 'path': url.path, 'query': query,
             'headers': dict(self.headers.items()), 'body': body,
             'client': self.client_address})
        if url.path == '/echo':
            data = json.dumps({'method': self.command, 'path': url.path,
                               'query': query, 'body': body,
                               'headers': dict(self.headers.items())})
            self._send(200, data.encode(),
                       headers={'Set-Cookie': 'sid=abc'})
        elif url.path == '/text':
            self._send(200, b'plain words', 'text/plain; charset=utf-8')
        elif url.path.startswith('/status/'):
            code = int(url.path.rsplit('/', 1)[1])
            self._send(code, json.dumps({'code': code}).encode())
        elif url.path == '/redirect':
            self._send(302, b'', headers={'Location': query['to']})
        elif url.path == '/big':
            # Declares a large body but sends little: the client must
            # refuse by Content-Length before reading.
            self.send_response(200)
            self.send_header('Content-Length', query['size'])
            self.end_headers()
            self.wfile.write(b'x' * 10)
        elif url.path == '/chunked':
            size = int(query['size'])
            self.send_response(200)
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            sent = 0
            while sent < size:
                n = min(4096, size - sent)
                self.wfile.write(b'%x\r\n%s\r\n' % (n, b'y' * n))
                sent += n
            self.wfile.write(b'0\r\n\r\n')
        elif url.path == '/slow':
            time.sleep(float(query.get('s', '2')))
            self._send(200, b'"late"')
        else:
            self._send(404, b'{}')

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


class _QuietHTTPServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # Failed TLS handshakes are expected in tests.
        pass


class HTTPServer:
    def __init__(self, cert: tuple[str, str] | None = None) -> None:
        self.server = _QuietHTTPServer(('127.0.0.1', 0), _HTTPHandler)
        self.scheme = 'http'
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*cert)
            self.server.socket = ctx.wrap_socket(self.server.socket,
                                                 server_side=True)
            self.scheme = 'https'
        self.server.daemon_threads = True
        self.server.requests = []  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.server.requests  # type: ignore[attr-defined]

    def url(self, path: str, host: str = '127.0.0.1') -> str:
        return '%s://%s:%s%s' % (self.scheme, host, self.port, path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- TLS cert

def self_signed_cert(tmp_path: Any) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName('localhost'),
                x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_path = tmp_path / 'cert.pem'
    key_path = tmp_path / 'key.pem'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    return str(cert_path), str(key_path)


# --------------------------------------------------------------------- SMTP

class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough ESMTP: EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA."""

    _tls_sock: Any = None

    def finish(self) -> None:
        super().finish()
        if self._tls_sock is not None:
            self._tls_sock.close()

    def _reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b'\r\n')
        self.wfile.flush()

    def handle(self) -> None:
        srv: Any = self.server
        tls = False
        user = None
        mail: dict[str, Any] = {'rcpt': []}
        self._reply('220 localhost test ESMTP')
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode().rstrip('\r\n')
            verb = cmd.split(' ', 1)[0].upper()
            if verb == 'EHLO':
                lines = ['250-localhost']
                if srv.ssl_context and not tls:
                    lines.append('250-STARTTLS')
                if tls:
                    lines.append('250-AUTH PLAIN')
                lines.append('250 8BITMIME')
                self._reply('\r\n'.join(lines))
            elif verb == 'HELO':
                self._reply('250 localhost')
            elif verb == 'STARTTLS' and srv.ssl_context and not tls:
                self._reply('220 go ahead')
                self.connection = self._tls_sock = \
                    srv.ssl_context.wrap_socket(self.connection,
                                                server_side=True)
                self.rfile = self.connection.makefile('rb')
                self.wfile = self.connection.makefile('wb')
                tls = True
            elif verb == 'AUTH' and tls:
                _, mech, blob = cmd.split(' ', 2)
                _, u, p = base64.b64decode(blob).decode().split('\0')
                if (u, p) == srv.credentials:
                    user = u
                    self._reply('235 ok')
                else:
                    self._reply('535 bad credentials')
            elif verb == 'MAIL':
                if srv.credentials and not user:
                    self._reply('530 authentication required')
                    continue
                mail = {'from': cmd.split(':', 1)[1].strip('<> '),
                        'rcpt': [], 'tls': tls, 'user': user}
                self._reply('250 ok')
            elif verb == 'RCPT':
                mail['rcpt'].append(cmd.split(':', 1)[1].strip('<> '))
                self._reply('250 ok')
            elif verb == 'DATA':
                self._reply('354 end with .')
                data = []
                while True:
                    raw = self.rfile.readline().decode()
                    if raw in ('.\r\n', '.\n', ''):
                        break
                    data.append(raw[1:] if raw.startswith('..') else raw)
                mail['data'] = ''.join(data)
                srv.messages.append(mail)
                self._reply('250 queued')
            elif verb == 'QUIT':
                self._reply('221 bye')
                return
            elif verb in ('RSET', 'NOOP'):
                self._reply('250 ok')
            else:
                self._reply('502 not implemented')


class SMTPServer:
    def __init__(self, cert: tuple[str, str] | None = None,
                 credentials: tuple[str, str] | None = None) -> None:
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server: Any = socketserver.ThreadingTCPServer(
            ('127.0.0.1', 0), _SMTPHandler)
        self.server.daemon_threads = True
        self.server.messages = []
        self.server.credentials = credentials
        self.server.ssl_context = None
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*cert)
            self.server.ssl_context = ctx
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    @property
    def address(self) -> str:
        return '127.0.0.1:%s' % self.port

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.server.messages

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------- SSH

def accept_forever(sock: socket.socket,
                   serve: Callable[[socket.socket], None],
                   stopped: Callable[[], bool] = lambda: False) -> None:
    """Serve each connection ``sock`` accepts in a thread of its own,
    until the socket is closed or ``stopped()``."""
    while not stopped():
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


class _SSHInterface(paramiko.ServerInterface):
    def __init__(self, owner: 'SSHServer') -> None:
        self.owner = owner
        self.forwards: dict[int, tuple[str, int]] = {}
        # paramiko sends the reply to an exec request only after
        # check_channel_exec_request returns; a fast command that closes
        # its channel before that reply makes the client fail with
        # "Channel closed". Commands wait for their reply to be sent.
        self.replied: dict[int, threading.Event] = {}

    def watch_replies(self, transport: paramiko.Transport) -> None:
        send = transport._send_user_message

        def send_and_note(m: paramiko.Message) -> None:
            send(m)
            raw = m.asbytes()
            if raw[:1] == bytes([paramiko.common.MSG_CHANNEL_SUCCESS]):
                chan = int.from_bytes(raw[1:5], 'big')
                event = self.replied.get(chan)
                if event is not None:
                    event.set()

        transport._send_user_message = send_and_note

    def get_allowed_auths(self, username: str) -> str:
        return 'password,publickey'

    def check_auth_password(self, username: str, password: str) -> int:
        if (username, password) in self.owner.passwords:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: Any) -> int:
        if (username, key.get_base64()) in self.owner.keys:
            self.owner.key_logins.append((username, key.get_name()))
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == 'session':
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid: int,
                                           origin: Any,
                                           destination: Any) -> int:
        self.forwards[chanid] = destination
        self.owner.forwards.append(tuple(destination))
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: Any,
                                   command: bytes) -> bool:
        cmd = command.decode()
        self.owner.commands.append(cmd)
        replied = self.replied[channel.remote_chanid] = threading.Event()

        def work() -> None:
            replied.wait(10)
            proc = subprocess.run(['sh', '-c', cmd], capture_output=True,
                                  timeout=30)
            channel.sendall(proc.stdout)
            channel.sendall_stderr(proc.stderr)
            channel.send_exit_status(proc.returncode)
            channel.close()

        threading.Thread(target=work, daemon=True).start()
        return True


def _pump(a: Any, b: Any) -> None:
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.close()
            except OSError:
                pass


class SSHServer:
    """An SSH server that runs exec requests with /bin/sh.

    It also serves direct-tcpip channels, so it can act as a gateway.
    """

    _host_key = None

    def __init__(self) -> None:
        if SSHServer._host_key is None:
            SSHServer._host_key = paramiko.RSAKey.generate(2048)
        self.passwords: set[tuple[str, str]] = set()
        self.keys: set[tuple[str, str]] = set()
        self.key_logins: list[tuple[str, str]] = []
        self.commands: list[str] = []
        self.forwards: list[tuple[str, int]] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return '127.0.0.1:%s' % self.port

    def allow_key(self, username: str, key: paramiko.PKey) -> None:
        self.keys.add((username, key.get_base64()))

    def _accept(self) -> None:
        accept_forever(self.sock, self._serve, lambda: self._stop)

    def _serve(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        transport.add_server_key(self._host_key)
        iface = _SSHInterface(self)
        iface.watch_replies(transport)
        try:
            transport.start_server(server=iface)
        except (paramiko.SSHException, EOFError):
            return
        while transport.is_active():
            chan = transport.accept(1)
            if chan is None:
                continue
            dest = iface.forwards.get(chan.get_id())
            if dest is None:
                continue
            upstream = socket.create_connection(tuple(dest), timeout=10)
            threading.Thread(target=_pump, args=(chan, upstream),
                             daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, chan),
                             daemon=True).start()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


# -------------------------------------------------------------- OpenSSH sshd

SSHD_CANDIDATES = ('/usr/sbin/sshd', '/usr/local/sbin/sshd')
SSHD_MISSING = (
    'OpenSSH sshd is not installed (looked for %s and sshd on PATH). '
    'std.ssh is tested against a real sshd: install it with '
    '"apt-get install -y openssh-server" (.ci/run does this).')


def find_sshd() -> str | None:
    import os
    import shutil

    for path in SSHD_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which('sshd')
    # sshd re-executes itself and insists on an absolute path.
    return os.path.abspath(found) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class OpenSSHServer:
    """A real OpenSSH ``sshd`` on 127.0.0.1, started for the tests.

    Everything it uses lives in ``workdir``: its config, an Ed25519 host
    key, the pid file and one ``authorized_keys`` file for every user. It
    runs as the current user, so the only account that can log in is that
    user's, with a key (password logins would need the account's system
    password, which tests must not set).
    """

    def __init__(self, sshd: str, workdir: str) -> None:
        import os

        self.sshd = sshd
        self.workdir = workdir
        self.port = _free_port()
        self.authorized_keys = os.path.join(workdir, 'authorized_keys')
        self.log_path = os.path.join(workdir, 'sshd.log')
        host_key = os.path.join(workdir, 'ssh_host_ed25519_key')
        from cryptography.hazmat.primitives.asymmetric import ed25519

        key = ed25519.Ed25519PrivateKey.generate()
        with open(host_key, 'wb') as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.OpenSSH,
                                      serialization.NoEncryption()))
        # sshd refuses a host key others can read.
        os.chmod(host_key, 0o600)
        open(self.authorized_keys, 'w').close()
        config = os.path.join(workdir, 'sshd_config')
        with open(config, 'w') as f:
            f.write('\n'.join([
                'Port %d' % self.port,
                'ListenAddress 127.0.0.1',
                'HostKey %s' % host_key,
                'PidFile %s' % os.path.join(workdir, 'sshd.pid'),
                'AuthorizedKeysFile %s' % self.authorized_keys,
                # The tmp dir is not owned the way StrictModes wants.
                'StrictModes no',
                'UsePAM no',
                'PermitRootLogin prohibit-password',
                'PubkeyAuthentication yes',
                'PasswordAuthentication yes',
                'KbdInteractiveAuthentication no',
                'AllowTcpForwarding yes',
                'LogLevel VERBOSE',
                '',
            ]))
        if os.geteuid() == 0:
            # The privilege separation directory sshd wants when root.
            os.makedirs('/run/sshd', mode=0o755, exist_ok=True)
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(
            [sshd, '-D', '-e', '-f', config], stdout=self._log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_ready()

    @property
    def address(self) -> str:
        return '127.0.0.1:%d' % self.port

    def log(self) -> str:
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError('sshd exited with %s:\n%s' % (
                    self.proc.returncode, self.log()))
            try:
                with socket.create_connection(('127.0.0.1', self.port),
                                              timeout=2) as s:
                    if s.recv(64).startswith(b'SSH-2.0-OpenSSH'):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError('sshd did not answer on port %d:\n%s'
                                   % (self.port, self.log()))
            time.sleep(0.1)

    def authorize(self, public_line: str) -> None:
        """Add an ``authorized_keys`` line (``<type> <base64>``)."""
        with open(self.authorized_keys, 'a') as f:
            f.write(public_line.strip() + '\n')

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()
