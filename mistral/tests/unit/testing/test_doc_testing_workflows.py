"""Every example of doc/source/user/testing-workflows.rst runs as shown.

Code blocks are played in the page's order in one temporary directory:
a block whose first line is ``# file: NAME`` is written to NAME (a
``test_*.py`` file is then run by pytest in a subprocess, as a user would);
other Python blocks are executed; in console blocks, each ``$ `` line is
run (``mistral-rehearse`` through its ``main``, ``pytest`` as a
subprocess) and what follows it, up to the next ``$ ``, is its exact
output.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import re
import shlex
import subprocess
import sys
from typing import Iterator

import pytest

from mistral.testing import cli

DOC = (pathlib.Path(__file__).resolve().parents[4] / 'doc' / 'source'
       / 'user' / 'testing-workflows.rst')


def blocks() -> list[tuple[str, str]]:
    """(language, code) of every code block, in order."""
    found = []
    lines = DOC.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r'\.\. code-block:: (\w+)\s*$', lines[i])
        i += 1
        if not m:
            continue
        while i < len(lines) and not lines[i].strip():
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip()
                                  or lines[i].startswith('   ')):
            body.append(lines[i][3:])
            i += 1
        found.append((m.group(1), '\n'.join(body).strip('\n') + '\n'))
    return found


@contextlib.contextmanager
def _cwd(path: pathlib.Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _run_command(command: str, where: pathlib.Path) -> str:
    argv = shlex.split(command)
    if argv[0] == 'mistral-rehearse':
        out = io.StringIO()
        with contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(out):
            cli.main(argv[1:])
        return out.getvalue()
    assert argv[0] == 'pytest', command
    done = subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider',
         '-p', 'no:randomly', '-o', 'addopts=', *argv[1:]],
        cwd=where, capture_output=True, text=True, timeout=300)
    # pytest's last line ends with the time it took and may count
    # deprecation warnings of installed libraries: compare the results.
    last = done.stdout.strip().splitlines()[-1] if done.stdout else ''
    last = re.sub(r' in [0-9.]+s.*$', '', last)
    return re.sub(r', [0-9]+ warnings?', '', last) + '\n'


def test_page_has_examples_of_every_kind():
    kinds = [lang for lang, _ in blocks()]
    assert kinds.count('console') >= 3
    assert kinds.count('python') >= 3
    assert kinds.count('yaml') >= 1


def test_every_example_runs_as_shown(tmp_path):
    for lang, code in blocks():
        first = code.splitlines()[0]
        if first.startswith('# file: '):
            (tmp_path / first[len('# file: '):].strip()).write_text(code)
            continue
        if lang == 'python':
            with _cwd(tmp_path):
                exec(compile(code, str(DOC), 'exec'), {})
        elif lang == 'console':
            parts = re.split(r'^\$ ', code, flags=re.M)[1:]
            for part in parts:
                command, _, expected = part.partition('\n')
                with _cwd(tmp_path):
                    got = _run_command(command, tmp_path)
                assert got == expected, (command, got, expected)
        else:
            pytest.fail('%s block without a "# file:" line' % lang)
