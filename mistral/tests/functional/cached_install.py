"""Third-party software that functional tests install once per machine.

Keystone, upstream Mistral, mistral-extra and upstream's gate suites pin
libraries that need not agree with ours, so each lives in a directory of
its own under ``$XDG_CACHE_HOME/mistral-tests`` (default ``~/.cache``),
built on first use and reused by later runs and by parallel test
processes. A failed build raises the caller's error class with the
command's output and leaves nothing behind: the tests that need it fail,
they never skip.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Callable

STAMP = '.mistral-tests-complete'


def cache_root() -> str:
    """Where cached installs live (they outlive test runs)."""
    cache = os.environ.get('XDG_CACHE_HOME') or os.path.join(
        os.path.expanduser('~'), '.cache')
    return os.path.join(cache, 'mistral-tests')


def cache_dir(name: str, env_var: str | None = None) -> str:
    """``<cache root>/<name>-py<major><minor>``, or the path in
    ``env_var`` when it is set."""
    explicit = os.environ.get(env_var) if env_var else None
    if explicit:
        return explicit
    return os.path.join(cache_root(), '%s-py%d%d' % (
        name, sys.version_info[0], sys.version_info[1]))


def run(cmd: list[str], what: str, timeout: float,
        error: type[Exception], env: dict[str, str] | None = None,
        cwd: str | None = None) -> str:
    """Run ``cmd``; its stdout, or ``error`` naming ``what`` failed with
    the last lines of its output."""
    try:
        # cwd: never the repository by default (``python -c`` puts the
        # working directory first on sys.path, and upstream's package is
        # also called mistral).
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL,
                              env=env, check=False,
                              cwd=cwd or tempfile.gettempdir())
    except (OSError, subprocess.TimeoutExpired) as e:
        raise error('%s failed: %s' % (what, e)) from e
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).splitlines()
        raise error('%s failed (exit %d): %s\n%s' % (
            what, proc.returncode, ' '.join(cmd), '\n'.join(out[-60:])))
    return proc.stdout


def base_python() -> str:
    """The interpreter our virtualenv was made from (venvs are made from
    it, not from ours, so that they do not see our packages)."""
    return getattr(sys, '_base_executable', sys.executable)


def ensure(path: str, build: Callable[[str], str],
           error: type[Exception],
           usable: Callable[[str], bool] = lambda _path: True) -> str:
    """``path``, built by ``build(path)`` unless a complete build is
    there; returns ``path``.

    ``build`` returns a line for the stamp file that marks a complete
    build (what it installed). A file lock lets one process build while
    the others wait; a half-built directory (an interrupted run) or one
    that is no longer ``usable`` (a venv whose base interpreter went
    away) is built afresh.
    """
    stamp = os.path.join(path, STAMP)
    os.makedirs(os.path.dirname(path.rstrip('/')) or '.', exist_ok=True)
    with open(path.rstrip('/') + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(stamp) and usable(path):
            return path
        shutil.rmtree(path, ignore_errors=True)
        started = time.monotonic()
        try:
            what = build(path)
        except error:
            shutil.rmtree(path, ignore_errors=True)
            raise
        with open(stamp, 'w') as f:
            f.write('%s\nbuilt in %.0fs\n' % (what,
                                              time.monotonic() - started))
    return path


def venv_with(path: str, packages: list[str], what: str, timeout: float,
              error: type[Exception]) -> str:
    """Build a virtualenv at ``path`` with ``packages`` (a ``build`` for
    :func:`ensure`)."""
    run([base_python(), '-m', 'venv', path], 'creating the virtualenv %s'
        % path, 300, error)
    run([os.path.join(path, 'bin', 'python'), '-m', 'pip', 'install',
         '--quiet', *packages], what, timeout, error)
    return ' '.join(packages)
