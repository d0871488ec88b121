"""POST /v2/action_executions with run_sync and params.target runs the
action on an executor of that target (upstream ignores the target)."""

from __future__ import annotations

import pytest
from oslo_config import cfg

from mistral import context as mistral_context
from mistral import exceptions as exc
from mistral.engine import ad_hoc
from mistral.service import components
from mistral.tests.functional.engine.conftest import in_process_engine

CONF = cfg.CONF


@pytest.fixture(scope='module')
def two_targets():
    with in_process_engine('sqlite') as env:
        CONF.set_override('host', 'sync-h2', group='executor')
        extra = components.build('executor')
        extra.start()
        CONF.clear_override('host', group='executor')
        try:
            yield env
        finally:
            extra.stop()


def _run_sync(target: str, timeout: float | None = None) -> dict:
    ctx = mistral_context.default_context()
    params = {'run_sync': True, 'target': target}
    if timeout is not None:
        params['timeout'] = timeout
    return ad_hoc.start_action(ctx.to_dict(), ctx, 'std.echo',
                               {'output': 'hi'}, '', '', params)


def test_runs_on_the_named_target(two_targets):
    result = _run_sync('sync-h2')
    assert result['state'] == 'SUCCESS'
    assert result['output'] == {'result': 'hi'}
    assert result['id'] is None


def test_a_target_nobody_serves_is_a_clear_error(two_targets):
    CONF.set_override('rpc_response_timeout', 2)
    with pytest.raises(exc.RPCTimeoutException) as e:
        _run_sync('nobody-here')
    assert str(e.value) == (
        'No executor with target "nobody-here" ran the action std.echo '
        'within 2 seconds: is an executor with [executor] host = '
        'nobody-here running?')
