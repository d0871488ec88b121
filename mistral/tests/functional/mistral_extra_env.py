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

import json
import os
import sys
import tempfile

from mistral.tests.functional import cached_install
from mistral.tests.functional import harness

VERSION = '17.0.0'
INSTALL_TIMEOUT = 1800


class MistralExtraUnavailable(harness.DeploymentError):
    """mistral-extra could not be installed."""


def site_dir() -> str:
    return cached_install.cache_dir('mistral-extra-%s' % VERSION,
                                    'MISTRAL_TEST_MISTRAL_EXTRA_SITE')


def _pip(*args: str, what: str) -> str:
    return cached_install.run(
        [sys.executable, '-m', 'pip', '--disable-pip-version-check', *args],
        what, INSTALL_TIMEOUT, MistralExtraUnavailable)


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
    def build(path: str) -> str:
        pins = missing_requirements()
        if not any(p.lower().startswith('mistral-extra==') for p in pins):
            raise MistralExtraUnavailable(
                'pip would not install mistral-extra==%s: %s'
                % (VERSION, pins))
        _pip('install', '--quiet', '--no-deps', '--target', path, *pins,
             what='installing mistral-extra==%s into %s' % (VERSION, path))
        return '\n'.join(pins)

    return cached_install.ensure(site_dir(), build, MistralExtraUnavailable)
