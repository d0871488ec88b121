from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from mistral import config
from mistral.actions import context as action_context
from mistral.actions import registry
from mistral.tests.unit.actions import servers

CONF = config.CONF


@pytest.fixture
def conf() -> Iterator[Callable[..., None]]:
    """set(name, value, group=None): a config override for one test."""
    done: list[tuple[str, str | None]] = []

    def set_(name: str, value: Any, group: str | None = None) -> None:
        CONF.set_override(name, value, group=group)
        done.append((name, group))

    yield set_
    for name, group in reversed(done):
        CONF.clear_override(name, group=group)
    registry.reset()


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    registry.reset()
    yield
    registry.reset()


@pytest.fixture
def ctx() -> Any:
    return action_context.build_action_context(
        {'auth_token': 'tok', 'project_id': 'proj', 'user_name': 'alice'},
        {'workflow_execution_id': 'wf-1', 'task_execution_id': 'task-1',
         'action_execution_id': 'act-1', 'workflow_name': 'my_wf',
         'callback_url': '/v2/action_executions/act-1'})


@pytest.fixture(scope='session')
def http_server() -> Iterator[servers.HTTPServer]:
    srv = servers.HTTPServer()
    yield srv
    srv.close()


@pytest.fixture
def allow_loopback(conf: Callable[..., None]) -> None:
    # The test servers listen on 127.0.0.1: take loopback out of the
    # denied networks (the metadata range stays denied).
    conf('denied_cidrs', ['169.254.0.0/16', 'fe80::/10'],
         group='action_std_http')
