"""What plugins written for upstream Mistral rely on: results that are
objects, the thread's application context, generated actions without an
argument list, pre-installed workflow entry points that return paths, and
the mistral.workflow.utils import path."""

from __future__ import annotations

import datetime
import json
import threading
from importlib import metadata
from typing import Any

import pytest
from mistral_lib import actions as ml_actions
from mistral_lib import utils as ml_utils

from mistral.actions import context as action_context
from mistral.actions import descriptor
from mistral.actions import legacy
from mistral.actions import preinstalled
from mistral.actions import results
from mistral.actions import runner


class Server:
    """Like a python-*client resource: data and a manager object."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.created = datetime.datetime(2024, 5, 1, 12, 30)
        self.manager = Manager()


class Manager:
    def __init__(self) -> None:
        self.endpoint = 'http://nova'
        self.tags = {'a'}


class Slotted:
    __slots__ = ('x',)

    def __init__(self) -> None:
        self.x = 1


class Returns(ml_actions.Action):
    def __init__(self, value: Any) -> None:
        self.value = value

    def run(self, context: Any) -> Any:
        value = self.value() if callable(self.value) else self.value
        return value


def _servers():
    yield Server('a')
    yield Server('b')


def test_objects_become_dicts_of_their_attributes(ctx):
    res = runner.run(Returns(Server('web')), None, ctx)
    assert res == {'data': {
        'name': 'web', 'created': '2024-05-01T12:30:00.000000',
        'manager': {'endpoint': 'http://nova', 'tags': ['a']}}}
    json.dumps(res)


def test_generators_become_lists(ctx):
    res = runner.run(Returns(_servers), None, ctx)
    assert [s['name'] for s in res['data']] == ['a', 'b']
    nested = runner.run(Returns(lambda: {'items': _servers()}), None, ctx)
    assert [s['name'] for s in nested['data']['items']] == ['a', 'b']


def test_result_objects_are_converted_too(ctx):
    res = runner.run(Returns(ml_actions.Result(data=Server('x'))), None, ctx)
    assert res['data']['name'] == 'x'
    err = runner.run(Returns(ml_actions.Result(error=ValueError('bad'))),
                     None, ctx)
    assert err == {'error': "ValueError('bad')"}


def test_plain_results_are_left_alone(ctx):
    value = {'a': [1, 2.5, None, True, 'x']}
    res = runner.run(Returns(value), None, ctx)
    assert res == {'data': value}
    assert res['data'] is value


@pytest.mark.parametrize('value,what', [
    (Slotted(), 'Slotted'),
    ({'k': [Slotted()]}, 'Slotted'),
    (b'\xff\xfe', 'utf-8'),
])
def test_unencodable_result_fails_the_action(ctx, value, what):
    res = runner.run(Returns(value), None, ctx)
    assert set(res) == {'error'}
    assert res['error'].startswith('The action result (of type ')
    assert 'cannot be stored as JSON' in res['error']
    assert what in res['error']


def test_deep_objects_are_cut_as_upstream():
    class Node:
        def __init__(self, depth: int) -> None:
            self.depth = depth
            self.child = Node(depth + 1) if depth < 6 else None

    value = results.to_primitive(Node(0))
    levels = 0
    while isinstance(value, dict):
        levels += 1
        value = value['child']
    # oslo.serialization's max_depth (3): deeper instances become None.
    assert value is None and 3 <= levels <= 5


class ReadsAppContext(ml_actions.Action):
    """What mistral-extra does: the request context of the thread."""

    def run(self, context: Any) -> Any:
        app = ml_utils.get_thread_local(runner.APP_CTX_NAME)
        return {'project': app.project_id, 'token': app.auth_token,
                'user': app.user_id, 'auth_uri': app.auth_uri,
                'thread': threading.current_thread().name}


@pytest.mark.parametrize('timeout', [None, 5])
def test_application_context_is_the_callers(ctx, timeout):
    app = action_context.application_context({
        'project_id': 'p1', 'auth_token': 'tok', 'user_id': 'u1',
        'auth_uri': 'http://keystone/v3'})
    res = runner.run(ReadsAppContext(), None, ctx, timeout=timeout,
                     request_ctx=app)
    assert {k: v for k, v in res['data'].items() if k != 'thread'} == {
        'project': 'p1', 'token': 'tok', 'user': 'u1',
        'auth_uri': 'http://keystone/v3'}
    # Removed again: the next action on this thread is somebody else's.
    assert not ml_utils.has_thread_local(runner.APP_CTX_NAME)


def test_application_context_defaults_to_this_keystone(conf):
    conf('www_authenticate_uri', 'http://ks:5000/v3',
         group='keystone_authtoken')
    conf('cafile', '/etc/ca.pem', group='keystone_authtoken')
    app = action_context.application_context({'project_id': 'p'})
    assert (app.auth_uri, app.auth_cacert) == ('http://ks:5000/v3',
                                               '/etc/ca.pem')
    target = action_context.application_context({
        'project_id': 'p', 'is_target': True, 'auth_uri': 'http://other'})
    assert (target.auth_uri, target.auth_cacert) == ('http://other', None)


class Generated(ml_actions.Action):
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def run(self, context: Any) -> Any:
        return self.kwargs


class EmptyArgsGenerator:
    base_action_class = Generated

    @classmethod
    def create_actions(cls) -> list[dict[str, Any]]:
        return [{'name': 'gen.trusts_update',
                 'class': type('TrustsUpdate', (Generated,), {}),
                 'description': 'Update a trust.', 'arg_list': ''},
                {'name': 'gen.servers_list',
                 'class': type('ServersList', (Generated,), {}),
                 'description': 'List servers.', 'arg_list': 'limit=10'}]


def test_empty_argument_list_falls_back_to_the_class(fresh_registry):
    provider = legacy.LegacyActionProvider.__new__(
        legacy.LegacyActionProvider)
    provider._descs = {}
    provider._name = 'legacy'
    provider._add_generated(EmptyArgsGenerator)
    update = provider.find('gen.trusts_update')
    assert update.params_spec == '**kwargs'
    update.check_parameters({'trust': 't1', 'anything': 2})
    servers = provider.find('gen.servers_list')
    assert servers.params_spec == 'limit=10'
    with pytest.raises(Exception, match='unexpected'):
        servers.check_parameters({'bogus': 1})


def test_descriptor_without_spec_uses_the_signature():
    desc = descriptor.PythonActionDescriptor('x', Generated,
                                             params_spec=None)
    assert desc.params_spec == '**kwargs'


def test_upstream_result_import_path():
    from mistral.workflow import utils

    assert utils.Result is ml_actions.Result
    assert utils.Result(data=1).data == 1
    assert utils.ResultSerializer is not None


class FakeEntryPoint:
    def __init__(self, name: str, obj: Any) -> None:
        self.name, self.value, self._obj = name, 'pkg:%s' % name, obj

    def load(self) -> Any:
        if isinstance(self._obj, Exception):
            raise self._obj
        return self._obj


WF = "---\nversion: '2.0'\n%s:\n  tasks:\n    t:\n      action: std.noop\n"


def test_preinstalled_workflow_entry_points(tmp_path, monkeypatch):
    import importlib.resources

    (tmp_path / 'one.yaml').write_text(WF % 'one')
    (tmp_path / 'two.yaml').write_text(WF % 'two')
    paths = sorted(tmp_path.glob('*.yaml'))
    resource = importlib.resources.files('mistral.actions') / 'resources' \
        / 'wait_ssh.yaml'
    eps = [
        # upstream's contract (mistral-extra): a callable returning paths
        FakeEntryPoint('a_paths', lambda: list(paths)),
        FakeEntryPoint('b_text', WF % 'three'),
        FakeEntryPoint('c_str_path', str(paths[0])),
        FakeEntryPoint('d_traversable', lambda: [resource]),
        FakeEntryPoint('e_broken', ImportError('no module named x')),
        FakeEntryPoint('f_missing', [str(tmp_path / 'gone.yaml')]),
        FakeEntryPoint('g_empty', lambda: []),
    ]
    monkeypatch.setattr(metadata, 'entry_points',
                        lambda group: eps if group == 'mistral.'
                        'preinstalled_workflows' else [])
    texts, problems = preinstalled.workflow_texts()
    assert [t for _, t in texts[:4]] == [
        WF % 'one', WF % 'two', WF % 'three', WF % 'one']
    assert texts[0][0] == str(paths[0])
    assert 'std.wait_ssh' in texts[4][1]
    assert len(texts) == 5
    assert len(problems) == 3
    assert 'e_broken' in problems[0] and 'no module named x' in problems[0]
    assert 'f_missing' in problems[1] and 'gone.yaml' in problems[1]
    assert 'g_empty' in problems[2]
