#!/usr/bin/env python3
"""Draw the benchmark chart of doc/source/admin/performance.rst.

    tools/bench/chart.py OUT_DIR/results.json [MORE.json ...] \
        -o doc/source/admin/performance.png

Reads the ``summary`` of one or more ``results.json`` files written by
``tools/bench/run.py`` (later files win for a scenario they also hold) and
draws two panels: throughput per scenario for every server measured (log
scale, ratio to upstream above our bars), and wall time against size for
the scale scenarios. Needs matplotlib (``pip install matplotlib``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

WFBENCH = ['seq', 'fanout', 'withitems', 'withitems-c10', 'many', 'api']
SCALE = {'with-items': [('scale-wi-1k', 1000), ('scale-wi-10k', 10000)],
         'fan-out': [('scale-fanout-100', 100), ('scale-fanout-1000', 1000)]}
COLOURS = {'ours': '#2a7ab9', 'ours-noinline': '#8fbfe0',
           'upstream': '#c4572a'}


def load(paths: list[str]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        for row in doc.get('summary', []):
            rows[row['scenario']] = row
    return rows


def draw(rows: dict[str, dict[str, Any]], out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5),
                                      gridspec_kw={'width_ratios': [2, 1]})
    scenarios = [s for s in WFBENCH if s in rows]
    servers = [s for s in COLOURS
               if any(rows[n].get(s, {}).get('value') for n in scenarios)]
    width = 0.8 / max(len(servers), 1)
    for i, server in enumerate(servers):
        xs, ys = [], []
        for j, name in enumerate(scenarios):
            value = rows[name].get(server, {}).get('value')
            if value:
                xs.append(j + (i - (len(servers) - 1) / 2) * width)
                ys.append(value)
        bars = left.bar(xs, ys, width, label=server, color=COLOURS[server])
        if server == 'ours':
            for bar, name in zip(bars, [n for n in scenarios
                                        if rows[n].get(server, {})
                                        .get('value')], strict=False):
                ratio = rows[name][server].get('ratio')
                if ratio:
                    left.annotate('%.0f×' % ratio, (bar.get_x()
                                                    + bar.get_width() / 2,
                                                    bar.get_height()),
                                  ha='center', va='bottom', fontsize=8)
    left.set_yscale('log')
    left.set_xticks(range(len(scenarios)), scenarios)
    left.set_ylabel('units per second (log)')
    left.set_title('Throughput, same machine, same run')
    left.legend(fontsize=8)

    for label, points in SCALE.items():
        found = [(size, rows[name]['ours']['wall_s']) for name, size in points
                 if rows.get(name, {}).get('ours', {}).get('wall_s')]
        if found:
            right.plot([p[0] for p in found], [p[1] for p in found],
                       marker='o', label=label)
    right.set_xscale('log')
    right.set_yscale('log')
    right.set_xlabel('items / branches')
    right.set_ylabel('wall seconds')
    right.set_title('Scale (ours)')
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('results', nargs='+')
    parser.add_argument('-o', '--out', required=True)
    args = parser.parse_args(argv)
    rows = load(args.results)
    if not rows:
        print('no summary rows in %s' % args.results, file=sys.stderr)
        return 1
    draw(rows, args.out)
    print(args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
