"""``mistral-db-manage import-upstream --from URL``: the command line.

Exit codes: 0 done (or nothing to do), 1 refused or failed (nothing or
only whole trees written, see the message), 2 executions in flight
upstream (``--non-terminal=refuse``, nothing written), 3 ``--verify``
found differences.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from typing import Any, TextIO

from mistral.db.upstream_import import copier
from mistral.db.upstream_import import source as source_mod

HELP = 'copy an upstream OpenStack Mistral 23.0.0 database into this one'
DESCRIPTION = (
    'Copy the database of an upstream OpenStack Mistral 23.0.0 deployment '
    '(--from, read only) into the configured database, which '
    '"mistral-db-manage upgrade head" has built. Run it once while '
    'upstream still runs (finished history, --non-terminal=skip), then '
    'again at the switch, with upstream drained and stopped: the second '
    'pass copies only what changed. --dry-run only counts; --verify '
    'compares the two databases row by row.')

EXIT_REFUSED = 1
EXIT_IN_FLIGHT = 2
EXIT_DIFFERENT = 3

_LIST_IN_FLIGHT = 50


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('--from', dest='source_url', required=True,
                   metavar='URL',
                   help='SQLAlchemy URL of the upstream database, e.g. '
                   'mysql+pymysql://mistral:PASS@db/mistral (only read)')
    p.add_argument('--non-terminal', dest='non_terminal',
                   choices=copier.MODES, default='refuse',
                   help='executions that have not finished upstream: '
                   'refuse (default: list them, copy nothing), skip (copy '
                   'the rest; a later pass copies them once finished) or '
                   'fail (copy them with their unfinished parts in ERROR, '
                   'to be rerun here)')
    p.add_argument('--dry-run', dest='dry_run', action='store_true',
                   help='count what a pass would copy; write nothing')
    p.add_argument('--verify', dest='verify', action='store_true',
                   help='compare source and target row by row; write '
                   'nothing')
    p.add_argument('--overlap', dest='overlap', type=float,
                   default=copier.OVERLAP.total_seconds(), metavar='SECONDS',
                   help='a later pass also copies again what changed this '
                   'long before the previous pass began (upstream stamps '
                   'rows to the second, with its hosts\' clocks; default '
                   '%(default)s)')
    p.add_argument('--batch-size', dest='batch_size', type=int,
                   default=copier.DEFAULT_BATCH,
                   help='execution trees per transaction (default '
                   '%(default)s)')


def run(args: Any, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if getattr(args, 'verify', False):
        from mistral.db.upstream_import import verify

        try:
            result = verify.run(args.source_url, out=out)
        except (copier.ImportRefused, source_mod.SourceError) as e:
            print('mistral-db-manage import-upstream: %s' % e, file=out)
            return EXIT_REFUSED
        verify.print_result(result, out)
        return 0 if result.ok else EXIT_DIFFERENT
    opts = copier.Options(source_url=args.source_url,
                          mode=args.non_terminal, dry_run=args.dry_run,
                          batch=args.batch_size, out=out,
                          overlap=datetime.timedelta(seconds=max(
                              args.overlap, 0)))
    try:
        report = copier.run(opts)
    except copier.InFlight as e:
        print_in_flight(e.report, out)
        return EXIT_IN_FLIGHT
    except (copier.ImportRefused, source_mod.SourceError) as e:
        print('mistral-db-manage import-upstream: %s' % e, file=out)
        return EXIT_REFUSED
    print_report(report, out)
    return 0


def print_in_flight(report: copier.Report, out: TextIO) -> None:
    flights = report.in_flight
    print('Nothing was copied: %d execution(s) of %s have not finished '
          'upstream:' % (len(flights), report.source), file=out)
    for tree in flights[:_LIST_IN_FLIGHT]:
        parts = ', '.join('%s %s' % (i, s) for i, s in tree.unfinished
                          if i != tree.root)
        print('  %s  %-9s %s %s%s' % (
            tree.root, tree.state, tree.kind, tree.name or '',
            (' (not finished under it: %s)' % parts) if parts else ''),
            file=out)
    if len(flights) > _LIST_IN_FLIGHT:
        print('  ... and %d more' % (len(flights) - _LIST_IN_FLIGHT),
              file=out)
    print('Work in flight cannot be carried over: drain upstream first '
          '(PUT /v2/maintenance {"status": "PAUSED"}, then cancel what is '
          'left or let it finish), or copy the finished history now with '
          '--non-terminal=skip and the rest later, or import these in ERROR '
          'with --non-terminal=fail and rerun them here.', file=out)


def print_report(report: copier.Report, out: TextIO) -> None:
    verb = 'Would copy' if report.dry_run else 'Copied'
    kind = 'first pass' if report.first_pass else 'later pass (changes only)'
    print('%s from %s (%s, upstream schema built by its %s):' % (
        verb, report.source, kind, report.built_by), file=out)
    print('  %-28s %10s %10s %10s %10s' % (
        'table', 'upstream', 'new/copied', 'changed', 'deleted'), file=out)
    for table in source_mod.COPIED_TABLES:
        c = report.tables.get(table, copier.TableCount())
        print('  %-28s %10d %10d %10d %10d' % (
            table, report.source_counts.get(table, 0), c.inserted,
            c.updated, c.deleted), file=out)
    print('  execution trees: %d upstream, %d %s, %d unchanged, %d deleted'
          % (report.trees_total, report.trees_copied,
             'to copy' if report.dry_run else 'copied',
             report.trees_unchanged, report.trees_deleted), file=out)
    if report.in_flight:
        how = {'skip': 'left for a later pass',
               'fail': 'copied with their unfinished parts in ERROR'}
        print('  %d execution(s) in flight upstream: %s' % (
            len(report.in_flight), how.get(report.mode, '')), file=out)
    for table, count in sorted(report.not_copied.items()):
        print('  not copied: %s (%d rows): %s' % (
            table, count, source_mod.NOT_COPIED_TABLES[table]), file=out)
    if report.orphans:
        print('  not copied: %d sub-workflow execution(s) whose parent '
              'task is gone, e.g. %s' % (len(report.orphans),
                                         report.orphans[0]), file=out)
    for c in report.tables.values():
        for line in c.skipped[:10]:
            print('  not copied: %s' % line, file=out)
    for note in report.notes:
        print('  note: %s' % note, file=out)
    print('  %.1f s' % report.seconds, file=out)
