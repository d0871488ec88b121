"""Fixtures for functional tests: real ``mistral-server`` deployments.

``deployment`` (module-scoped, so a test module shares one deployment):

* without a marker, every test that uses it runs once per entry of
  :data:`MATRIX` (SQLite in one process; PostgreSQL and MariaDB with
  RabbitMQ and one process per component). ``MISTRAL_TEST_MATRIX=a,b``
  limits a local run to some entries;
* with a module- or test-level marker, exactly that deployment::

      pytestmark = pytest.mark.deployment(
          db='postgresql', transport='rabbit',
          processes=[['api'], ['engine'], ['executor']],
          conf_overrides={'engine': {'outbox_lease': 2}})

``client``: a python-mistralclient client of ``deployment``.

``deploy`` (per test): ``deploy(**Deployment kwargs)`` starts a deployment
that is torn down after the test; for tests that crash processes.

When a test that uses a deployment fails, the tail of every process log is
added to its report.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Callable, Iterator

import pytest

from mistral.tests.functional.harness import Deployment

MATRIX: dict[str, dict[str, Any]] = {
    'sqlite': dict(db='sqlite', transport='fake', processes=[['all']]),
    'postgresql': dict(
        db='postgresql', transport='rabbit',
        processes=[['api'], ['engine'], ['executor'],
                   ['scheduler', 'notifier', 'event-engine']]),
    'mysql': dict(
        db='mysql', transport='rabbit',
        processes=[['api'], ['engine'], ['executor'],
                   ['scheduler', 'notifier', 'event-engine']]),
}

_REPORT_TAIL_LINES = 200


def _matrix() -> dict[str, dict[str, Any]]:
    wanted = os.environ.get('MISTRAL_TEST_MATRIX')
    if not wanted:
        return MATRIX
    names = [n.strip() for n in wanted.split(',') if n.strip()]
    unknown = set(names) - set(MATRIX)
    if unknown:
        raise pytest.UsageError('MISTRAL_TEST_MATRIX: unknown %s (choose '
                                'from %s)' % (sorted(unknown), list(MATRIX)))
    return {n: MATRIX[n] for n in names}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.functional)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if 'deployment' not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker('deployment')
    if marker is not None:
        if marker.args:
            raise pytest.UsageError('deployment marker takes keywords only')
        kwargs = dict(marker.kwargs)
        # Module-scoped fixtures are cached by parameter id: tests with
        # different markers must not share a deployment.
        label = '%s-%s-%s' % (
            kwargs.get('db', 'sqlite'), kwargs.get('transport', 'rabbit'),
            hashlib.sha1(repr(sorted(kwargs.items())).encode()
                         ).hexdigest()[:6])
        metafunc.parametrize('deployment', [kwargs], ids=[label],
                             indirect=True, scope='module')
        return
    matrix = _matrix()
    metafunc.parametrize('deployment', list(matrix.values()),
                         ids=list(matrix), indirect=True, scope='module')


@pytest.fixture(scope='module')
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    with Deployment(**request.param) as dep:
        yield dep


@pytest.fixture(scope='module')
def client(deployment: Deployment) -> Any:
    return deployment.client()


@pytest.fixture
def deploy(request: pytest.FixtureRequest
           ) -> Iterator[Callable[..., Deployment]]:
    started: list[Deployment] = []
    # For the failure report below.
    request.node.mistral_deployments = started

    def start(**kwargs: Any) -> Deployment:
        dep = Deployment(**kwargs)
        dep.__enter__()
        started.append(dep)
        return dep

    yield start
    errors = []
    for dep in reversed(started):
        try:
            dep.close()
        except Exception as e:  # close the others all the same
            errors.append(e)
    if errors:
        raise errors[0]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    funcargs = getattr(item, 'funcargs', {})
    deps = [v for v in funcargs.values() if isinstance(v, Deployment)]
    deps += getattr(item, 'mistral_deployments', [])
    for dep in deps:
        if dep.processes:
            report.sections.append((
                'mistral-server logs (%r)' % dep,
                dep.logs(tail=_REPORT_TAIL_LINES)))
