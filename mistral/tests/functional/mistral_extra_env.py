"""mistral-extra (upstream's OpenStack actions) for functional tests.

``mistral-extra==17.0.0`` installs cleanly with our pins: pip resolves it
to 28 packages that our virtualenv lacks (the python-*client libraries,
Flask, ...) and changes none that it has. It is still not in
test-requirements.txt: installed in the shared virtualenv, its 1,200
generated actions would appear in every deployment of the suite (the
tests that check the standard action list would have to change, and every
process would load them), while only these tests need them.

So it is installed next to the servers the way an operator might
(``pip install mistral-extra``), into a directory that the tests put on
the servers' ``PYTHONPATH``: the packages pip would add to our virtualenv,
exactly, found with ``pip install --dry-run --report`` against it and
installed with ``--no-deps --target``. Built once per machine and reused
(``$XDG_CACHE_HOME/mistral-tests/mistral-extra-<version>-py<ver>``, or
``MISTRAL_TEST_MISTRAL_EXTRA_SITE``); a lock makes parallel test processes
build it once. When it cannot be installed the tests fail with pip's
output; they do not skip.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from mistral.tests.functional import harness

VERSION = '17.0.0'
INSTALL_TIMEOUT = 1800
_STAMP = '.mistral-tests-complete'


class MistralExtraUnavailable(harness.DeploymentError):
    """mistral-extra could not be installed."""


def site_dir() -> str:
    explicit = os.environ.get('MISTRAL_TEST_MISTRAL_EXTRA_SITE')
    if explicit:
        return explicit
    cache = os.environ.get('XDG_CACHE_HOME') or os.path.join(
        os.path.expanduser('~'), '.cache')
    return os.path.join(cache, 'mistral-tests', 'mistral-extra-%s-py%d%d' % (
        VERSION, sys.version_info[0], sys.version_info[1]))


def _pip(*args: str, what: str) -> str:
    cmd = [sys.executable, '-m', 'pip', '--disable-pip-version-check',
           *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise MistralExtraUnavailable('%s failed: %s' % (what, e)) from e
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).splitlines()
        raise MistralExtraUnavailable('%s failed (exit %d): %s\n%s' % (
            what, proc.returncode, ' '.join(cmd), '\n'.join(out[-60:])))
    return proc.stdout


def missing_requirements() -> list[str]:
    """``name==version`` of every package pip would add to this
    interpreter's environment to install mistral-extra."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, 'report.json')
        _pip('install', '--dry-run', '--quiet', '--report', report,
             'mistral-extra==%s' % VERSION,
             what='resolving mistral-extra==%s' % VERSION)
        with open(report) as f:
            found = json.load(f)
    return ['%s==%s' % (item['metadata']['name'], item['metadata']['version'])
            for item in found.get('install', [])]


def ensure_site() -> str:
    """The directory holding mistral-extra and what it adds; built on
    first use."""
    path = site_dir()
    stamp = os.path.join(path, _STAMP)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(stamp):
            return path
        shutil.rmtree(path, ignore_errors=True)
        started = time.monotonic()
        pins = missing_requirements()
        if not any(p.lower().startswith('mistral-extra==') for p in pins):
            raise MistralExtraUnavailable(
                'pip would not install mistral-extra==%s: %s'
                % (VERSION, pins))
        try:
            _pip('install', '--quiet', '--no-deps', '--target', path, *pins,
                 what='installing mistral-extra==%s into %s'
                 % (VERSION, path))
        except MistralExtraUnavailable:
            shutil.rmtree(path, ignore_errors=True)
            raise
        with open(stamp, 'w') as f:
            f.write('%s\nbuilt in %.0fs\n' % (
                '\n'.join(pins), time.monotonic() - started))
    return path
