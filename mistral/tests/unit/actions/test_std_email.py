"""std.email against a real SMTP server on 127.0.0.1 (plain and STARTTLS)."""

from __future__ import annotations

import email
from email.header import decode_header

import pytest

from mistral import exceptions
from mistral.actions import runner
from mistral.actions import std
from mistral.tests.unit.actions import servers


@pytest.fixture
def plain_smtp():
    srv = servers.SMTPServer()
    yield srv
    srv.close()


@pytest.fixture
def tls_smtp(tmp_path):
    srv = servers.SMTPServer(cert=servers.self_signed_cert(tmp_path),
                             credentials=('bot@example.com', 's3cret'))
    yield srv
    srv.close()


def _subject(msg):
    text, charset = decode_header(msg['Subject'])[0]
    return text.decode(charset) if isinstance(text, bytes) else text


def test_plain_message(plain_smtp, ctx):
    action = std.SendEmailAction(
        from_addr='bot@example.com', to_addrs=['a@example.com'],
        smtp_server=plain_smtp.address, cc_addrs=['c@example.com'],
        bcc_addrs=['hidden@example.com'], reply_to=['r@example.com'],
        subject='Héllo', body='Body text')
    assert runner.run(action, None, ctx) == {'data': None}
    [mail] = plain_smtp.messages
    assert mail['from'] == 'bot@example.com'
    assert sorted(mail['rcpt']) == ['a@example.com', 'c@example.com',
                                    'hidden@example.com']
    assert mail['tls'] is False and mail['user'] is None
    msg = email.message_from_string(mail['data'])
    assert _subject(msg) == 'Héllo'
    assert msg['To'] == 'a@example.com'
    assert msg['Cc'] == 'c@example.com'
    assert msg['Reply-To'] == 'r@example.com'
    assert 'hidden@example.com' not in mail['data']
    assert not msg.is_multipart()
    assert msg.get_payload(decode=True).decode() == 'Body text'


def test_defaults_and_single_address(plain_smtp, ctx):
    std.SendEmailAction('bot@example.com', 'a@example.com',
                        plain_smtp.address).run(ctx)
    msg = email.message_from_string(plain_smtp.messages[0]['data'])
    assert _subject(msg) == '<No subject>'
    assert msg.get_payload(decode=True).decode() == '<No body>'
    assert plain_smtp.messages[0]['rcpt'] == ['a@example.com']


def test_html_body_is_multipart_alternative(plain_smtp, ctx):
    std.SendEmailAction('bot@example.com', ['a@example.com'],
                        plain_smtp.address, body='plain',
                        html_body='<b>rich</b>').run(ctx)
    msg = email.message_from_string(plain_smtp.messages[0]['data'])
    assert msg.get_content_type() == 'multipart/alternative'
    parts = {p.get_content_type(): p.get_payload(decode=True).decode()
             for p in msg.get_payload()}
    assert parts == {'text/plain': 'plain', 'text/html': '<b>rich</b>'}


def test_starttls_and_login(tls_smtp, ctx):
    std.SendEmailAction('bot@example.com', ['a@example.com'],
                        tls_smtp.address, smtp_password='s3cret',
                        subject='secure').run(ctx)
    [mail] = tls_smtp.messages
    assert mail['tls'] is True
    assert mail['user'] == 'bot@example.com'


def test_wrong_password_fails(tls_smtp, ctx):
    res = runner.run(std.SendEmailAction(
        'bot@example.com', ['a@example.com'], tls_smtp.address,
        smtp_password='wrong'), None, ctx)
    assert 'Failed to send an email message' in res['error']
    assert tls_smtp.messages == []


def test_server_requiring_auth_rejects_anonymous(tls_smtp, ctx):
    with pytest.raises(exceptions.ActionException):
        std.SendEmailAction('bot@example.com', ['a@example.com'],
                            tls_smtp.address).run(ctx)


def test_unreachable_server(ctx):
    with pytest.raises(exceptions.ActionException):
        std.SendEmailAction('bot@example.com', ['a@example.com'],
                            '127.0.0.1:1').run(ctx)
