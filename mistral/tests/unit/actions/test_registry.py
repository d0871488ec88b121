"""The registry: providers, descriptors, input checks and filters."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import zipfile

import pytest

from mistral import exceptions
from mistral.actions import registry
from mistral.actions import runner
from mistral.actions import std

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))

ALL_STD = sorted([
    'std.async_noop', 'std.echo', 'std.email', 'std.fail', 'std.http',
    'std.javascript', 'std.js', 'std.mistral_http', 'std.noop',
    'std.sleep', 'std.ssh', 'std.ssh_proxied', 'std.test_dict'])


def test_all_standard_actions_listed(fresh_registry):
    names = [d.name for d in registry.list_all()]
    assert names == ALL_STD


@pytest.mark.parametrize('name,spec', [
    ('std.noop', ''),
    ('std.async_noop', ''),
    ('std.echo', 'output, delay=0'),
    ('std.fail', 'error_data=null'),
    ('std.sleep', 'seconds=1'),
    ('std.test_dict', 'size=0, key_prefix="", val=""'),
    ('std.http', 'url, method="GET", params=null, body=null, json=null, '
                 'headers=null, cookies=null, auth=null, timeout=null, '
                 'allow_redirects=null, proxies=null, verify=null'),
    ('std.email', 'from_addr, to_addrs, smtp_server, reply_to=null, '
                  'cc_addrs=null, bcc_addrs=null, smtp_password=null, '
                  'subject=null, body=null, html_body=null'),
    ('std.ssh', 'cmd, host, username, password="", '
                'private_key_filename=null, private_key=null, '
                'return_result_on_error=false'),
    ('std.ssh_proxied', 'cmd, host, username, private_key_filename, '
                        'gateway_host, gateway_username=null, '
                        'password=null, proxy_command=null, '
                        'private_key=null'),
    ('std.javascript', 'script, context=null'),
    ('std.js', 'script, context=null'),
])
def test_params_spec(fresh_registry, name, spec):
    desc = registry.find(name)
    assert desc.params_spec == spec


def test_descriptor_fields(fresh_registry):
    desc = registry.find('std.echo', namespace='any-namespace')
    assert desc.name == 'std.echo'
    assert desc.action_class == 'mistral.actions.std.EchoAction'
    assert desc.action_cls is std.EchoAction
    assert desc.is_system is True
    assert desc.namespace == ''
    assert 'output' in desc.description
    assert registry.find('std.nope') is None


def test_check_parameters(fresh_registry):
    desc = registry.find('std.echo')
    desc.check_parameters({'output': 1})
    desc.check_parameters({'output': 1, 'delay': 2})
    with pytest.raises(exceptions.InputException) as e:
        desc.check_parameters({'delay': 1, 'bogus': 2})
    assert str(e.value) == (
        "Invalid input [name=std.echo, class=mistral.actions.std."
        "EchoAction, missing=['output'], unexpected=['bogus']]")
    with pytest.raises(exceptions.InputException) as e:
        desc.check_parameters({})
    assert str(e.value) == (
        "Invalid input [name=std.echo, class=mistral.actions.std."
        "EchoAction, missing=['output']]")
    assert e.value.http_code == 400


def test_instantiate_and_run(fresh_registry, ctx):
    desc = registry.find('std.echo')
    action = desc.instantiate({'output': 'hi'}, {'wf': 'ctx'})
    assert isinstance(action, std.EchoAction)
    assert runner.run(action, None, ctx) == {'data': 'hi'}
    assert runner.run(desc, {'output': 'yo'}, ctx) == {'data': 'yo'}


def test_instantiate_failure_is_an_error_result(fresh_registry, ctx):
    res = runner.run(registry.find('std.echo'), {'nope': 1}, ctx)
    assert 'error' in res and 'nope' in res['error']


def test_setup_cfg_matches_builtin_table():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, 'setup.cfg'))
    section = parser['entry_points']['mistral.actions']
    entries = {}
    for line in section.strip().splitlines():
        name, _, target = line.partition('=')
        entries[name.strip()] = target.strip()
    assert sorted(entries) == ALL_STD
    for name, cls in std.BUILTIN_ACTIONS.items():
        assert entries[name] == 'mistral.actions.std:%s' % cls.__name__
    providers = parser['entry_points']['mistral.action.providers']
    assert 'legacy = mistral.actions.legacy:LegacyActionProvider' in \
        providers


def test_legacy_allow_and_deny_lists(conf):
    conf('allowlist', ['std.e*', 'std.noop'], group='legacy_action_provider')
    conf('denylist', ['std.email'], group='legacy_action_provider')
    registry.reset()
    assert [d.name for d in registry.list_all()] == ['std.echo', 'std.noop']
    assert registry.find('std.email') is None


def test_provider_deny_list(conf):
    conf('denylist', ['leg*'], group='action_providers')
    registry.reset()
    assert registry.list_all() == []
    assert registry.find('std.echo') is None


def test_provider_allow_list(conf):
    conf('allowlist', ['adhoc'], group='action_providers')
    registry.reset()
    assert registry.find('std.echo') is None
    conf('allowlist', ['legacy'], group='action_providers')
    registry.reset()
    assert registry.find('std.echo') is not None


def test_legacy_plugins_can_be_switched_off(conf):
    conf('load_action_plugins', False, group='legacy_action_provider')
    registry.reset()
    assert registry.list_all() == []


# A plugin written against upstream Mistral: only mistral-lib imports.
PLUGIN_SOURCE = '''
from mistral_lib import actions


class GreetAction(actions.Action):
    """Greets somebody."""

    def __init__(self, name, punctuation="!"):
        super(GreetAction, self).__init__()
        self.name = name
        self.punctuation = punctuation

    def run(self, context):
        return actions.Result(data={
            "greeting": "Hello, %s%s" % (self.name, self.punctuation),
            "workflow": context.execution.workflow_name,
            "project": context.security.project_id,
        })


class BrokenAction(actions.Action):
    def run(self, context):
        raise RuntimeError("plugin failure")


# The mistral-extra style: a generator yields action descriptions over
# one base class.
class ClientAction(actions.Action):
    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def run(self, context):
        return {"method": self.method, "kwargs": self.kwargs}


class Generator(object):
    base_action_class = ClientAction

    @classmethod
    def create_actions(cls):
        return [{"name": "acme.servers_list",
                 "class": type("ServersList", (ClientAction,),
                               {"method": "servers.list"}),
                 "description": "Lists servers.",
                 "arg_list": "limit=10"}]


def generators():
    return [Generator]


class AcmeProvider(actions.ActionProvider):
    # Claims std.echo too: the legacy provider comes first and wins.
    def _descs(self):
        return {n: actions.PythonActionDescriptor(n, GreetAction)
                for n in ("acme.provided", "std.echo")}

    def find(self, action_name, namespace=None):
        return self._descs().get(action_name)

    def find_all(self, namespace=None, limit=None, sort_fields=None,
                 sort_dirs=None, **filters):
        return list(self._descs().values())
'''

PLUGIN_CHECK = '''
import json
from mistral.actions import context, registry, runner
ctx = context.build_action_context(
    {"project_id": "p1"}, {"workflow_name": "wf", "action_execution_id": "a"})
greet = registry.find("acme.greet")
broken = registry.find("acme.broken")
gen = registry.find("acme.servers_list")
try:
    gen.check_parameters({"bogus": 1})
    gen_check = "accepted"
except Exception as e:
    gen_check = str(e)
print(json.dumps({
    "providers": [p.name for p in registry.providers()],
    "provided": registry.find("acme.provided").action_class_name,
    "echo": registry.find("std.echo").action_class_name,
    "gen": [gen.params_spec, gen.description,
            runner.run(gen, {"limit": 5}, ctx), gen_check],
    "names": [d.name for d in registry.list_all()],
    "spec": greet.params_spec,
    "description": greet.description,
    "class": greet.action_class,
    "result": runner.run(greet, {"name": "Bob"}, ctx),
    "broken": runner.run(broken, {}, ctx),
}))
'''


def _build_wheel(tmp_path):
    # A wheel is a zip with the module and a .dist-info directory; build
    # it by hand so the test needs no build backend.
    dist = 'acme_mistral_actions-1.0.dist-info'
    files = {
        'acme_actions.py': PLUGIN_SOURCE,
        dist + '/METADATA': 'Metadata-Version: 2.1\n'
                            'Name: acme-mistral-actions\nVersion: 1.0\n',
        dist + '/WHEEL': 'Wheel-Version: 1.0\nGenerator: test\n'
                         'Root-Is-Purelib: true\nTag: py3-none-any\n',
        dist + '/entry_points.txt':
            '[mistral.actions]\n'
            'acme.greet = acme_actions:GreetAction\n'
            'acme.broken = acme_actions:BrokenAction\n'
            '[mistral.generators]\n'
            'acme = acme_actions:generators\n'
            '[mistral.action.providers]\n'
            'acme = acme_actions:AcmeProvider\n',
        dist + '/RECORD': '',
    }
    path = tmp_path / 'acme_mistral_actions-1.0-py3-none-any.whl'
    with zipfile.ZipFile(path, 'w') as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def test_third_party_plugin_installed_with_pip(tmp_path):
    wheel = _build_wheel(tmp_path)
    target = tmp_path / 'site'
    subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-index',
         '--disable-pip-version-check', '--target', str(target),
         str(wheel)], check=True, capture_output=True)
    assert (target / 'acme_actions.py').exists()

    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(target), ROOT])
    out = subprocess.run([sys.executable, '-c', PLUGIN_CHECK], env=env,
                         check=True, capture_output=True, text=True,
                         cwd=str(tmp_path))
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert 'acme.greet' in data['names'] and 'std.echo' in data['names']
    assert data['spec'] == 'name, punctuation="!"'
    assert data['description'] == 'Greets somebody.'
    assert data['class'] == 'acme_actions.GreetAction'
    assert data['result'] == {'data': {
        'greeting': 'Hello, Bob!', 'workflow': 'wf', 'project': 'p1'}}
    assert data['providers'][0] == 'legacy'
    assert data['providers'][-1] == 'acme'
    assert data['provided'] == 'acme_actions.GreetAction'
    assert data['echo'] == 'mistral.actions.std.EchoAction'
    assert data['gen'] == [
        'limit=10', 'Lists servers.',
        {'data': {'method': 'servers.list', 'kwargs': {'limit': 5}}},
        "Invalid input [name=acme.servers_list, class=acme_actions."
        "ClientAction, unexpected=['bogus']]"]
    error = data['broken']['error']
    assert error.startswith('The action raised an exception [action=<'
                            'acme_actions.BrokenAction object at ')
    assert error.endswith(", action_ex_id=a, msg='plugin failure']")


def test_check_parameters_uses_the_signature():
    from mistral_lib import actions as ml_actions

    from mistral.actions import descriptor

    class ListDefault(ml_actions.Action):
        # A list default is what this test is about.
        def __init__(self, a, b=[1, 2], *args, c=None):  # noqa: B006
            pass

        def run(self, context):
            return None

    class AnyInput(ml_actions.Action):
        def __init__(self, a, **kwargs):
            pass

        def run(self, context):
            return None

    desc = descriptor.PythonActionDescriptor('t.list', ListDefault)
    assert desc.params_spec == 'a, b=[1, 2]'
    desc.check_parameters({'a': 1, 'c': 2})
    with pytest.raises(exceptions.InputException) as e:
        desc.check_parameters({'b': 1})
    assert "missing=['a']" in str(e.value)
    any_desc = descriptor.PythonActionDescriptor('t.any', AnyInput)
    assert any_desc.params_spec == 'a, **kwargs'
    any_desc.check_parameters({'whatever': 1})
