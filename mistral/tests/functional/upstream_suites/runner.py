"""Run one of upstream's gate suites against a live Mistral API.

:func:`run_suite` writes the suite's configuration into a scratch
directory (``tempest.conf``, ``clouds.yaml``, the exclusions), starts
``driver.py`` with the suites' virtualenv and reads back one
:class:`TestResult` per test::

    run = run_suite('tempest', 'http://127.0.0.1:8990/v2')
    print(run.summary())            # 105 passed, 0 failed, 24 skipped
    for r in run.failures():
        print(r.id, r.details)

Without a :class:`~.cloud.GateCloud` the suites use their no-auth modes
against ``mistral_url``; with one, they log in to its Keystone.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any, Iterable, Mapping, TextIO

from mistral.tests.functional import harness
from mistral.tests.functional.upstream_suites import venv as suites_venv
from mistral.tests.functional.upstream_suites.cloud import GateCloud
from mistral.tests.functional.upstream_suites.cloud import noauth_clouds_yaml

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'driver.py')
SUITES = ('tempest', 'client')
RUN_TIMEOUT = 1500
FAILED = ('fail', 'error', 'upass')


@dataclass
class TestResult:
    id: str
    status: str  # pass, fail, error, upass or skip
    duration: float = 0.0
    reason: str = ''
    details: str = ''

    @property
    def failed(self) -> bool:
        return self.status in FAILED


@dataclass
class SuiteRun:
    suite: str
    mistral_url: str
    results: list[TestResult] = field(default_factory=list)
    output: str = ''
    returncode: int | None = None
    seconds: float = 0.0

    def by_id(self) -> dict[str, TestResult]:
        return {r.id: r for r in self.results}

    def with_status(self, *statuses: str) -> list[TestResult]:
        return [r for r in self.results if r.status in statuses]

    def passed(self) -> list[TestResult]:
        return self.with_status('pass')

    def failures(self) -> list[TestResult]:
        return self.with_status(*FAILED)

    def skipped(self) -> list[TestResult]:
        return self.with_status('skip')

    def summary(self) -> str:
        return '%d passed, %d failed, %d skipped' % (
            len(self.passed()), len(self.failures()), len(self.skipped()))


def _ini(sections: Mapping[str, Mapping[str, Any]], path: str) -> None:
    conf = configparser.ConfigParser(interpolation=None)
    for name, opts in sections.items():
        conf[name] = {k: str(v) for k, v in opts.items()}
    with open(path, 'w') as f:
        conf.write(f)


def _tempest_conf(work: str, cloud: GateCloud | None) -> dict[str, dict]:
    conf: dict[str, dict[str, Any]] = {
        # debug: every request and response, headers and body, goes into
        # the details of a failing test.
        'DEFAULT': {'debug': True, 'use_stderr': False,
                    'log_file': os.path.join(work, 'tempest.log')},
        'oslo_concurrency': {'lock_path': os.path.join(work, 'locks')},
        # Nothing but Keystone and Mistral runs here.
        'service_available': {'mistral': True, 'nova': False,
                              'glance': False, 'cinder': False,
                              'neutron': False, 'swift': False},
    }
    if cloud is None:
        conf['auth'] = {'use_dynamic_credentials': False}
    else:
        conf.update(cloud.tempest_conf())
    return conf


def _environment(venv: suites_venv.SuitesVenv, work: str) -> dict[str, str]:
    """What the driver sees: the suites' venv first on PATH, nothing of
    ours (no OS_* credentials, no virtualenv, no MISTRAL_*)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('OS_', 'PYTHON', 'VIRTUAL_ENV',
                                'MISTRAL_', 'TEMPEST_'))}
    env.update({
        'PATH': venv.bin + os.pathsep + env.get('PATH', '/usr/bin:/bin'),
        'TEMPEST_CONFIG_DIR': work,
        'TEMPEST_CONFIG': 'tempest.conf',
        'OS_CLIENT_CONFIG_FILE': os.path.join(work, 'clouds.yaml'),
        # Where the client tests find `mistral` when they log in.
        'OS_MISTRALCLIENT_EXEC_DIR': venv.bin,
        'OS_LOG_CAPTURE': '1',
        'PYTHONWARNINGS': 'ignore',
        'PYTHONUNBUFFERED': '1',
        'HOME': work,
    })
    return env


