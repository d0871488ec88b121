"""The workflow-language corpus: every case on the deterministic harness
(mistral.testing: the engine in this thread, a fake clock, no sleeps), the
few it cannot play on the threaded in-process engine, and the cases marked
``deploy: true`` also on PostgreSQL and MariaDB deployments.

Cases are data (``cases/*.yaml``, format in ``README.rst``); this module
only feeds them to a driver and reports the mismatches.
"""

from __future__ import annotations

import concurrent.futures
import os
from typing import Any, Iterator

import pytest

from mistral.tests.functional.corpus import conftest as corpus_conftest
from mistral.tests.functional.corpus import kit
from mistral.tests.functional.corpus import loader
from mistral.tests.functional.corpus.deployed import DeployedDriver
from mistral.tests.functional.corpus.embedded import EmbeddedDriver

CASES = loader.load()
DEPLOYED = [c for c in CASES if c['deploy']]

# Cases the harness cannot play, with the reason; they run on the threaded
# in-process engine (test_embedded).
KIT_EXCLUDED = {
    'pol_target_unserved_waits': 'the notice on an action waiting for its '
    'target comes from the recovery loop, which the harness does not run',
}
# Cases whose actions answer what the case says (mocks): the harness only.
MOCKED = loader.load(loader.MOCKED)
KIT_CASES = [c for c in CASES if c['name'] not in KIT_EXCLUDED] + MOCKED
# MISTRAL_CORPUS_EMBEDDED=all plays every case on the threaded engine too.
EMBEDDED_CASES = CASES if os.environ.get('MISTRAL_CORPUS_EMBEDDED') == 'all' \
    else [c for c in CASES if c['name'] in KIT_EXCLUDED]


def test_case_names_are_unique_across_directories():
    names = [c['name'] for c in CASES + MOCKED]
    assert len(names) == len(set(names))
    assert len(MOCKED) >= 5


def _fail_on(errors: list[str], case: dict) -> None:
    if errors:
        pytest.fail('case %s (%s):\n  %s' % (
            case['name'], case['area'], '\n  '.join(errors)),
            pytrace=False)


@pytest.mark.parametrize('case', KIT_CASES,
                         ids=[c['name'] for c in KIT_CASES])
def test_kit(case):
    errors, _clock = kit.run_case(case)
    _fail_on(errors, case)


@pytest.mark.parametrize('case', EMBEDDED_CASES,
                         ids=[c['name'] for c in EMBEDDED_CASES])
def test_embedded(corpus_engine, case):
    drv = EmbeddedDriver(corpus_engine)
    drv.apply_conf(case.get('conf') or {})
    try:
        _fail_on(drv.run(case), case)
    finally:
        drv.clear_conf()


def _run_deployed(dep: Any, case: dict) -> list[str]:
    if case.get('conf'):
        return ['deployed cases cannot change configuration']
    return DeployedDriver(dep.client(), dep.db_url).run(case)


def _selected_deployed(session: pytest.Session) -> list[dict]:
    """The deployed cases this session runs (all of them, unless ``-k``
    or node ids picked some)."""
    # Only this module's test_deployed (other modules have tests of that
    # name too, without the case parameter).
    names = {item.callspec.params['case']['name']
             for item in session.items
             if getattr(item, 'originalname', None) == 'test_deployed'
             and getattr(item, 'module', None) is not None
             and item.module.__name__ == __name__
             and 'case' in getattr(getattr(item, 'callspec', None),
                                   'params', {})}
    return [c for c in DEPLOYED if c['name'] in names]


@pytest.fixture(scope='module')
def deployed_results(request, corpus_deployment
                     ) -> Iterator[dict[str, Any]]:
    # Most of a case is waiting for the servers: the cases of a backend run
    # side by side (each with its own client), and each test only collects
    # its case's result, so one slow case does not add to every other.
    # They all finish within this fixture's setup: pytest changes
    # os.environ between test phases, and clients read it from the threads.
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        futures = {c['name']: pool.submit(_run_deployed, corpus_deployment,
                                          c)
                   for c in _selected_deployed(request.session)}
        concurrent.futures.wait(futures.values())
    yield futures


BACKENDS = corpus_conftest.server_backends()

# With MISTRAL_TEST_MATRIX=sqlite there is no deployed part at all (rather
# than one skipped test per case).
if BACKENDS:
    @pytest.mark.parametrize('corpus_deployment', BACKENDS, indirect=True,
                             scope='module')
    @pytest.mark.parametrize('case', DEPLOYED,
                             ids=[c['name'] for c in DEPLOYED])
    def test_deployed(corpus_deployment, deployed_results, case):
        _fail_on(deployed_results[case['name']].result(timeout=300), case)
