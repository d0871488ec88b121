"""``[api] start_workflows``: where the API's starts run.

mistral-server's API component hands the engine client an engine endpoint
of its own process when starts may run there; the client then calls it
instead of sending an RPC call (a deployed API with no engine process:
functional/test_api_starts_workflows).
"""

from __future__ import annotations

from typing import Any

import pytest
from oslo_config import cfg

from mistral import config
from mistral.api import service as api_service
from mistral.context import MistralContext
from mistral.engine import engine
from mistral.handoff import outbox
from mistral.rpc import clients
from mistral.service import components

CONF = cfg.CONF


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def start_workflow(self, ctx: Any, wf_identifier: str,
                       **kwargs: Any) -> dict[str, Any]:
        self.calls.append((ctx, wf_identifier, kwargs))
        return {'id': 'started-here'}


class _NoRpc:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def call(self, ctx: Any, method: str, **kwargs: Any) -> Any:
        self.calls.append((method, kwargs))
        return {'id': 'started-by-an-engine'}


@pytest.fixture
def engine_client() -> Any:
    config.parse_args([], default_config_files=[])
    client = clients.EngineClient.__new__(clients.EngineClient)
    client._rpc = _NoRpc()  # type: ignore[assignment]
    yield client
    clients.start_workflows_with(None)


def test_a_start_goes_to_the_endpoint_of_this_process(engine_client: Any
                                                      ) -> None:
    here = _Recorder()
    clients.start_workflows_with(here)
    ctx = MistralContext(project_id='p1')
    answer = engine_client.start_workflow(
        ctx, 'wf', wf_namespace='ns', wf_ex_id='e1', wf_input={'a': 1},
        description='d', env={'k': 'v'})
    assert answer == {'id': 'started-here'}
    assert engine_client._rpc.calls == []
    assert here.calls == [(ctx, 'wf', {
        'wf_namespace': 'ns', 'wf_ex_id': 'e1', 'wf_input': {'a': 1},
        'description': 'd', 'params': {'env': {'k': 'v'}}})]


def test_without_an_endpoint_a_start_is_an_rpc_call(engine_client: Any
                                                    ) -> None:
    clients.start_workflows_with(None)
    answer = engine_client.start_workflow(None, 'wf', wf_input=None)
    assert answer == {'id': 'started-by-an-engine'}
    [(method, kwargs)] = engine_client._rpc.calls
    assert method == 'start_workflow'
    assert kwargs['wf_identifier'] == 'wf' and kwargs['wf_input'] == {}


class _Server:
    url = 'http://test'

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class _Relay:
    def __init__(self) -> None:
        self.running = False

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False


@pytest.mark.parametrize('options, here', [
    ({}, True),
    ({('api', 'start_workflows'): 'engine'}, False),
    # Actions or notifications of this process's transactions would be
    # handled by this process: an engine's job.
    ({('executor', 'type'): 'local'}, False),
    ({('notifier', 'type'): 'local'}, False),
])
def test_the_api_component_starts_workflows_here_when_it_may(
        monkeypatch: pytest.MonkeyPatch, options: dict[tuple[str, str], str],
        here: bool) -> None:
    config.parse_args([], default_config_files=[])
    monkeypatch.setattr(api_service, 'ApiServer', _Server)
    relay = _Relay()
    monkeypatch.setattr(outbox, 'relay', lambda: relay)
    for (group, name), value in options.items():
        CONF.set_override(name, value, group=group)
    try:
        comp = components.build('api')
        comp.start()
        try:
            if here:
                assert isinstance(clients._starter, engine.Engine)
            else:
                assert clients._starter is None
            assert relay.running is here
        finally:
            comp.stop()
        assert clients._starter is None
        assert relay.running is False
    finally:
        for (group, name) in options:
            CONF.clear_override(name, group=group)
        clients.start_workflows_with(None)
