"""A component process kept on one CPU (mistral.service.cpu_affinity).

The choice is a pure function of the CPUs' busy shares, tested here case
by case; the Keeper itself runs in a child process (it confines the
whole process it runs in), whose CPUs are read back from the kernel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from oslo_config import cfg

import mistral
from mistral.exceptions import StartupError
from mistral.service import cpu_affinity

CONF = cfg.CONF

STAT = """cpu  500 0 300 9000 100 0 0 0 0 0
cpu0 200 0 100 4000 50 0 0 0 0 0
cpu1 300 0 200 5000 50 0 0 0 0 0
intr 12345
ctxt 999
"""


def first(options: list[int]) -> int:
    return options[0]


def test_a_launcher_numbers_the_executor_then_the_api_then_the_engine():
    assert cpu_affinity.slots(['api', 'engine', 'executor', 'scheduler']) \
        == {'executor': 0, 'api': 1, 'engine': 2, 'scheduler': 3}
    assert cpu_affinity.slots(['scheduler', 'engine']) == {
        'engine': 0, 'scheduler': 1}


def test_settings_are_read():
    assert cpu_affinity.parse_setting('auto') == 'auto'
    assert cpu_affinity.parse_setting(' OFF ') == 'off'
    assert cpu_affinity.parse_setting('0, 2') == {0, 2}
    for bad in ('', 'one', '0-3', '1;2', '-1'):
        with pytest.raises(ValueError, match='auto, off or a list'):
            cpu_affinity.parse_setting(bad)


def test_proc_stat_is_read_per_cpu():
    times = cpu_affinity.read_cpu_times(STAT)
    # (user+nice+system+idle+iowait+..., idle+iowait); the total line and
    # the other lines are not CPUs.
    assert times == {0: (4350, 4050), 1: (5550, 5050)}


def test_busy_shares_between_two_reads():
    before = {0: (1000, 900), 1: (1000, 500), 2: (1000, 1000)}
    after = {0: (1100, 990), 1: (1100, 520), 2: (1000, 1000), 3: (50, 0)}
    shares = cpu_affinity.busy_shares(before, after)
    # CPU 2 had no ticks (offline); CPU 3 was not there before.
    assert shares == pytest.approx({0: 0.1, 1: 0.8, 2: 0.0})


def test_first_choice_is_the_least_busy_cpu():
    assert cpu_affinity.choose(None, {0: 0.9, 1: 0.2, 2: 0.6}, 0.1,
                               pick=first) == 1


def test_first_choice_among_near_ties_is_left_to_chance():
    seen = []
    cpu_affinity.choose(None, {0: 0.10, 1: 0.2, 2: 0.9}, 0.0,
                        pick=lambda options: seen.append(options) or 0)
    # Within the margin of the least busy: both; not the busy one.
    assert seen == [[0, 1]]


def test_stays_unless_another_cpu_has_clearly_more_room():
    # Its own use (0.5) is not held against its CPU: 0.2 vs 0.3 elsewhere.
    assert cpu_affinity.choose(0, {0: 0.7, 1: 0.3}, 0.5) == 0
    # Less busy elsewhere, but by less than the margin: no move.
    assert cpu_affinity.choose(0, {0: 0.9, 1: 0.5}, 0.2) == 0


def test_moves_away_from_a_cpu_something_else_keeps_busy():
    # Another executor (or a database) uses 0.8 of CPU 0 besides this
    # process's 0.5; CPU 1 is nearly idle.
    assert cpu_affinity.choose(0, {0: 1.0, 1: 0.1}, 0.5, pick=first) == 1
    # Of several CPUs with room, one of those within the margin of the
    # best, never the one it leaves.
    seen = []
    cpu_affinity.choose(2, {0: 0.15, 1: 0.2, 2: 1.0, 3: 0.9}, 0.3,
                        pick=lambda options: seen.append(options) or 0)
    assert seen == [[0, 1]]


def test_an_idle_process_stays_whatever_the_others_do():
    # Another server keeps CPU 0 busy; this process did next to nothing.
    assert cpu_affinity.choose(0, {0: 1.0, 1: 0.1}, 0.05) == 0
    assert cpu_affinity.choose(0, {0: 1.0, 1: 0.1}, 0.2, pick=first) == 1


def test_a_cpu_it_may_no_longer_use_is_left():
    assert cpu_affinity.choose(5, {0: 0.6, 1: 0.1}, 0.4, pick=first) == 1


def test_a_bad_setting_refuses_to_start():
    CONF.set_override('cpu_affinity', 'fast')
    try:
        with pytest.raises(StartupError, match="got 'fast'"):
            cpu_affinity.check()
    finally:
        CONF.clear_override('cpu_affinity')


@pytest.mark.skipif(not cpu_affinity.supported(), reason='Linux only')
def test_a_cpu_the_process_may_not_use_refuses_to_start():
    unusable = max(os.sched_getaffinity(0)) + 1
    CONF.set_override('cpu_affinity', '%d' % unusable)
    try:
        with pytest.raises(StartupError, match='may not use'):
            cpu_affinity.check()
    finally:
        CONF.clear_override('cpu_affinity')


# The Keeper confines the whole process it runs in: a child process runs
# it and reports which CPUs its threads may use afterwards.
CHILD = textwrap.dedent('''
    import json, os, sys, threading, time
    from oslo_config import cfg
    from mistral import config  # noqa: F401  (registers the options)
    from mistral.service import cpu_affinity
    cfg.CONF([], project='mistral')
    cfg.CONF.set_override('cpu_affinity', sys.argv[1])
    cpu_affinity.FIRST_LOOK = 0.2
    before = threading.Thread(target=time.sleep, args=(3,), daemon=True)
    before.start()  # a thread that exists before the choice
    # A component no other process on this host runs (no sibling moves
    # its hint).
    keeper = cpu_affinity.Keeper('affinity-test-component')
    keeper.start()
    time.sleep(0.8)
    after = []
    t = threading.Thread(target=lambda: after.append(
        sorted(os.sched_getaffinity(0))))
    t.start()
    t.join()
    keeper.stop()
    print(json.dumps({
        'main': sorted(os.sched_getaffinity(0)),
        'before': sorted(os.sched_getaffinity(before.native_id)),
        'after': after[0], 'current': keeper.current}))
''')


def _child(setting: str, slot: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k != cpu_affinity.SLOT_ENV}
    if slot is not None:
        env[cpu_affinity.SLOT_ENV] = slot
    out = subprocess.run([sys.executable, '-c', CHILD, setting], env=env,
                         capture_output=True, text=True, timeout=60,
                         # Where this ``mistral`` is imported from.
                         cwd=os.path.dirname(os.path.dirname(
                             mistral.__file__)))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_launchers_component_goes_one_cpu_further(monkeypatch):
    # Two mistral-server launchers each number their executor 0: the one
    # started second (one sibling before it) takes the next CPU.
    monkeypatch.setenv(cpu_affinity.SLOT_ENV, '0')
    assert cpu_affinity._hinted({0, 1}, rank=1) == 1
    assert cpu_affinity._hinted({0, 1, 2, 3}, rank=2) == 2
    monkeypatch.setenv(cpu_affinity.SLOT_ENV, '1')   # an API
    assert cpu_affinity._hinted({0, 1}) == 1
    assert cpu_affinity._hinted({0, 1}, rank=1) == 0
    assert cpu_affinity._hinted({0, 2, 5}, rank=1) == 5


def test_a_later_process_keeps_off_the_api_cpu(monkeypatch):
    # Two CPUs, the API on CPU 1: a second executor stays on CPU 0 with
    # the first instead of going one CPU further onto the API's.
    monkeypatch.setenv(cpu_affinity.SLOT_ENV, '0')
    assert cpu_affinity._hinted({0, 1}, rank=1, avoid={1}) == 0
    assert cpu_affinity._hinted({0, 1}, rank=0, avoid={1}) == 0
    # Four CPUs: it passes over the API's to the next.
    assert cpu_affinity._hinted({0, 1, 2, 3}, rank=1, avoid={1}) == 2
    assert cpu_affinity._hinted({0, 1, 2, 3}, rank=2, avoid={1}) == 3
    # A process the launcher numbered onto the API's CPU (rank 0) stays;
    # a later one of its component goes to the other.
    monkeypatch.setenv(cpu_affinity.SLOT_ENV, '1')
    assert cpu_affinity._hinted({0, 1}, rank=0, avoid={1}) == 1
    assert cpu_affinity._hinted({0, 1}, rank=1, avoid={1}) == 0
    assert cpu_affinity._hinted({0, 1}, rank=2, avoid={1}) == 1


def test_api_cpus_are_those_of_the_deployments_confined_apis(tmp_path):
    py = '/venv/bin/python3'
    conf = ('--config-file', '/etc/a.conf')
    _proc(tmp_path, 10, py, '-m', 'mistral.cmd.launch', *conf,
          '--server', 'api')
    _proc(tmp_path, 11, py, '-m', 'mistral.cmd.launch', *conf,
          '--server', 'executor')
    # Another deployment's API, and one of ours not confined yet.
    _proc(tmp_path, 12, py, '-m', 'mistral.cmd.launch', '--config-file',
          '/etc/b.conf', '--server', 'api')
    _proc(tmp_path, 13, py, '-m', 'mistral.cmd.launch', *conf,
          '--config-file', '/etc/a-2.conf', '--server', 'api')
    _proc(tmp_path, 20, py, '-m', 'mistral.cmd.launch', *conf,
          '--server', 'executor')
    confined = {10: {1}, 11: {0}, 12: {0}, 13: {0, 1, 2, 3}}

    def affinity(pid):
        return confined[pid]
    # Not known while one of them has not taken its CPU.
    assert cpu_affinity.api_cpus({0, 1, 2, 3}, str(tmp_path), me=20,
                                 affinity=affinity) is None
    confined[13] = {3}
    assert cpu_affinity.api_cpus({0, 1, 2, 3}, str(tmp_path), me=20,
                                 affinity=affinity) == {1, 3}
    del confined[10]   # gone meanwhile

    def gone(pid):
        if pid not in confined:
            raise ProcessLookupError(pid)
        return confined[pid]
    assert cpu_affinity.api_cpus({0, 1, 2, 3}, str(tmp_path), me=20,
                                 affinity=gone) == {3}


def _proc(tmp_path, pid: int, *args: str) -> None:
    d = tmp_path / str(pid)
    d.mkdir()
    (d / 'cmdline').write_bytes('\0'.join(args).encode() + b'\0')


def test_siblings_are_earlier_processes_of_the_same_component(tmp_path):
    py = '/venv/bin/python3'
    _proc(tmp_path, 10, py, '-m', 'mistral.cmd.launch', '--server',
          'executor')
    _proc(tmp_path, 11, py, '-m', 'mistral.cmd.launch', '--server',
          'engine')
    # A launcher of several components, another program, a later one.
    _proc(tmp_path, 12, py, 'mistral-server', '--server',
          'api,engine,executor')
    _proc(tmp_path, 13, '/usr/bin/other', '--server', 'executor')
    _proc(tmp_path, 30, py, '-m', 'mistral.cmd.launch', '--server',
          'executor')
    (tmp_path / 'self').mkdir()
    assert cpu_affinity.siblings_before('executor', str(tmp_path),
                                        me=20) == 1
    assert cpu_affinity.siblings_before('executor', str(tmp_path),
                                        me=40) == 2
    assert cpu_affinity.siblings_before('engine', str(tmp_path),
                                        me=20) == 1
    assert cpu_affinity.siblings_before('api', str(tmp_path), me=20) == 0
    assert cpu_affinity.siblings_before('executor', str(tmp_path),
                                        me=5) == 0


def test_another_deployments_processes_are_not_siblings(tmp_path):
    py = '/venv/bin/python3'
    mine = ('--config-file', '/etc/a.conf')
    _proc(tmp_path, 10, py, '-m', 'mistral.cmd.launch', *mine,
          '--server', 'executor')
    # Another service on the host: other files, or none.
    _proc(tmp_path, 11, py, '-m', 'mistral.cmd.launch', '--config-file',
          '/tmp/b.conf', '--server', 'executor')
    _proc(tmp_path, 12, py, '-m', 'mistral.cmd.launch', '--server',
          'executor')
    # The same files in the other spelling: the same deployment.
    _proc(tmp_path, 13, py, '-m', 'mistral.cmd.launch',
          '--config-file=/etc/a.conf', '--server', 'executor')
    # The shared file and one of the process's own: the same deployment
    # (a benchmark's or test's second launcher adds its own file).
    _proc(tmp_path, 14, py, '-m', 'mistral.cmd.launch', *mine,
          '--config-file', '/etc/a-p1.conf', '--server', 'executor')
    _proc(tmp_path, 20, py, '-m', 'mistral.cmd.launch', *mine,
          '--config-file', '/etc/a-p2.conf', '--server', 'executor')
    assert cpu_affinity.siblings_before('executor', str(tmp_path),
                                        me=20) == 3
    assert cpu_affinity.config_args(
        ['x', '--config-dir', '/d', '--config-file=/f', '--server', 'api']
    ) == ('--config-dir=/d', '--config-file=/f')


needs_two_cpus = pytest.mark.skipif(
    not cpu_affinity.supported() or len(os.sched_getaffinity(0)) < 2,
    reason='needs Linux and two CPUs this process may use')


@needs_two_cpus
def test_auto_keeps_every_thread_on_one_cpu():
    seen = _child('auto')
    cpu = seen['current']
    assert cpu in os.sched_getaffinity(0)
    # Threads that existed before the choice, the main thread, and a
    # thread started afterwards.
    assert seen['main'] == seen['before'] == seen['after'] == [cpu], seen


@needs_two_cpus
def test_off_leaves_the_process_to_the_kernel():
    seen = _child('off')
    allowed = sorted(os.sched_getaffinity(0))
    assert seen['main'] == seen['before'] == seen['after'] == allowed
    assert seen['current'] is None


@needs_two_cpus
def test_a_list_of_cpus_is_kept_to():
    cpu = max(os.sched_getaffinity(0))
    seen = _child(str(cpu))
    assert seen['main'] == seen['before'] == seen['after'] == [cpu], seen


@needs_two_cpus
def test_auto_starts_on_the_cpu_the_launcher_numbered():
    cpus = sorted(os.sched_getaffinity(0))
    for slot in (1, len(cpus) + 1):
        seen = _child('auto', str(slot))
        # The slot's rank among the CPUs it may use, round and round.
        assert seen['current'] == cpus[slot % len(cpus)], seen
        assert seen['main'] == seen['before'] == seen['after'] == [
            seen['current']]


def test_a_later_executor_waits_for_the_api_to_take_its_cpu(monkeypatch,
                                                            caplog):
    # Launchers started together: the API has not taken its CPU at the
    # executor's first look. The executor waits for it (two more looks
    # here), then keeps off it.
    answers: list = [None, None, {1}]
    moved: list = []
    monkeypatch.setattr(cpu_affinity, 'FIRST_LOOK', 0.01)
    monkeypatch.setattr(cpu_affinity, 'siblings_before', lambda name: 1)
    monkeypatch.setattr(cpu_affinity, 'api_cpus',
                        lambda allowed: answers.pop(0))
    monkeypatch.setattr(cpu_affinity.os, 'sched_getaffinity',
                        lambda pid: {0, 1})
    monkeypatch.setattr(cpu_affinity, 'confine', moved.append)
    monkeypatch.setenv(cpu_affinity.SLOT_ENV, '0')
    keeper = cpu_affinity.Keeper('executor')
    thread = threading.Thread(target=keeper._loop)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not moved and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        keeper._stop.set()
        thread.join(timeout=10)
    assert moved[:1] == [{0}]
    assert answers == []
    assert 'Choosing a CPU' not in caplog.text


def test_a_later_process_without_a_hint_does_not_wait_for_the_api(
        monkeypatch):
    # Not numbered by a launcher: it chooses the least busy CPU at its
    # first look, without reading where the API is or waiting for it.
    asked: list = []
    looked = threading.Event()
    monkeypatch.setattr(cpu_affinity, 'FIRST_LOOK', 0.01)
    monkeypatch.setattr(cpu_affinity, 'siblings_before', lambda name: 1)
    monkeypatch.setattr(cpu_affinity, 'api_cpus',
                        lambda allowed: asked.append(allowed))
    monkeypatch.setattr(cpu_affinity.os, 'sched_getaffinity',
                        lambda pid: {0, 1})
    monkeypatch.setattr(cpu_affinity.Keeper, '_look',
                        lambda self, *a: looked.set())
    monkeypatch.delenv(cpu_affinity.SLOT_ENV, raising=False)
    keeper = cpu_affinity.Keeper('executor')
    thread = threading.Thread(target=keeper._loop)
    thread.start()
    try:
        assert looked.wait(10)
    finally:
        keeper._stop.set()
        thread.join(timeout=10)
    assert asked == []
