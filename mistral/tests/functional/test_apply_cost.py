"""tools/bench/apply_cost.py: the fixed and per-result CPU of the result
transactions an executor applies. Its figures are timings (not checked
here); what it counts is: every execution succeeds, a transaction of
three results sends as many statements as one of a single result (the
results share them), and every step of every size was measured."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
TOOL = os.path.join(ROOT, 'tools', 'bench', 'apply_cost.py')


def test_results_share_a_transactions_statements(tmp_path) -> None:
    out = tmp_path / 'cost.json'
    scratch = tmp_path / 'tmp'
    scratch.mkdir()
    proc = subprocess.run(
        [sys.executable, TOOL, '--db', 'sqlite', '--executions', '6',
         '--sizes', '1,3', '--rounds', '1', '--phases',
         '--json-out', str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TMPDIR=str(scratch)))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # Its database and files are gone with it.
    assert list(scratch.iterdir()) == []
    doc = json.loads(out.read_text())
    runs = doc['runs']
    assert sorted((r['size'], r['step']) for r in runs) == [
        (1, 1), (1, 2), (1, 3), (3, 1), (3, 2), (3, 3)]
    assert all(r['transactions'] == 6 // r['size'] for r in runs), runs
    assert all(r['results_per_transaction'] == r['size'] for r in runs)
    assert all(r['cpu_ms_per_transaction'] > 0 for r in runs), runs
    for step in (1, 2, 3):
        one, three = (next(r['statements_per_transaction'] for r in runs
                           if r['size'] == size and r['step'] == step)
                      for size in (1, 3))
        assert one >= 4, (step, one)
        assert three == one, (step, one, three)
    assert doc['fixed_cpu_ms'] is not None
    assert 'fit:' in proc.stdout
    # --phases: every phase was entered in every measured transaction.
    for r in runs:
        spent = r['phases_ms_per_transaction']
        assert set(spent) >= {'statements', 'driver calls', 'commit',
                              'lock and load executions', 'final writes',
                              'task steps (engine decisions)'}, r
        assert all(ms > 0 for ms in spent.values()), r
        assert spent['statements'] < r['cpu_ms_per_transaction'], r


def _tool() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location('apply_cost', TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_phase_wrappers_time_the_main_thread_and_come_off() -> None:
    tool = _tool()

    class Base:
        def work(self) -> int:
            return sum(range(20000))

    class Child(Base):
        pass

    phases = tool.Phases()
    phases.wrap(Child, 'work', 'work')
    assert Child().work() == sum(range(20000))
    assert phases.take(1)['work'] > 0
    phases.remove()
    assert 'work' not in vars(Child)  # inherited again, not a copy
    assert Child.work is Base.work


def test_fit_of_a_line() -> None:
    fixed, per_item = _tool().fit([(1, 5.0), (2, 6.5), (10, 18.5)])
    assert round(fixed, 6) == 3.5 and round(per_item, 6) == 1.5


def test_bad_sizes_are_refused() -> None:
    proc = subprocess.run(
        [sys.executable, TOOL, '--db', 'sqlite', '--sizes', '1,x'],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--sizes: comma-separated whole numbers, got '1,x'" in \
        proc.stderr
