"""Command line of the differential run.

    python -m tools.differential --start [selection] [options]
    python -m tools.differential --ours URL --upstream URL [selection]

``--start`` starts both servers (ours through the test harness, upstream
23.0.0 from its cached virtualenv, each on a private PostgreSQL database
and RabbitMQ vhost) and a further pair for each configuration some cases
set (``conf``). With URLs, the servers are used as they are (cases that
change configuration are then not runnable); ``--prefix`` puts a prefix
before the cases' namespaces and ``--clean`` deletes what each case
stored, for a server that others use too.

Selection: ``-k PATTERN`` (fnmatch on the case name, repeatable),
``--area NAME`` (repeatable); default: the whole corpus. ``--cases FILE``
plays the cases of FILE instead (same format as a corpus file, e.g. small
workflows written to check one fact against upstream).

Prints a table (``-v``: every difference) and writes ``--json FILE``.
Exit status: 0 when no case is ``different`` or ``broken``, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import sys
import time
from typing import Any

from mistral.tests.functional.corpus import loader
from tools.differential import report
from tools.differential import run as run_mod
from tools.differential import servers


def select(cases: list[dict[str, Any]], patterns: list[str],
           areas: list[str]) -> list[dict[str, Any]]:
    out = []
    for c in cases:
        if patterns and not any(fnmatch.fnmatchcase(c['name'], p)
                                for p in patterns):
            continue
        if areas and c['area'] not in areas:
            continue
        out.append(c)
    return out


def _conf_key(case: dict[str, Any]) -> str:
    return json.dumps(case.get('conf') or {}, sort_keys=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='python -m tools.differential',
                                description=__doc__.split('\n\n')[0])
    p.add_argument('--start', action='store_true',
                   help='start both servers (PostgreSQL + RabbitMQ)')
    p.add_argument('--ours', help='our API, e.g. http://127.0.0.1:8989/v2')
    p.add_argument('--upstream', help="upstream's API")
    p.add_argument('--ours-db', help="our database URL (lets a "
                   "complete_action step see that an action is async)")
    p.add_argument('--upstream-db', help="upstream's database URL")
    p.add_argument('-k', dest='patterns', action='append', default=[])
    p.add_argument('--area', action='append', default=[])
    p.add_argument('--cases', dest='cases_file',
                   help='a file of cases in the corpus format')
    p.add_argument('--workers', type=int, default=4)
    p.add_argument('--prefix', default='')
    p.add_argument('--clean', action='store_true')
    p.add_argument('--allowed', default=run_mod.ALLOWED_FILE,
                   help='allow-list file (default: %(default)s)')
    p.add_argument('--json', dest='json_path')
    p.add_argument('-v', '--verbose', action='store_true')
    args = p.parse_args(argv)
    if args.start == bool(args.ours or args.upstream):
        p.error('give either --start or both --ours and --upstream')
    if not args.start and not (args.ours and args.upstream):
        p.error('--ours and --upstream go together')

    cases = select(loader.load_file(args.cases_file) if args.cases_file
                   else loader.load(), args.patterns, args.area)
    if not cases:
        p.error('no case selected')
    allowed = run_mod.load_allowed(args.allowed)
    began = time.monotonic()
    outcomes: dict[str, run_mod.Outcome] = {}
    runnable: dict[str, list[dict[str, Any]]] = {}
    for c in cases:
        why = run_mod.not_runnable(c, can_configure=args.start)
        if why:
            outcomes[c['name']] = run_mod.Outcome(c['name'], c['area'],
                                                  'not runnable', why)
        else:
            runnable.setdefault(_conf_key(c), []).append(c)

    def progress(o: run_mod.Outcome) -> None:
        print('%-12s %s (%.1fs)' % (o.result, o.case, o.seconds),
              file=sys.stderr, flush=True)

    for key, group in sorted(runnable.items()):
        conf = json.loads(key)
        with contextlib.ExitStack() as stack:
            if args.start:
                if conf:
                    print('starting a pair of servers with %s' % key,
                          file=sys.stderr, flush=True)
                ours, upstream = stack.enter_context(
                    servers.started_pair(conf))
            else:
                ours = servers.Endpoint('ours', args.ours, args.ours_db)
                upstream = servers.Endpoint('upstream', args.upstream,
                                            args.upstream_db)
            for o in run_mod.run_cases(group, ours, upstream,
                                       workers=args.workers,
                                       prefix=args.prefix,
                                       clean=args.clean, allowed=allowed,
                                       progress=progress):
                outcomes[o.case] = o
    ordered = [outcomes[c['name']] for c in cases]
    wall = round(time.monotonic() - began, 1)
    print(report.table(ordered, verbose=args.verbose))
    print('wall time: %.1fs' % wall)
    if args.json_path:
        with open(args.json_path, 'w') as f:
            json.dump(report.as_json(ordered, wall_seconds=wall), f,
                      indent=1, sort_keys=True, default=str)
    bad = [o for o in ordered if o.result in ('different', 'broken')]
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
