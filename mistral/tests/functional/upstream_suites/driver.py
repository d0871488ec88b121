"""Run one of upstream's gate suites inside its own virtualenv.

This file is executed by the Python of the suites' virtualenv (see
``venv.py``), never imported by Mistral: it may only use the standard
library and the suites' own packages. The test code is loaded from the
installed packages and run as it is; what this driver adjusts is only
what the suites read from their environment:

* ``tempest``: the Tempest plugin ``mistral_tempest_tests``. Its
  configuration comes from the ``tempest.conf`` the caller wrote
  (``TEMPEST_CONFIG_DIR``). With Keystone, nothing else is touched: Tempest
  creates its users and projects and finds the API in the catalog. Without
  (``--noauth``), the plugin's own switch ``WITHOUT_AUTH`` is used; that
  mode sends every request to a fixed ``http://localhost:8989``, so the
  URL its stub auth provider returns is replaced with ``--mistral-url``,
  and Tempest is told to allocate no credentials.
* ``client``: python-mistralclient's functional CLI tests. They read
  their credentials from ``clouds.yaml`` (``OS_CLIENT_CONFIG_FILE``) and
  call the ``mistral`` CLI with a hard-coded devstack URL, which is set
  to ``--mistral-url`` on each test class. ``--noauth`` sets the tests'
  own ``WITHOUT_AUTH`` switch.

Tests listed in the ``--exclude`` file (a JSON object: test id or id
prefix -> reason) are not run and are reported as skipped with that
reason. Every result is appended to the ``--results`` file as one JSON
object per line; stdout gets one line per test and, last,
``N passed, N failed, N skipped``. The exit code is 0 only when no test
failed.
"""

import argparse
import io
import json
import os
import re
import sys
import time
import traceback
import unittest

CLIENT_MODULES = ('mistralclient.tests.functional.cli.v2.test_cli_v2',
                  'mistralclient.tests.functional.cli.v2.'
                  'test_cli_multi_tenancy')

# Tempest appends "[id-<uuid>,<attributes>]" to its test ids.
_TAG = re.compile(r'\[[^\]]*\]$')


def plain_id(test_id):
    return _TAG.sub('', test_id)


# --- loading -------------------------------------------------------------


def _flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _flatten(item)
        else:
            yield item


def _tempest_tests(mistral_url, noauth):
    if noauth:
        os.environ['WITHOUT_AUTH'] = '1'
        # The stub provider builds its URL from this; ours replaces it.
        os.environ.setdefault('VERSION', 'v2')
    import mistral_tempest_tests
    from mistral_tempest_tests.services import base as services_base
    from mistral_tempest_tests.tests import base as tests_base

    if noauth:
        prefix = mistral_url.rstrip('/') + '/'
        stub_request = services_base.AuthProv.auth_request

        def to_our_server(self, method, url, *args, **kwargs):
            # The stub adds its fake token and aims at localhost:8989;
            # keep the token, aim at the server under test.
            _, headers, body = stub_request(self, method, url, *args,
                                            **kwargs)
            return prefix + url.lstrip('/'), headers, body

        services_base.AuthProv.auth_request = to_our_server
        # No Keystone: Tempest must not try to allocate users.
        tests_base.TestCase.credentials = []

    package_dir = os.path.dirname(os.path.abspath(
        mistral_tempest_tests.__file__))
    suite = unittest.TestLoader().discover(
        os.path.join(package_dir, 'tests'), pattern='test_*.py',
        top_level_dir=os.path.dirname(package_dir))
    return list(_flatten(suite))


def _client_tests(mistral_url, noauth):
    if noauth:
        os.environ['WITHOUT_AUTH'] = '1'
    import importlib

    loader = unittest.TestLoader()
    tests = []
    for name in CLIENT_MODULES:
        tests += _flatten(loader.loadTestsFromModule(
            importlib.import_module(name)))
    for cls in {type(t) for t in tests}:
        if hasattr(cls, '_mistral_url'):
            cls._mistral_url = mistral_url
    return tests


LOADERS = {'tempest': _tempest_tests, 'client': _client_tests}


def _load_errors(tests):
    """unittest turns a module that cannot be imported into a test that
    fails with the import error; report those as errors, not tests."""
    return [t for t in tests
            if type(t).__module__ == 'unittest.loader'
            and type(t).__name__ == '_FailedTest']


# --- results -------------------------------------------------------------


