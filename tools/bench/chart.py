#!/usr/bin/env python3
"""Draw the benchmark chart of doc/source/admin/performance.rst.

    tools/bench/chart.py OUT_DIR/results.json [MORE.json ...] \
        -o doc/source/admin/performance.png

Reads the ``summary`` of one or more ``results.json`` files written by
``tools/bench/run.py`` (later files win for a scenario they also hold) and
draws three panels: throughput of the executor-path scenarios (every
action a ``std.http`` call) and of the inline ones (``std.noop`` /
``std.echo``) for every server measured (log scale, ratio to upstream
above our bars), and wall time against size for the scale scenarios.
Needs matplotlib (``pip install matplotlib``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXECUTOR = ['seq-http', 'fanout-http', 'withitems-http', 'many-http']
INLINE = ['seq', 'fanout', 'withitems', 'withitems-c10', 'many', 'api']
SCALE = {'with-items, std.http': [('scale-wi-http-100', 100),
                                  ('scale-wi-http-1k', 1000)],
         'with-items, std.echo': [('scale-wi-1k', 1000),
                                  ('scale-wi-10k', 10000)],
         'fan-out, std.noop': [('scale-fanout-100', 100),
                               ('scale-fanout-1000', 1000)]}
COLOURS = {'ours': '#2a7ab9', 'ours-2x': '#5fa05a',
           'ours-noinline': '#8fbfe0', 'upstream': '#c4572a'}


def load(paths: list[str]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        for row in doc.get('summary', []):
            rows[row['scenario']] = row
    return rows


def _bars(ax: Any, rows: dict[str, dict[str, Any]], names: list[str],
          title: str) -> None:
    scenarios = [s for s in names if s in rows]
    servers = [s for s in COLOURS
               if any(rows[n].get(s, {}).get('value') for n in scenarios)]
    width = 0.8 / max(len(servers), 1)
    for i, server in enumerate(servers):
        xs, ys, labels = [], [], []
        for j, name in enumerate(scenarios):
            value = rows[name].get(server, {}).get('value')
            if value:
                xs.append(j + (i - (len(servers) - 1) / 2) * width)
                ys.append(value)
                labels.append(name)
        bars = ax.bar(xs, ys, width, label=server, color=COLOURS[server])
        if server == 'upstream':
            continue
        for bar, name in zip(bars, labels, strict=True):
            ratio = rows[name][server].get('ratio')
            if ratio:
                ax.annotate('%.0f×' % ratio if ratio >= 10
                            else '%.1f×' % ratio,
                            (bar.get_x() + bar.get_width() / 2,
                             bar.get_height()),
                            ha='center', va='bottom', fontsize=7)
    ax.set_yscale('log')
    ax.set_xticks(range(len(scenarios)), scenarios, fontsize=8)
    ax.set_ylabel('units per second (log)')
    ax.set_title(title, fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def draw(rows: dict[str, dict[str, Any]], out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt

    fig, (first, second, third) = plt.subplots(
        1, 3, figsize=(15, 4.5), gridspec_kw={'width_ratios': [4, 5, 3]})
    # The executor path first: every action but std.noop/std.echo/std.fail
    # takes it, so it is what real workflows get.
    _bars(first, rows, EXECUTOR,
          'Executor path (every action a std.http call)')
    _bars(second, rows, INLINE,
          'Inline shortcut (std.noop / std.echo, run by the engine)')
    for label, points in SCALE.items():
        found = [(size, rows[name]['ours']['wall_s']) for name, size in points
                 if rows.get(name, {}).get('ours', {}).get('wall_s')]
        if found:
            third.plot([p[0] for p in found], [p[1] for p in found],
                       marker='o', label=label)
    third.set_xscale('log')
    third.set_yscale('log')
    third.set_xlabel('items / branches')
    third.set_ylabel('wall seconds')
    third.set_title('Scale (ours)', fontsize=10)
    if third.get_legend_handles_labels()[0]:
        third.legend(fontsize=7)
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
