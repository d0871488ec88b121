"""Fixtures shared by every test (unit and functional).

* The configuration is parsed once per process with no config file, with
  the embedded default's state directory in a tmp dir (never the home
  directory), before any test runs; its SQLite database has the schema.
* Config overrides and defaults that a test changes are put back after it,
  whoever changed them (``CONF.set_override`` in a test, a fixture, the code
  under test), so tests cannot leak configuration into each other.
* The outbox senders and hand-off hooks are wired as a server process wires
  them (:func:`mistral.service.handoffs.wire`).
* ``conf``: ``conf(name, value, group=None)`` sets an override for one test.
* ``db``: a fresh SQLite database with the schema (``create_all``), wired
  into ``mistral.db.api`` for one test.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any, Callable, Iterator

import pytest
from oslo_config import cfg

CONF = cfg.CONF

# Before mistral.config is imported: its state_path default reads this, and
# a test run must not write into the home directory.
_STATE_DIR = tempfile.mkdtemp(prefix='mistral-test-state-')
atexit.register(shutil.rmtree, _STATE_DIR, ignore_errors=True)
os.environ['MISTRAL_STATE_DIR'] = _STATE_DIR
for _var in ('MISTRAL_CONFIG_FILE', 'MISTRAL_CONFIG_DIR'):
    os.environ.pop(_var, None)


@pytest.fixture(scope='session', autouse=True)
def _mistral_config() -> Iterator[None]:
    from mistral import config

    # Register every option group now: an option registered lazily
    # during a test would escape the per-test snapshot, and an override of
    # it would leak into the tests after it.
    config.list_opts()
    CONF.set_default('state_path', _STATE_DIR)
    config.parse_args([], default_config_files=[])
    _create_default_schema()
    # As every server process does at start: outbox senders and hooks
    # (tests that stand in for them replace them).
    from mistral.service import handoffs

    handoffs.wire()
    yield


def _create_default_schema() -> None:
    # The embedded default upgrades its database on first start; code that
    # runs on the default database in a unit test finds the schema too.
    import sqlalchemy as sa

    from mistral.db import models

    engine = sa.create_engine(CONF.database.connection)
    try:
        models.Base.metadata.create_all(engine)
    finally:
        engine.dispose()


def _snapshot() -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
    # oslo.config keeps an opt's override, default and their location in
    # one dict per opt; copying those dicts captures every change a test
    # can make through set_override/set_default and their clear_* twins.
    return {id(info): (info, dict(info))
            for info, _group in CONF._all_opt_infos()}


def _restore(snap: dict[int, tuple[dict[str, Any], dict[str, Any]]]) -> None:
    changed = False
    for info, saved in snap.values():
        if info != saved:
            info.clear()
            info.update(saved)
            changed = True
    if changed:
        # Values read during the test are cached; forget them.
        CONF._ConfigOpts__cache.clear()


@pytest.fixture(autouse=True)
def _restore_config() -> Iterator[None]:
    snap = _snapshot()
    yield
    _restore(snap)


@pytest.fixture
def conf() -> Callable[..., None]:
    """``conf(name, value, group=None)``: override an option for one test."""
    def set_(name: str, value: Any, group: str | None = None) -> None:
        CONF.set_override(name, value, group=group)

    return set_


@pytest.fixture
def db(tmp_path) -> Iterator[Any]:
    """A new SQLite database with the whole schema; yields the engine."""
    from mistral.db import api as db_api
    from mistral.db import models

    url = 'sqlite:///' + str(tmp_path / 'mistral.sqlite')
    CONF.set_override('connection', url, group='database')
    db_api.dispose()
    engine = db_api.get_engine()
    models.Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        db_api.dispose()