def _read_results(path: str) -> list[TestResult]:
    results = []
    try:
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                results.append(TestResult(
                    rec['id'], rec['status'], rec.get('duration', 0.0),
                    rec.get('reason', ''), rec.get('details', '')))
    except FileNotFoundError:
        pass
    return results


def run_suite(suite: str, mistral_url: str, *,
              cloud: GateCloud | None = None,
              exclusions: Mapping[str, str] | None = None,
              scope: Iterable[str] = (), only: Iterable[str] = (),
              echo: TextIO | None = None,
              timeout: float = RUN_TIMEOUT,
              keep_workdir: bool = False) -> SuiteRun:
    """Run ``suite`` (``tempest`` or ``client``) against ``mistral_url``.

    ``exclusions`` maps test ids (or id prefixes) to the reason they are
    not run. ``scope`` and ``only`` are regexes of test ids: a test runs
    when it matches one of ``scope`` (if any) and one of ``only`` (if
    any). Each line the suite prints is also written to ``echo``.
    """
    if suite not in SUITES:
        raise ValueError('suite must be one of %s' % (SUITES,))
    venv = suites_venv.ensure_venv()
    work = tempfile.mkdtemp(prefix='mistral-%s-suite-' % suite)
    try:
        return _run(suite, mistral_url, venv, work, cloud,
                    dict(exclusions or {}), list(scope), list(only), echo,
                    timeout)
    finally:
        if not (keep_workdir or os.environ.get('MISTRAL_TEST_KEEP')):
            shutil.rmtree(work, ignore_errors=True)


def _run(suite: str, mistral_url: str, venv: suites_venv.SuitesVenv,
         work: str, cloud: GateCloud | None, exclusions: dict[str, str],
         scope: list[str], only: list[str], echo: TextIO | None,
         timeout: float) -> SuiteRun:
    os.makedirs(os.path.join(work, 'locks'))
    _ini(_tempest_conf(work, cloud), os.path.join(work, 'tempest.conf'))
    with open(os.path.join(work, 'clouds.yaml'), 'w') as f:
        f.write(cloud.clouds_yaml() if cloud else noauth_clouds_yaml())
    # The client's tests open functionaltests/... relative to the cwd.
    os.symlink(os.path.join(venv.client_resources, 'functionaltests'),
               os.path.join(work, 'functionaltests'))
    excl_path = os.path.join(work, 'exclusions.json')
    with open(excl_path, 'w') as f:
        json.dump(exclusions, f)
    results_path = os.path.join(work, 'results.jsonl')

    cmd = [venv.python, DRIVER, '--suite', suite,
           '--mistral-url', mistral_url, '--results', results_path,
           '--exclude', excl_path] + (['--noauth'] if cloud is None else [])
    for regex in scope:
        cmd += ['--scope', regex]
    cmd += ['--'] + only if only else []
    run = SuiteRun(suite, mistral_url)
    started = time.monotonic()
    lines: list[str] = []
    proc = subprocess.Popen(cmd, cwd=work, env=_environment(venv, work),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True,
                            errors='replace', start_new_session=True)
    # If this process dies, the watchdog ends the suite's process group.
    watchdog = harness.Watchdog()
    watchdog.watch('pgid', proc.pid)

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if echo is not None:
                echo.write(line)
                echo.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        lines.append('*** the %s suite ran longer than %.0fs: killed\n'
                     % (suite, timeout))
    finally:
        if proc.poll() is None:  # timed out, or we are interrupted
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(60)
        watchdog.done()
    run.returncode = proc.returncode
    run.seconds = time.monotonic() - started
    run.output = ''.join(lines)
    run.results = _read_results(results_path)
    return run
