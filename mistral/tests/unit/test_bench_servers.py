"""tools/bench/run.py: which processes are the database's and RabbitMQ's
(their CPU per unit is reported beside the service's)."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[3] / 'tools' / 'bench'


@pytest.fixture(scope='module')
def run():
    sys.path.insert(0, str(BENCH))  # run.py imports driver.py beside it
    try:
        spec = importlib.util.spec_from_file_location('bench_run',
                                                      BENCH / 'run.py')
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


def _proc(root: pathlib.Path, pid: int, comm: str, ppid: int,
          argv: tuple[str, ...] = ()) -> None:
    d = root / str(pid)
    d.mkdir()
    (d / 'stat').write_text('%d (%s) S %d 1 1 0 -1\n' % (pid, comm, ppid))
    (d / 'cmdline').write_bytes(b'\0'.join(a.encode() for a in argv))


@pytest.fixture
def proc(tmp_path: pathlib.Path) -> pathlib.Path:
    _proc(tmp_path, 1, 'init', 0)
    _proc(tmp_path, 300, 'postgres', 1)            # the postmaster
    # A backend (pids wrap: its number may be lower than the postmaster's).
    _proc(tmp_path, 290, 'postgres', 300)
    _proc(tmp_path, 400, 'mariadbd', 1)
    _proc(tmp_path, 500, 'beam.smp', 1, ('beam.smp', '-s', 'rabbit'))
    _proc(tmp_path, 600, 'beam.smp', 1, ('beam.smp', '-s', 'other'))
    _proc(tmp_path, 700, 'python (x)', 1)          # a comm with spaces
    (tmp_path / 'self').mkdir()
    return tmp_path


def test_the_roots_of_the_database_and_the_broker_are_found(run, proc):
    assert run.shared_servers('postgresql', True, str(proc)) == {
        'database': 300, 'broker': 500}
    assert run.shared_servers('mysql', True, str(proc)) == {
        'database': 400, 'broker': 500}


def test_an_embedded_deployment_shares_no_server(run, proc):
    assert run.shared_servers('sqlite', False, str(proc)) == {}


def test_a_server_not_running_here_is_left_out(run, proc, tmp_path):
    for pid in (300, 290):
        for name in ('stat', 'cmdline'):
            (proc / str(pid) / name).unlink()
        (proc / str(pid)).rmdir()
    assert run.shared_servers('postgresql', True, str(proc)) == {
        'broker': 500}
