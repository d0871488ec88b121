"""Fixtures of the workflow-language corpus.

``corpus_engine``: one in-process engine + executor on SQLite for the whole
module (the embedded default), built like ``engine/conftest.py`` but on one
backend only: the corpus is about the language, the engine tests already
cover every database.

``corpus_deployment``: one deployment per server backend (PostgreSQL and
MariaDB, RabbitMQ, one process per component), shared by every deployed
case of that backend.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from oslo_config import cfg

from mistral.tests.functional import conftest as functional
from mistral.tests.functional import harness
from mistral.tests.functional.engine.conftest import EngineEnv
from mistral.tests.functional.engine.conftest import in_process_engine

CONF = cfg.CONF


@pytest.fixture(scope='module')
def corpus_engine() -> Iterator[EngineEnv]:
    with in_process_engine('sqlite', prefix='mistral-corpus-') as env:
        yield env


def server_backends() -> list[str]:
    # MISTRAL_TEST_MATRIX limits these as it limits the other functional
    # tests; SQLite is the embedded part.
    return [n for n in functional._matrix() if n != 'sqlite']


@pytest.fixture(scope='module')
def corpus_deployment(request: pytest.FixtureRequest
                      ) -> Iterator[harness.Deployment]:
    kwargs: dict[str, Any] = dict(functional.MATRIX[request.param])
    with harness.Deployment(**kwargs) as dep:
        yield dep
