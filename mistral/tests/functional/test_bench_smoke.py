"""The benchmark's smoke run: every scenario of tools/bench at a tiny size,
its results checked (outputs, task rows, with-items result lists), on the
embedded default and in the production shape. Correctness only: speed is
what tools/bench measures outside CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SCENARIOS = ['seq', 'fanout', 'withitems', 'withitems-c10', 'many', 'api',
             'scale-wi-1k', 'scale-wi-10k', 'scale-fanout-100',
             'scale-fanout-1000']


@pytest.mark.parametrize('shape', [['--embedded'], ['--db', 'postgresql']],
                         ids=['embedded', 'postgresql-rabbit'])
def test_every_scenario_runs_and_checks_its_results(shape, tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'bench', 'run.py'),
         '--smoke', '--ref', 'worktree', '--out', str(tmp_path)] + shape,
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(tmp_path / 'results.json') as f:
        doc = json.load(f)
    assert sorted(doc['results']) == sorted(SCENARIOS)
    for name in SCENARIOS:
        runs = doc['results'][name]['ours']
        assert len(runs) == 1 and runs[0]['ok'], (name, runs)
        assert runs[0]['value'] > 0, (name, runs)
    # The scale verdicts are computed (their sizes are not the real ones).
    assert len(doc['verdicts']) == 2
