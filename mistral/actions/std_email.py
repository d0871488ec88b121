"""std.email: send a message through an SMTP server."""

from __future__ import annotations

import logging
import smtplib
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

from mistral_lib import actions

from mistral import exceptions

LOG = logging.getLogger(__name__)

SMTP_TIMEOUT = 60


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


class SendEmailAction(actions.Action):
    """Sends an email through the SMTP server ``smtp_server`` (host[:port]).

    When ``smtp_password`` is given the connection is upgraded with
    STARTTLS and the sender logs in as ``from_addr``. With ``html_body`` the
    message is multipart/alternative carrying both the plain ``body`` and
    the HTML version. The action returns no result.
    """

    def __init__(self, from_addr, to_addrs, smtp_server, reply_to=None,
                 cc_addrs=None, bcc_addrs=None, smtp_password=None,
                 subject=None, body=None, html_body=None):
        super().__init__()
        self.sender = from_addr
        self.to = _as_list(to_addrs)
        self.smtp_server = smtp_server
        self.reply_to = _as_list(reply_to)
        self.cc = _as_list(cc_addrs)
        self.bcc = _as_list(bcc_addrs)
        self.password = smtp_password
        self.subject = subject or '<No subject>'
        self.body = body or '<No body>'
        self.html_body = html_body

    def _message(self) -> str:
        if self.html_body:
            msg: Any = MIMEMultipart('alternative')
            msg.attach(MIMEText(self.body, 'plain', _charset='utf-8'))
            msg.attach(MIMEText(self.html_body, 'html', _charset='utf-8'))
        else:
            msg = MIMEText(self.body, _charset='utf-8')
        msg['Subject'] = Header(self.subject, 'utf-8')
        msg['From'] = self.sender
        msg['To'] = ', '.join(self.to)
        if self.reply_to:
            msg['Reply-To'] = ', '.join(self.reply_to)
        if self.cc:
            msg['Cc'] = ', '.join(self.cc)
        # Bcc recipients get the message but never appear in a header.
        return msg.as_string()

    def run(self, context: Any) -> None:
        LOG.info('Sending email [from=%s, to=%s, cc=%s, bcc=%s, smtp=%s]',
                 self.sender, self.to, self.cc, self.bcc, self.smtp_server)
        recipients = self.to + self.cc + self.bcc
        try:
            with smtplib.SMTP(self.smtp_server,
                              timeout=SMTP_TIMEOUT) as smtp:
                if self.password is not None:
                    smtp.ehlo()
                    smtp.starttls()
                    smtp.ehlo()
                    smtp.login(self.sender, self.password)
                smtp.sendmail(self.sender, recipients, self._message())
        except (smtplib.SMTPException, OSError) as e:
            raise exceptions.ActionException(
                'Failed to send an email message: %s' % e) from e
        return None
