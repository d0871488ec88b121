"""Run upstream's gate suites by hand.

    python -m mistral.tests.functional.upstream_suites RUN [REGEX...]
    python -m mistral.tests.functional.upstream_suites --url URL SUITE \
        [REGEX...]

The first form starts what the gate run ``RUN`` needs (a fresh deployment
and, for the Keystone runs, a Keystone), runs its suite, prints one line
per test, then the summary and every way the run breaks the gate; the
exit code is 0 only if it does not. ``--list`` names the runs.

The second form runs ``SUITE`` (``tempest`` or ``client``) in its no-auth
mode against a server that is already running, e.g. ``mistral-server
--server all`` with ``[api] allow_action_execution_deletion = True``;
the tests that need Keystone or what this machine lacks are left out.
The suites expect an empty server: some list everything there is.

REGEX narrows the run to the tests whose id matches one of them.
"""

from __future__ import annotations

import argparse
import sys

from mistral.tests.functional.upstream_suites import gate as gate_mod
from mistral.tests.functional.upstream_suites import runner
from mistral.tests.functional.upstream_suites import session


def _print_problems(problems: list[str]) -> None:
    if problems:
        print('\nThe gate is broken:')
        for p in problems:
            print('  ' + p)


def _details(run: runner.SuiteRun) -> None:
    for r in run.failures():
        print('\n%s\n%s %s\n%s' % ('=' * 70, r.status.upper(), r.id,
                                   r.details.rstrip()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog='python -m mistral.tests.functional.upstream_suites',
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--list', action='store_true', help='list the runs')
    p.add_argument('--url', help='a running no-auth server (second form)')
    p.add_argument('target', nargs='?',
                   help='a gate run, or with --url a suite')
    p.add_argument('only', nargs='*', help='regexes of test ids')
    args = p.parse_args(argv)

    if args.list or not args.target:
        for name, g in gate_mod.RUNS.items():
            print('%-28s %s on %s, %s, %d tests' % (
                name, g.suite, g.deployment,
                'Keystone' if g.keystone else 'no auth', len(g.tests())))
        return 0 if args.list else 2

    if args.url:
        if args.target not in runner.SUITES:
            p.error('with --url, name a suite: %s' % ', '.join(
                runner.SUITES))
        # The no-auth run of that suite says what to leave out.
        g = next(g for g in gate_mod.RUNS.values()
                 if g.suite == args.target and not g.keystone)
        run = runner.run_suite(args.target, args.url,
                               exclusions=g.not_run(),
                               scope=g.selection(), only=args.only,
                               echo=sys.stdout)
        _details(run)
        if not args.only:
            _print_problems(gate_mod.problems(g, run))
        print('%s in %.0fs' % (run.summary(), run.seconds))
        return 1 if run.failures() else 0

    if args.target not in gate_mod.RUNS:
        p.error('no run %r; --list names them' % args.target)
    outcome = session.execute(gate_mod.RUNS[args.target], only=args.only,
                              echo=sys.stdout)
    _details(outcome.run)
    problems = [] if args.only else outcome.problems()
    _print_problems(problems)
    print(outcome.timing_line())
    # The plain summary last.
    print(outcome.run.summary())
    return 1 if (problems or outcome.run.failures()) else 0


if __name__ == '__main__':
    sys.exit(main())
