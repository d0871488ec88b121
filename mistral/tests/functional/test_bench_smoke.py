"""The benchmark's smoke run: every scenario of tools/bench at a tiny size,
its results checked (outputs, task rows, with-items result lists), on the
embedded default and in the production shape, with the repository's own
driver and HTTP target (std.http scenarios through executors).
Correctness only: speed is what tools/bench measures outside CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SCENARIOS = ['seq-http', 'fanout-http', 'withitems-http', 'many-http',
             'seq', 'fanout', 'withitems', 'withitems-c10', 'many', 'api',
             'scale-wi-http-100', 'scale-wi-http-1k', 'scale-wi-1k',
             'scale-wi-10k', 'scale-fanout-100', 'scale-fanout-1000']


# The production shape also passes --poll through to the driver.
@pytest.mark.parametrize('shape', [['--embedded'],
                                   ['--db', 'postgresql', '--poll', '0.02']],
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
    run = doc['results']['many-http']['ours'][0]
    # The client's share is measured too; the database's and RabbitMQ's
    # where the deployment uses them.
    shared = {'database', 'broker'} & set(run['cpu_ms_per_unit'])
    assert run['cpu_ms_per_unit']['client'] >= 0, run
    if shape != ['--embedded']:
        # Each process's CPU and its threads' wait for a CPU, per unit.
        for proc in ('api', 'executor'):
            assert run['cpu_ms_per_unit'][proc] > 0, run
            assert run['wait_ms_per_unit'][proc] >= 0, run
        assert shared == {'database', 'broker'}, run
    else:
        assert not shared, run
    # The scale verdicts are computed (their sizes are not the real ones):
    # time against size, and the engine's and executor's memory.
    verdicts = [v['target'] for v in doc['verdicts']]
    assert len([v for v in verdicts if 'the time of' in v]) == 3, verdicts
    procs = ['engine'] if shape == ['--embedded'] else ['engine', 'executor']
    for name in ('scale-wi-http-1k', 'scale-wi-1k', 'scale-wi-10k'):
        for proc in procs:
            assert any(v.startswith('%s: %s RSS peak' % (name, proc))
                       for v in verdicts), verdicts
