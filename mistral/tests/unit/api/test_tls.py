"""The built-in API server over HTTPS ([api] enable_ssl_api, [ssl])."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from oslo_config import cfg

from mistral import exceptions as exc
from mistral.api import app as api_app
from mistral.api import service

CONF = cfg.CONF


def _cert(tmp_path: Any, name: str, issuer: Any = None) -> tuple[str, str]:
    """A certificate for 127.0.0.1 (self-signed unless ``issuer``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    sign_name, sign_key = (subject, key) if issuer is None else issuer
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(sign_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1)))
    if issuer is None:
        import ipaddress

        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
            critical=False).add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True)
    cert = builder.sign(sign_key, hashes.SHA256())
    cert_path, key_path = tmp_path / (name + '.pem'), tmp_path / (
        name + '.key')
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    _cert.keys[name] = (subject, key)  # type: ignore[attr-defined]
    return str(cert_path), str(key_path)


_cert.keys = {}  # type: ignore[attr-defined]


@pytest.fixture
def tls(db: Any, tmp_path: Any) -> Any:
    cert, key = _cert(tmp_path, 'server')
    CONF.set_override('enable_ssl_api', True, group='api')
    CONF.set_override('cert_file', cert, group='ssl')
    CONF.set_override('key_file', key, group='ssl')
    servers = []

    def start() -> service.ApiServer:
        server = service.ApiServer(api_app.setup_app(), host='127.0.0.1',
                                   port=0, threads=2)
        server.start()
        servers.append(server)
        return server

    yield start, cert
    for server in servers:
        server.stop()
    for opt, group in (('enable_ssl_api', 'api'), ('cert_file', 'ssl'),
                       ('key_file', 'ssl'), ('ca_file', 'ssl')):
        CONF.clear_override(opt, group=group)


def test_https(tls: Any) -> None:
    start, cert = tls
    server = start()
    assert server.url.startswith('https://127.0.0.1:')
    r = requests.get(server.url + '/v2/', verify=cert, timeout=30)
    assert r.status_code == 200
    assert r.json() == {'uri': server.url + '/v2'}
    r = requests.get(server.url + '/v2/workflows', verify=cert, timeout=30)
    assert r.status_code == 200 and r.json()['workflows'] == []
    # Plain HTTP on the TLS port gets no API answer.
    plain = server.url.replace('https://', 'http://')
    try:
        r = requests.get(plain + '/v2/', timeout=30)
    except requests.ConnectionError:
        pass
    else:
        assert r.status_code == 400 and 'uri' not in r.text


def test_client_certificate_required_with_ca_file(tls: Any,
                                                  tmp_path: Any) -> None:
    start, cert = tls
    ca_cert, _ = _cert(tmp_path, 'client-ca')
    client_cert, client_key = _cert(
        tmp_path, 'client', issuer=_cert.keys['client-ca'])  # type: ignore
    CONF.set_override('ca_file', ca_cert, group='ssl')
    server = start()
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(server.url + '/v2/', verify=cert, timeout=30)
    r = requests.get(server.url + '/v2/', verify=cert, timeout=30,
                     cert=(client_cert, client_key))
    assert r.status_code == 200


def test_missing_certificate_is_a_clear_error(tls: Any) -> None:
    start, _ = tls
    CONF.set_override('key_file', '/nonexistent/key.pem', group='ssl')
    with pytest.raises(exc.MistralError) as e:
        start()
    assert 'key_file=/nonexistent/key.pem' in str(e.value)
    CONF.clear_override('key_file', group='ssl')
    CONF.set_override('cert_file', None, group='ssl')
    with pytest.raises(exc.MistralError) as e:
        start()
    assert 'needs [ssl] cert_file and key_file' in str(e.value)


def test_ssl_ciphers_apply(tls: Any) -> None:
    # [ssl] ciphers, upstream's (oslo.service) option: the OpenSSL cipher
    # list of TLS 1.2 and older (TLS 1.3 suites are not affected by it).
    start, _ = tls
    CONF.set_override('ciphers', 'ECDHE-RSA-AES256-GCM-SHA384', group='ssl')
    try:
        server = start()
        ciphers = server._server.ssl_adapter.context.get_ciphers()
        older = {c['name'] for c in ciphers if c['protocol'] != 'TLSv1.3'}
        assert older == {'ECDHE-RSA-AES256-GCM-SHA384'}
        CONF.set_override('ciphers', 'NO-SUCH-CIPHER', group='ssl')
        with pytest.raises(exc.MistralError) as e:
            start()
        assert 'ciphers=NO-SUCH-CIPHER' in str(e.value)
    finally:
        CONF.clear_override('ciphers', group='ssl')
