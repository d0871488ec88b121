"""The shared fixtures: config isolation, ``db``, ``deployment``, ``deploy``.

The deployments here run the stand-in server of ``test_harness``.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral.tests.functional import harness
from mistral.tests.functional.test_harness import FAKE

CONF = cfg.CONF

pytestmark = pytest.mark.deployment(
    db='sqlite', transport='fake', processes=[['api', 'engine']],
    server_cmd=FAKE, conf_overrides={'engine': {'topic': 'from_marker'}})

_seen: dict[str, object] = {}


def test_config_is_parsed_without_files_in_a_tmp_state_dir():
    assert CONF.config_file == []
    assert CONF.state_path == os.environ['MISTRAL_STATE_DIR']
    assert not CONF.state_path.startswith(os.path.expanduser('~'))
    assert CONF.database.connection.startswith(
        'sqlite:///' + CONF.state_path)


def test_override_leaks_set(conf):
    CONF.set_override('max_limit', 7, group='api')
    CONF.set_default('merge_strategy', 'merge', group='engine')
    conf('topic', 'elsewhere', group='executor')
    assert CONF.api.max_limit == 7
    assert CONF.executor.topic == 'elsewhere'


def test_override_leaks_gone():
    # Runs after the test above in the same process (one file, one worker).
    assert CONF.api.max_limit == 1000
    assert CONF.engine.merge_strategy == 'replace'
    assert CONF.executor.topic == 'mistral_executor'


def test_db_fixture_has_the_schema(db):
    from mistral.db import api as db_api

    assert db is db_api.get_engine()
    assert CONF.database.connection.endswith('mistral.sqlite')
    tables = sa.inspect(db).get_table_names()
    assert 'outbox' in ''.join(tables)


def test_marker_configures_the_module_deployment(deployment, client):
    conf = open(deployment.conf_path).read()
    assert 'from_marker' in conf
    assert deployment.groups == [['api', 'engine']]
    assert client.workflows.list() == []
    _seen['first'] = deployment


def test_module_shares_one_deployment(deployment):
    assert _seen['first'] is deployment
    assert deployment.processes[0].starts == 1


def test_deploy_factory_tears_down_after_the_test(deploy):
    dep = deploy(db='postgresql', transport='rabbit',
                 processes=[['executor']], server_cmd=FAKE)
    _seen['factory'] = (dep.db_name, dep.vhost)
    assert dep.processes[0].alive()


def test_deploy_factory_cleaned_up():
    name, vhost = _seen['factory']
    assert name not in harness.PostgreSQLDatabase().list_all()
    assert vhost not in harness.RabbitVhost.list_all()


@pytest.mark.deployment(db='sqlite', transport='fake', processes=[['api']],
                        server_cmd=FAKE)
def test_a_test_marker_gets_its_own_deployment(deployment):
    assert deployment.groups == [['api']]
    assert deployment is not _seen.get('first')
