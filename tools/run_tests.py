#!/usr/bin/env python3
"""Run the whole test suite: lint, then unit and functional tests.

    python tools/run_tests.py [pytest arguments...]

1. ``ruff check mistral tools`` (configured in pyproject.toml).
2. ``mypy`` (configured in pyproject.toml: the pure core, mistral/lang,
   mistral/workflow and mistral/expressions, checked with --strict; the
   engine, the executor, mistral/handoff and mistral/api with mypy's
   defaults), run
   in the background while the tests run; if it fails, its output is
   printed after theirs (on success pytest's summary stays the last line).
3. ``pytest -n auto --dist loadfile --timeout N`` over mistral/tests.
   ``loadfile`` keeps a test module on one worker, so that its
   module-scoped deployment is started once, not once per worker.

Extra arguments go to pytest (e.g. ``-k engine`` or a path; ``-n 0`` to
run in one process). The exit code is non-zero if the lint, the type check
or any test failed, and also when pytest ran no test at all (its exit code
5), which must never pass for green. ``--no-lint`` skips steps 1 and 2 for
quick local runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Longest a single test may take (pytest-timeout); a hung test fails with
# its stack instead of eating the CI budget.
TEST_TIMEOUT = int(os.environ.get('MISTRAL_TEST_TIMEOUT', '600'))

PYTEST_NO_TESTS = 5


def _run(cmd: list[str]) -> int:
    print('+ ' + ' '.join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def lint() -> int:
    return _run([sys.executable, '-m', 'ruff', 'check', 'mistral', 'tools'])


class TypeCheck:
    """``mypy`` running in the background, its output kept for later."""

    def __init__(self) -> None:
        cmd = [sys.executable, '-m', 'mypy']
        print('+ ' + ' '.join(cmd) + ' (in the background)', flush=True)
        self._out = tempfile.TemporaryFile(mode='w+')
        self._proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._out,
                                      stderr=subprocess.STDOUT)

    def wait(self) -> int:
        rc = self._proc.wait()
        if rc:
            self._out.seek(0)
            print('+ mypy output:', flush=True)
            print(self._out.read(), end='', flush=True)
        self._out.close()
        return rc


def pytest_cmd(extra: list[str]) -> list[str]:
    cmd = [sys.executable, '-m', 'pytest', '--timeout', str(TEST_TIMEOUT),
           '--durations', '15']
    if not any(a == '-n' or a.startswith(('-n=', '--numprocesses'))
               or (a.startswith('-n') and a[2:].isdigit()) for a in extra):
        cmd += ['-n', 'auto', '--dist', 'loadfile']
    return cmd + extra


def main(argv: list[str]) -> int:
    args = list(argv)
    do_lint = '--no-lint' not in args
    args = [a for a in args if a != '--no-lint']

    lint_rc = lint() if do_lint else 0
    if lint_rc:
        print('ruff check failed (exit %d); running the tests anyway'
              % lint_rc, flush=True)
    type_check = TypeCheck() if do_lint else None
    try:
        test_rc = _run(pytest_cmd(args))
    finally:
        type_rc = type_check.wait() if type_check else 0
    # On success pytest's summary stays the last line of the output.
    if test_rc == PYTEST_NO_TESTS:
        print('pytest collected no tests: that is a failure', flush=True)
    if lint_rc:
        print('ruff check failed (exit %d)' % lint_rc, flush=True)
    if type_rc:
        print('mypy failed (exit %d)' % type_rc, flush=True)
    return 1 if (lint_rc or type_rc or test_rc) else 0

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
