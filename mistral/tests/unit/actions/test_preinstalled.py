"""The pre-installed std.wait_ssh ad-hoc action parses and runs."""

from __future__ import annotations

from mistral.actions import adhoc
from mistral.actions import preinstalled
from mistral.actions import registry
from mistral.actions import runner
from mistral.lang import parser
from mistral.tests.unit.actions import servers


def test_wait_ssh(ctx, fresh_registry):
    [text] = preinstalled.definitions()
    [spec] = parser.parse_actions(text)
    assert spec.name == 'std.wait_ssh'
    desc = adhoc.AdHocActionDescriptor(
        spec, lookup=lambda name, ns: registry.find(name, ns))
    assert desc.params_spec == 'host, username, password'
    srv = servers.SSHServer()
    try:
        srv.passwords.add(('root', 'pw'))
        res = runner.run(desc, {'host': srv.address, 'username': 'root',
                                'password': 'pw'}, ctx)
        assert 'data' in res, res
        assert srv.commands == ['ls -l']
        res = runner.run(desc, {'host': srv.address, 'username': 'root',
                                'password': 'bad'}, ctx)
        assert 'error' in res
    finally:
        srv.close()
