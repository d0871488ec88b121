"""Which components a --server value names."""

from __future__ import annotations

import pytest
from oslo_config import cfg

from mistral import config


@pytest.mark.parametrize('value,expected', [
    (['all'], ['api', 'engine', 'executor', 'scheduler', 'notifier',
               'event-engine']),
    (['periodic'], ['scheduler']),
    (['api,engine', 'engine'], ['api', 'engine']),
    (['event-engine, notifier'], ['event-engine', 'notifier']),
])
def test_servers(value, expected):
    cfg.CONF.set_override('server', value)
    try:
        assert config.servers() == expected
    finally:
        cfg.CONF.clear_override('server')


def test_unknown_server_is_an_error():
    cfg.CONF.set_override('server', ['api,bogus'])
    try:
        with pytest.raises(ValueError, match='bogus'):
            config.servers()
    finally:
        cfg.CONF.clear_override('server')