class Recorder(unittest.TestResult):
    """Writes each outcome as it happens: a line and a JSON record."""

    def __init__(self, out, results):
        super().__init__()
        self.out = out
        self.results = results
        self.counts = {'pass': 0, 'fail': 0, 'skip': 0}
        self._started = {}

    def emit(self, test_id, status, reason='', details='', duration=0.0):
        key = 'fail' if status in ('fail', 'error', 'upass') else status
        self.counts[key] += 1
        self.results.write(json.dumps({
            'id': plain_id(test_id), 'full_id': test_id, 'status': status,
            'duration': round(duration, 3), 'reason': reason,
            'details': details}) + '\n')
        self.results.flush()
        line = '%-5s %s (%.1fs)' % (status.upper(), plain_id(test_id),
                                    duration)
        if reason:
            line += ' -- ' + reason
        self.out.write(line + '\n')
        self.out.flush()

    def _elapsed(self, test):
        return time.monotonic() - self._started.get(test.id(),
                                                    time.monotonic())

    def startTest(self, test):
        self._started[test.id()] = time.monotonic()
        super().startTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.emit(test.id(), 'pass', duration=self._elapsed(test))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.emit(test.id(), 'fail', details=self._exc_info_to_string(
            err, test), duration=self._elapsed(test))

    def addError(self, test, err):
        super().addError(test, err)
        self.emit(test.id(), 'error', details=self._exc_info_to_string(
            err, test), duration=self._elapsed(test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.emit(test.id(), 'skip', reason=str(reason),
                  duration=self._elapsed(test))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.emit(test.id(), 'pass', reason='expected failure',
                  duration=self._elapsed(test))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.emit(test.id(), 'upass', details='passed although marked as '
                  'an expected failure', duration=self._elapsed(test))


def _excluded(test_id, exclusions):
    tid = plain_id(test_id)
    for key, reason in exclusions.items():
        if tid == key or tid.startswith(key + '.'):
            return reason
    return None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--suite', choices=sorted(LOADERS), required=True)
    p.add_argument('--mistral-url', default='')
    p.add_argument('--noauth', action='store_true')
    p.add_argument('--results', help='JSON lines file to append to')
    p.add_argument('--exclude', help='JSON file: test id -> reason')
    p.add_argument('--list', action='store_true',
                   help='print the test ids and run nothing')
    p.add_argument('--scope', action='append', default=[],
                   help='a regex: tests whose id matches none of the '
                   '--scope regexes are left out, and not reported')
    p.add_argument('only', nargs='*',
                   help='run only the tests whose id matches a regex')
    args = p.parse_args(argv)

    tests = LOADERS[args.suite](args.mistral_url, args.noauth)
    broken = _load_errors(tests)
    tests = [t for t in tests if t not in broken]
    if args.list:
        for tid in sorted(plain_id(t.id()) for t in tests):
            print(tid)
        for t in broken:
            print('cannot load %s' % t.id(), file=sys.stderr)
        return 1 if broken else 0

    for selection in (args.scope, args.only):
        if selection:
            patterns = [re.compile(r) for r in selection]
            tests = [t for t in tests
                     if any(r.search(plain_id(t.id())) for r in patterns)]
    exclusions = {}
    if args.exclude:
        with open(args.exclude) as f:
            exclusions = json.load(f)

    tests.sort(key=lambda t: t.id())
    out = sys.stdout
    with open(args.results or os.devnull, 'a') as results:
        rec = Recorder(out, results)
        out.write('%s suite: %d tests against %s (%s)\n' % (
            args.suite, len(tests), args.mistral_url or 'the catalog',
            'no auth' if args.noauth else 'Keystone'))
        out.flush()
        for t in broken:
            # Run it: its "test" raises the import error.
            t.run(rec)
        to_run = []
        for t in tests:
            reason = _excluded(t.id(), exclusions)
            if reason is None:
                to_run.append(t)
            else:
                rec.emit(t.id(), 'skip', reason='excluded: ' + reason)
        try:
            unittest.TestSuite(to_run).run(rec)
        except Exception:
            buf = io.StringIO()
            traceback.print_exc(file=buf)
            rec.emit('driver', 'error', details=buf.getvalue())
    c = rec.counts
    out.write('%d passed, %d failed, %d skipped\n' % (
        c['pass'], c['fail'], c['skip']))
    out.flush()
    return 1 if c['fail'] else 0


if __name__ == '__main__':
    sys.exit(main())
