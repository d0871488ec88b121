"""Client errors raised by RPC endpoints are not logged as server errors."""

from __future__ import annotations

import logging

import pytest
from oslo_config import cfg

from mistral import config
from mistral import exceptions as exc
from mistral.rpc import base

CONF = cfg.CONF


class _Endpoint:
    def not_found(self, ctx):
        raise exc.DBEntityNotFoundError('Workflow not found [name=nope]')

    def broken(self, ctx):
        raise RuntimeError('disk on fire')


@pytest.fixture
def rpc():
    config.parse_args([], default_config_files=[])
    CONF.set_override('transport_url', 'fake:/')
    base.cleanup()
    server = base.get_server('log-test', 'h1', [_Endpoint()])
    server.start()
    try:
        yield base.RPCClient('log-test')
    finally:
        server.stop()
        server.wait()
        base.cleanup()


def _server_records(caplog):
    return [r for r in caplog.records
            if r.name == 'oslo_messaging.rpc.server']


def test_a_4xx_error_is_one_info_line(rpc, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(exc.DBEntityNotFoundError) as e:
        rpc.call(None, 'not_found', timeout=10)
    # The caller still gets the error itself.
    assert 'Workflow not found [name=nope]' in str(e.value)
    records = _server_records(caplog)
    assert records, 'the server logged nothing'
    assert all(r.levelno < logging.WARNING for r in records), records
    assert all(r.exc_info is None for r in records)
    assert any('Client error: DBEntityNotFoundError: Workflow not found'
               in r.getMessage() for r in records)


def test_a_server_failure_keeps_its_traceback(rpc, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception) as e:
        rpc.call(None, 'broken', timeout=10)
    assert 'disk on fire' in str(e.value)
    errors = [r for r in _server_records(caplog)
              if r.levelno >= logging.ERROR]
    assert errors and errors[0].exc_info is not None
