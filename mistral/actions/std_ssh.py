"""std.ssh and std.ssh_proxied: run a shell command on remote hosts."""

from __future__ import annotations

import logging
from typing import Any

from mistral_lib import actions

from mistral import exceptions
from mistral.actions import ssh_client

LOG = logging.getLogger(__name__)


class SSHAction(actions.Action):
    """Runs a command over SSH on one host or on a list of hosts.

    ``host`` may carry a port (``host:2222``). Authentication uses
    ``password`` and/or a private key (RSA, ECDSA or Ed25519), given as
    text in ``private_key`` or as a file name under ``~/.ssh`` in
    ``private_key_filename``; ``password`` also unlocks an encrypted key.
    The executor's own keys (``~/.ssh/id_*``) and its ssh-agent are tried
    as well, as upstream does.
    The result is the command's stdout for a single host, or a list in
    host order for a list of hosts. A non-zero exit status fails the
    action unless ``return_result_on_error`` is true, in which case each
    result is a dict with ``stdout``, ``stderr`` and ``exit_code``.
    """

    def __init__(self, cmd, host, username, password="",
                 private_key_filename=None, private_key=None,
                 return_result_on_error=False):
        super().__init__()
        self.cmd = cmd
        self.host = host
        self.username = username
        self.password = password
        self.private_key_filename = private_key_filename
        self.private_key = private_key
        self.return_result_on_error = return_result_on_error

    def _route(self) -> dict[str, Any]:
        return {}

    def _failure(self, host: str) -> exceptions.ActionException:
        return exceptions.ActionException(
            "Failed to execute ssh cmd '%s' on %s" % (self.cmd, host))

    def _run_on(self, host: str) -> Any:
        try:
            res = ssh_client.execute(
                self.cmd, host, self.username, password=self.password,
                private_key=self.private_key,
                private_key_filename=self.private_key_filename,
                **self._route())
        except ssh_client.SSHError as e:
            # Keep the generic message first (it is what upstream shows)
            # and add the reason, which carries no secrets.
            LOG.warning('ssh to %s failed: %s', host, e)
            raise exceptions.ActionException('%s: %s' % (
                self._failure(host), e)) from e
        except Exception as e:
            LOG.exception('ssh to %s failed', host)
            raise exceptions.ActionException('%s: %s' % (
                self._failure(host), e)) from e
        if self.return_result_on_error:
            return res.as_dict()
        if res.exit_code != 0:
            LOG.info('ssh cmd on %s exited with %s: %s', host,
                     res.exit_code, res.stderr[:1024])
            raise self._failure(host)
        return res.stdout

    def run(self, context: Any) -> Any:
        if isinstance(self.host, (list, tuple)):
            return [self._run_on(h) for h in self.host]
        return self._run_on(self.host)


class SSHProxiedAction(SSHAction):
    """Runs a command over SSH on hosts reached through a gateway.

    The connection to ``host`` is tunnelled through ``gateway_host``
    (logging in as ``gateway_username``, default ``username``, with the
    same credentials), or through ``proxy_command`` when it is set.
    Results and failures are as for std.ssh.
    """

    def __init__(self, cmd, host, username, private_key_filename,
                 gateway_host, gateway_username=None, password=None,
                 proxy_command=None, private_key=None):
        super().__init__(cmd, host, username, password=password,
                         private_key_filename=private_key_filename,
                         private_key=private_key)
        self.gateway_host = gateway_host
        self.gateway_username = gateway_username
        self.proxy_command = proxy_command

    def _route(self) -> dict[str, Any]:
        return {'gateway_host': self.gateway_host,
                'gateway_username': self.gateway_username,
                'proxy_command': self.proxy_command}
