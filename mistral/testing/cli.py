"""mistral-rehearse: run a workflow in memory with mocked actions.

::

    mistral-rehearse wf.yaml --input name=Ann --mock greet='"hello"' \\
        --mock-error notify='"mail server down"' --expect-state ERROR

Prints the task sequence, what each task published and the output (or all
of it as JSON with ``--json``); exits 0 when the execution ends in the
expected state (``--expect-state``, SUCCESS by default), 1 when it does
not, 2 when the command line or the definition is wrong.

Values (``--input``, ``--mock``, ``--env``) are JSON when they parse as
JSON, text otherwise. ``--mock`` given several times for one task gives
one result per action run, in order (with-items elements, retries), the
last repeating; ``--mock-error`` adds an error result to that sequence and
``--pending`` an answer that never comes.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any, Sequence

EXIT_UNEXPECTED = 1
EXIT_USAGE = 2


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition('=')
    if not sep or not key:
        raise argparse.ArgumentTypeError('expected NAME=VALUE, got %r'
                                         % text)
    return key, value


class _MockAction(argparse.Action):
    """Keeps --mock, --mock-error and --pending in command-line order."""

    def __call__(self, parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        found = getattr(namespace, 'mocks', None) or []
        if self.dest == 'pending':
            found.append((values, 'pending', None))
        else:
            key, value = _pair(values)
            found.append((key, self.dest, value))
        namespace.mocks = found


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='mistral-rehearse',
        description='Run a Mistral workflow in memory, with mocked action '
        'results and a fake clock, and show what it did.')
    p.add_argument('definition', help='workflow or workbook YAML file')
    p.add_argument('--workflow', '-w',
                   help='workflow to start (when the file has several)')
    p.add_argument('--actions', help='a file of ad-hoc actions to store '
                   'first')
    p.add_argument('--input', '-i', action='append', default=[],
                   type=_pair, metavar='NAME=VALUE',
                   help='workflow input (repeatable)')
    p.add_argument('--env', action='append', default=[], type=_pair,
                   metavar='NAME=VALUE', help='execution env (repeatable)')
    p.add_argument('--mock', '-m', action=_MockAction, dest='mock',
                   metavar='TASK=RESULT',
                   help="the result of TASK's action (repeatable; "
                   "action:NAME=RESULT mocks an action everywhere)")
    p.add_argument('--mock-error', action=_MockAction, dest='mock_error',
                   metavar='TASK=ERROR',
                   help="TASK's action fails with ERROR (repeatable)")
    p.add_argument('--pending', action=_MockAction, dest='pending',
                   metavar='TASK', help="TASK's action never answers")
    p.add_argument('--expect-state', default='SUCCESS',
                   choices=('SUCCESS', 'ERROR', 'CANCELLED', 'RUNNING',
                            'PAUSED'),
                   help='the final state that counts as success '
                   '(default SUCCESS)')
    p.add_argument('--json', action='store_true',
                   help='print the outcome as JSON')
    p.add_argument('--verbose', '-v', action='store_true',
                   help="show the engine's warnings")
    return p


def mocks_of(entries: Sequence[tuple[str, str, str | None]]
             ) -> dict[str, Any]:
    """--mock/--mock-error/--pending entries as rehearse() mocks."""
    from mistral.testing import PENDING
    from mistral.testing import error
    from mistral.testing import sequence

    by_task: dict[str, list[Any]] = {}
    for task, kind, text in entries:
        if kind == 'pending':
            value: Any = PENDING
        elif kind == 'mock_error':
            value = error(_value(text or ''))
        else:
            value = _value(text or '')
        by_task.setdefault(task, []).append(value)
    return {task: values[0] if len(values) == 1 else sequence(*values)
            for task, values in by_task.items()}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.verbose
                        else logging.CRITICAL, stream=sys.stderr)
    from mistral.testing import rehearse

    params: dict[str, Any] = {}
    if args.env:
        params['env'] = {k: _value(v) for k, v in args.env}
    try:
        outcome = rehearse(args.definition,
                           {k: _value(v) for k, v in args.input},
                           mocks_of(getattr(args, 'mocks', None) or []),
                           workflow=args.workflow, actions=args.actions,
                           **params)
    except Exception as e:  # a definition or start error
        print('mistral-rehearse: %s' % e, file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(outcome.to_dict(), indent=2, sort_keys=True,
                         default=str))
    else:
        print(outcome.summary())
    if outcome.state != args.expect_state:
        if not args.json:
            print('expected %s, got %s' % (args.expect_state, outcome.state),
                  file=sys.stderr)
        return EXIT_UNEXPECTED
    return 0


if __name__ == '__main__':
    sys.exit(main())
