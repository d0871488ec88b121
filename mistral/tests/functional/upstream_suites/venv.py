"""The virtualenv that holds upstream's gate suites, built once per machine.

The suites (Tempest with the Mistral plugin, python-mistralclient and its
functional tests) pin libraries that need not agree with ours, so they get
a virtualenv of their own, outside the repository::

    $XDG_CACHE_HOME/mistral-tests/upstream-suites-<key>     (~/.cache)

``<key>`` is a hash of :data:`PINS`, ``constraints.txt`` (the exact version
of every other package) and the Python version: changing a pin builds a new
venv, and the old ones are removed once nobody uses them. A lock file makes
parallel test processes build it once. The client's YAML resources are not
in its wheel; they are unpacked from its sdist into ``client-resources``
of the same directory.

Building takes a minute or two (``pip install`` from the package index).
A build that fails raises :class:`SuitesUnavailable` with pip's output and
leaves nothing behind: the gate tests fail, they never skip.
``MISTRAL_TEST_SUITES_VENV`` names another directory to use instead.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import time
from typing import Any

from mistral.tests.functional import cached_install
from mistral.tests.functional import harness

# The suites, and the ``openstack`` CLI that the client's multi-tenancy
# tests call to look up project ids (a devstack has it).
PINS = ('tempest==47.0.0', 'mistral-tempest-tests==2.10.0',
        'python-mistralclient==6.3.0', 'python-openstackclient==10.5.0')
CLIENT_DIST, CLIENT_VERSION = 'python-mistralclient', '6.3.0'

HERE = os.path.dirname(os.path.abspath(__file__))
CONSTRAINTS = os.path.join(HERE, 'constraints.txt')
INSTALL_TIMEOUT = 1800
_STAMP = '.mistral-suites-complete'
_PREFIX = 'upstream-suites-'
# Lock files held (shared) by this process, by venv path.
_HELD: dict[str, Any] = {}


class SuitesUnavailable(harness.DeploymentError):
    """The suites' virtualenv could not be built."""


class SuitesVenv:
    """A built virtualenv: its interpreter, scripts and client resources."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.bin = os.path.join(path, 'bin')
        self.python = os.path.join(self.bin, 'python')
        # Holds functionaltests/resources/v2/*.yaml of the client's sdist.
        self.client_resources = os.path.join(path, 'client-resources')

    def __repr__(self) -> str:
        return '<SuitesVenv %s>' % self.path


def cache_key() -> str:
    h = hashlib.sha256()
    h.update('\n'.join(PINS).encode())
    with open(CONSTRAINTS, 'rb') as f:
        h.update(f.read())
    h.update(('py%d.%d' % sys.version_info[:2]).encode())
    return h.hexdigest()[:12]


def cache_root() -> str:
    return cached_install.cache_root()


def venv_dir() -> str:
    return os.environ.get('MISTRAL_TEST_SUITES_VENV') or os.path.join(
        cache_root(), _PREFIX + cache_key())


def _run(cmd: list[str], what: str, timeout: float,
         cwd: str | None = None) -> None:
    cached_install.run(cmd, what, timeout, SuitesUnavailable, cwd=cwd)


def _unpack_client_resources(venv: SuitesVenv) -> None:
    """Take ``functionaltests/`` out of the client's sdist."""
    with tempfile.TemporaryDirectory(prefix='mistral-suites-sdist-') as tmp:
        _run([venv.python, '-m', 'pip', 'download', '--quiet', '--no-deps',
              '--no-binary', ':all:', '--dest', tmp,
              '%s==%s' % (CLIENT_DIST, CLIENT_VERSION)],
             'downloading the %s %s sdist (its functional tests read YAML '
             'files that only the sdist has)' % (CLIENT_DIST,
                                                 CLIENT_VERSION),
             INSTALL_TIMEOUT)
        archives = glob.glob(os.path.join(tmp, '*.tar.gz'))
        if len(archives) != 1:
            raise SuitesUnavailable('expected one sdist in %s, found %s' % (
                tmp, os.listdir(tmp)))
        with tarfile.open(archives[0]) as tar:
            members = [m for m in tar.getmembers()
                       if '/functionaltests/' in m.name + '/']
            tar.extractall(tmp, members=members, filter='data')
        found = glob.glob(os.path.join(tmp, '*', 'functionaltests'))
        if not found or not os.path.isdir(
                os.path.join(found[0], 'resources', 'v2')):
            raise SuitesUnavailable('the %s sdist has no '
                                    'functionaltests/resources/v2'
                                    % CLIENT_DIST)
        os.makedirs(venv.client_resources)
        shutil.move(found[0], os.path.join(venv.client_resources,
                                           'functionaltests'))


def _build(path: str) -> None:
    venv = SuitesVenv(path)
    base = getattr(sys, '_base_executable', sys.executable)
    started = time.monotonic()
    _run([base, '-m', 'venv', path], 'creating the suites virtualenv', 300)
    _run([venv.python, '-m', 'pip', 'install', '--quiet',
          '--constraint', CONSTRAINTS] + list(PINS),
         'installing %s into %s (the gate tests need upstream\'s suites '
         'from the package index)' % (' '.join(PINS), path),
         INSTALL_TIMEOUT)
    _unpack_client_resources(venv)
    with open(os.path.join(path, _STAMP), 'w') as f:
        f.write('%s\nbuilt in %.0fs\n' % (' '.join(PINS),
                                          time.monotonic() - started))


def _prune_others(keep: str) -> None:
    """Remove venvs of other keys that no process holds (old pins)."""
    for lock_path in glob.glob(os.path.join(cache_root(),
                                            _PREFIX + '*.lock')):
        path = lock_path[:-len('.lock')]
        if path == keep:
            continue
        with open(lock_path, 'a') as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # being built or used right now
            shutil.rmtree(path, ignore_errors=True)
            os.unlink(lock_path)


def _built(path: str) -> bool:
    # The venv's python links to the base interpreter: if that is gone,
    # so is the venv.
    return (os.path.exists(os.path.join(path, _STAMP))
            and os.path.exists(os.path.join(path, 'bin', 'python')))


def ensure_venv() -> SuitesVenv:
    """The suites' virtualenv, built on first use, in any process.

    Users hold a shared lock on it until they exit; building takes the
    lock exclusively (parallel test processes wait for one build) and
    pruning only removes venvs whose lock nobody holds.
    """
    path = venv_dir()
    if path in _HELD:
        return SuitesVenv(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lock = open(path + '.lock', 'a')
    try:
        fcntl.flock(lock, fcntl.LOCK_SH)
        if not _built(path):
            fcntl.flock(lock, fcntl.LOCK_UN)
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _built(path):  # nobody built it while we waited
                # A half-built venv (an interrupted run) starts afresh.
                shutil.rmtree(path, ignore_errors=True)
                try:
                    _build(path)
                except BaseException:
                    shutil.rmtree(path, ignore_errors=True)
                    raise
            fcntl.flock(lock, fcntl.LOCK_SH)
    except BaseException:
        lock.close()
        raise
    _HELD[path] = lock
    if not os.environ.get('MISTRAL_TEST_SUITES_VENV'):
        _prune_others(path)
    return SuitesVenv(path)
