"""Components run their requests on a pool of the configured size."""

from __future__ import annotations

import threading
import time

import pytest
from oslo_config import cfg

from mistral import config
from mistral.rpc import base
from mistral.service import components
from mistral.tests.threads import run_at_once

CONF = cfg.CONF


class _Endpoint:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.done = 0

    def work(self, ctx):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
            self.done += 1


@pytest.fixture
def fake_bus():
    config.parse_args([], default_config_files=[])
    CONF.set_override('transport_url', 'fake:/')
    base.cleanup()
    yield
    base.cleanup()
    CONF.clear_override('transport_url')


@pytest.mark.parametrize('size', [1, 3])
def test_requests_run_on_at_most_pool_size_threads(fake_bus, size):
    ep = _Endpoint()
    comp = components.RpcComponent('pool-test', 'pool-test', 'h1', [ep],
                                   pool_size=size)
    comp.start()
    try:
        client = base.RPCClient('pool-test')
        for _ in range(8):
            client.cast(None, 'work')
        deadline = time.monotonic() + 10
        while ep.done < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        comp.stop()
    assert ep.done == 8
    assert ep.most == size


def test_engine_pool_is_twice_engine_workers(fake_bus, monkeypatch):
    CONF.set_override('workers', 3, group='engine')
    started = {}

    class _Server:
        def start(self, override_pool_size=None):
            started['size'] = override_pool_size

        def stop(self):
            pass

        def wait(self):
            pass

    monkeypatch.setattr(base, 'get_server', lambda *a, **k: _Server())
    comp = components.build('engine')
    monkeypatch.setattr(comp, '_loops', [])
    try:
        comp.start()
    finally:
        comp.stop()
        CONF.clear_override('workers', group='engine')
    assert started['size'] == 6


def test_engine_transactions_run_at_most_workers_at_once(fake_bus):
    from mistral.engine import unit_of_work as uow

    CONF.set_override('workers', 2, group='engine')
    lock = threading.Lock()
    state = {'now': 0, 'most': 0}

    def one():
        with uow._slot():
            with uow._slot():   # nested: the same slot, no deadlock
                with lock:
                    state['now'] += 1
                    state['most'] = max(state['most'], state['now'])
                time.sleep(0.05)
                with lock:
                    state['now'] -= 1

    try:
        run_at_once(one, 6, timeout=10)
    finally:
        CONF.clear_override('workers', group='engine')
    assert state['most'] == 2
    assert state['now'] == 0
