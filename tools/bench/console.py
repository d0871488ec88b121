#!/usr/bin/env python3
"""Benchmark of the web console in headless Chromium.

    python tools/bench/console.py [--runs 5] [--executions 100000]

Starts the embedded server (SQLite, in-memory messaging), then measures:

* the page of an execution with 1,000 tasks, for a fan-out (start, 1,000
  parallel tasks, a join) and a chain of 1,000 tasks: time to load the
  data from the API, then the graph's layout and SVG, and the first paint
  after it (``console:*`` performance marks of the page);
* the executions list with ``--executions`` executions stored (inserted
  straight into the database): one page from the API as the console asks
  for it, and the page in the browser until its table is drawn.

Needs Debian's chromium and chromium-driver and selenium (the test
requirements). Prints a table and writes ``--json`` if given. Timings are
medians of ``--runs`` loads in a fresh tab each.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
import uuid
from typing import Any

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

from mistral.tests.functional import harness  # noqa: E402
from mistral.tests.functional.console.browser import Browser  # noqa: E402


def fan_out(n: int) -> str:
    lines = ["---", "version: '2.0'", "fan%d:" % n, "  tasks:",
             "    start:", "      action: std.noop", "      on-success:"]
    lines += ["        - t%d" % i for i in range(n)]
    for i in range(n):
        lines += ["    t%d:" % i, "      action: std.noop",
                  "      on-success: join"]
    lines += ["    join:", "      join: all", "      action: std.noop"]
    return '\n'.join(lines) + '\n'


def chain(n: int) -> str:
    lines = ["---", "version: '2.0'", "chain%d:" % n, "  tasks:"]
    for i in range(n):
        lines += ["    t%d:" % i, "      action: std.noop"]
        if i + 1 < n:
            lines.append("      on-success: t%d" % (i + 1))
    return '\n'.join(lines) + '\n'


def run_workflow(dep: harness.Deployment, text: str, name: str) -> str:
    r = requests.post(dep.api_url + '/workflows', data=text, timeout=300,
                      headers={'Content-Type': 'text/plain'})
    r.raise_for_status()
    r = requests.post(dep.api_url + '/executions', timeout=300,
                      json={'workflow_name': name})
    r.raise_for_status()
    ex_id = r.json()['id']
    state = dep.wait_execution(ex_id, timeout=600).state
    assert state == 'SUCCESS', state
    return ex_id


MARKS_JS = '''
const m = (n) => performance.getEntriesByName(n)[0];
const painted = m('console:graph-painted');
if (!painted) return null;
return {loaded: m('console:data-loaded').startTime,
        layout: m('console:graph-layout-and-svg').duration,
        painted: painted.startTime,
        nodes: document.querySelectorAll('svg.graph g.node').length};
'''


def measure_execution(b: Browser, url: str, runs: int) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        b.driver.switch_to.new_window('tab')
        b.get(url)
        got = b.wait(lambda: b.js(MARKS_JS), 120, 'the graph to be painted')
        samples.append(got)
        b.driver.close()
        b.driver.switch_to.window(b.driver.window_handles[0])
    med = {k: statistics.median(s[k] for s in samples)
           for k in ('loaded', 'layout', 'painted')}
    return {'nodes': samples[0]['nodes'],
            'api_load_ms': round(med['loaded']),
            'layout_svg_ms': round(med['layout']),
            'layout_and_first_paint_ms': round(med['painted'] -
                                               med['loaded']),
            'total_ms': round(med['painted'])}


def insert_executions(dep: harness.Deployment, count: int) -> None:
    import sqlalchemy as sa

    from mistral.db import models

    engine = sa.create_engine(dep.db_url)
    table = models.WorkflowExecution.__table__
    start = datetime.datetime(2025, 1, 1)
    states = ['SUCCESS'] * 8 + ['ERROR', 'RUNNING']
    batch = []
    with engine.begin() as conn:
        for i in range(count):
            batch.append({
                'id': str(uuid.uuid4()), 'name': 'bulk%d' % (i % 20),
                'workflow_name': 'bulk%d' % (i % 20),
                'workflow_namespace': '', 'description': 'bulk %d' % i,
                'state': states[i % len(states)], 'project_id':
                '<default-project>', 'scope': 'private',
                'accepted': True, 'active_tasks': 0, 'input': {},
                'params': {'namespace': '', 'env': {}},
                'created_at': start + datetime.timedelta(seconds=i),
                'updated_at': start + datetime.timedelta(seconds=i + 3)})
            if len(batch) == 5000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
    engine.dispose()


def measure_list(dep: harness.Deployment, b: Browser, ui: str,
                 runs: int) -> dict[str, Any]:
    params = {'limit': 50, 'sort_keys': 'created_at', 'sort_dirs': 'desc',
              'nulls': 'root_execution_id', 'fields': (
                  'id,workflow_name,workflow_id,workflow_namespace,state,'
                  'state_info,description,created_at,updated_at,'
                  'task_execution_id,root_execution_id')}
    api_ms = []
    for _ in range(runs * 4):
        t = time.perf_counter()
        r = requests.get(dep.api_url + '/executions', params=params,
                         timeout=60)
        api_ms.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200 and len(r.json()['executions']) == 50
    # A later page (marker paging) costs the same.
    marker = r.json()['executions'][-1]['id']
    later = []
    for _ in range(runs * 4):
        t = time.perf_counter()
        requests.get(dep.api_url + '/executions', timeout=60,
                     params=dict(params, marker=marker)).raise_for_status()
        later.append((time.perf_counter() - t) * 1000)
    page_ms = []
    for _ in range(runs):
        b.driver.switch_to.new_window('tab')
        t = time.perf_counter()
        b.get(ui + 'executions')
        b.wait(lambda: len(b.all('#executions-table tbody tr')) == 50, 60,
               'the executions table')
        page_ms.append((time.perf_counter() - t) * 1000)
        b.driver.close()
        b.driver.switch_to.window(b.driver.window_handles[0])
    return {'api_first_page_ms': round(statistics.median(api_ms), 1),
            'api_later_page_ms': round(statistics.median(later), 1),
            'browser_page_ms': round(statistics.median(page_ms))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--tasks', type=int, default=1000)
    parser.add_argument('--executions', type=int, default=100000)
    parser.add_argument('--json', help='write the results here')
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with harness.Deployment(db='sqlite', transport='fake',
                            processes=[['all']]) as dep:
        ui = dep.api_url[:-len('/v2')] + '/ui/'
        cases = [('fan-out', fan_out(args.tasks), 'fan%d' % args.tasks),
                 ('chain', chain(args.tasks), 'chain%d' % args.tasks)]
        with Browser(1280, 800) as b:
            b.get(ui)  # warm the browser's cache of the console's files
            b.wait_css('main table, main .empty', 60)
            for label, text, name in cases:
                t = time.perf_counter()
                ex_id = run_workflow(dep, text, name)
                print('%s: executed %d tasks in %.1fs' % (
                    label, args.tasks, time.perf_counter() - t), flush=True)
                results[label] = measure_execution(
                    b, ui + 'executions/' + ex_id, args.runs)
                print(label, results[label], flush=True)
            t = time.perf_counter()
            insert_executions(dep, args.executions)
            print('inserted %d executions in %.1fs' % (
                args.executions, time.perf_counter() - t), flush=True)
            results['executions-list'] = dict(
                stored=args.executions,
                **measure_list(dep, b, ui, args.runs))
            print('executions-list', results['executions-list'], flush=True)
    print()
    print('%-16s %6s %10s %10s %12s %9s' % (
        'execution page', 'nodes', 'api load', 'layout+svg',
        'layout+paint', 'total'))
    for label in ('fan-out', 'chain'):
        r = results[label]
        print('%-16s %6d %8d ms %8d ms %10d ms %6d ms' % (
            label, r['nodes'], r['api_load_ms'], r['layout_svg_ms'],
            r['layout_and_first_paint_ms'], r['total_ms']))
    r = results['executions-list']
    print('executions list with %d stored: API first page %.1f ms, later '
          'page %.1f ms, page in the browser %d ms' % (
              r['stored'], r['api_first_page_ms'], r['api_later_page_ms'],
              r['browser_page_ms']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
