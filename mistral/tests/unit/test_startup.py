"""mistral.service.startup's checks and the launcher's handling of
children that refuse to start or stop slowly (the end-to-end cases are in
mistral/tests/functional/test_startup_checks.py and test_shutdown.py)."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from oslo_config import cfg

from mistral import exceptions
from mistral.auth import checks
from mistral.cmd import launch
from mistral.service import startup

CONF = cfg.CONF


class Refused(Exception):
    """What a driver raises; only its text matters."""


@pytest.fixture
def retries():
    def set_(count: int, interval: float = 0) -> None:
        CONF.set_override('max_retries', count, group='database')
        CONF.set_override('retry_interval', interval, group='database')

    yield set_
    CONF.clear_override('max_retries', group='database')
    CONF.clear_override('retry_interval', group='database')


def _failing(messages: list[str]):
    calls = []

    def connect() -> None:
        calls.append(time.monotonic())
        if len(calls) <= len(messages):
            raise Refused(messages[len(calls) - 1])

    return connect, calls


def test_transient_failures_are_retried_until_the_database_answers(retries):
    retries(5)
    connect, calls = _failing(['connection refused',
                               'the database system is starting up'])
    startup.wait_for_database(connect)
    assert len(calls) == 3


def test_gives_up_after_max_retries(retries):
    retries(2)
    connect, calls = _failing(['Connection refused'] * 10)
    with pytest.raises(exceptions.StartupError) as e:
        startup.wait_for_database(connect)
    assert len(calls) == 3
    assert e.value.exit_code == exceptions.EXIT_UNAVAILABLE
    assert 'gave up after 3 attempts' in str(e.value)


@pytest.mark.parametrize('message', [
    'FATAL:  password authentication failed for user "mistral"',
    'FATAL:  database "mistral" does not exist',
    "(1045, \"Access denied for user 'mistral'@'localhost'\")",
])
def test_permanent_failures_are_not_retried(retries, message):
    retries(5)
    connect, calls = _failing([message])
    with pytest.raises(exceptions.StartupError) as e:
        startup.wait_for_database(connect)
    assert len(calls) == 1
    assert e.value.exit_code == exceptions.EXIT_CONFIG
    assert message.splitlines()[0] in str(e.value)


def test_a_stop_ends_the_wait(retries):
    retries(-1, 30)
    stopped = threading.Event()
    connect, calls = _failing(['connection refused'] * 100)
    threading.Timer(0.3, stopped.set).start()
    started = time.monotonic()
    startup.wait_for_database(connect, stopped=stopped)
    assert time.monotonic() - started < 5
    assert len(calls) == 1


@pytest.mark.parametrize('url,needle', [
    ('nosuchdb://host/x', 'does not know'),
    ('mysql+mysqlconnector://u@h/m', "'mysql'"),
    ('not a url', 'not a database URL'),
])
def test_database_driver(url, needle):
    with pytest.raises(exceptions.StartupError) as e:
        startup.check_database_driver(url)
    assert needle in str(e.value)
    startup.check_database_driver('postgresql+psycopg2://u@h/m')
    startup.check_database_driver('mysql+pymysql://u@h/m')


def test_auth_section_is_followed():
    CONF.set_override('auth_enable', True, group='pecan')
    try:
        with pytest.raises(exceptions.StartupError) as e:
            checks.check_auth()
        assert '[keystone_authtoken] has no auth_type' in str(e.value)
        from keystoneauth1 import loading

        loading.register_auth_conf_options(CONF, 'ks_section')
        CONF.set_override('auth_section', 'ks_section',
                          group='keystone_authtoken')
        with pytest.raises(exceptions.StartupError) as e:
            checks.check_auth()
        assert '[ks_section] has no auth_type' in str(e.value)
        CONF.set_override('auth_type', 'password', group='ks_section')
        checks.check_auth()
    finally:
        CONF.clear_override('auth_enable', group='pecan')
        CONF.clear_override('auth_section', group='keystone_authtoken')
        CONF.clear_override('auth_type', group='ks_section')


def _script(code: str) -> list[str]:
    return [sys.executable, '-c', code]


def test_launcher_stops_when_a_child_refuses_to_start(monkeypatch):
    argv = {
        'api': _script('import sys; sys.exit(2)'),
        'engine': _script('import time; time.sleep(60)'),
    }
    monkeypatch.setattr(launch, '_child_argv', lambda name: argv[name])
    started = time.monotonic()
    code = launch.run_children(['engine', 'api'],
                               stopper=launch._Stopper())
    assert code == exceptions.EXIT_CONFIG
    # Not restarted in a loop, and the engine was stopped too.
    assert time.monotonic() - started < 20


def test_launcher_stops_engines_after_the_others(monkeypatch, tmp_path):
    record = tmp_path / 'events'
    child = (
        'import signal, sys, time\n'
        'name = sys.argv[1]\n'
        'def bye(*a):\n'
        '    with open(%r, "a") as f:\n'
        '        f.write("%%s term %%.3f\\n" %% (name, time.time()))\n'
        '    if name == "executor":\n'
        '        time.sleep(1.5)\n'
        '        with open(%r, "a") as f:\n'
        '            f.write("%%s exit %%.3f\\n" %% (name, time.time()))\n'
        '    sys.exit(0)\n'
        'signal.signal(signal.SIGTERM, bye)\n'
        'print("ready", flush=True)\n'
        'time.sleep(60)\n' % (str(record), str(record)))
    monkeypatch.setattr(launch, '_child_argv',
                        lambda name: _script(child) + [name])
    CONF.set_override('graceful_shutdown_timeout', 10)
    stopper = launch._Stopper()
    try:
        threading.Timer(1.5, stopper.event.set).start()
        assert launch.run_children(['engine', 'executor'],
                                   stopper=stopper) == 0
    finally:
        CONF.clear_override('graceful_shutdown_timeout')
    events = {}
    for line in record.read_text().splitlines():
        name, what, at = line.split()
        events[(name, what)] = float(at)
    assert events[('engine', 'term')] >= events[('executor', 'exit')]
