"""Fixtures of the console tests: a headless Chromium and a directory of
screenshots (``$MISTRAL_TEST_ARTIFACTS/console``, default
``<tmp>/mistral-test-artifacts/console``), named in a warning at the end
of the run so that CI logs say where they are."""

from __future__ import annotations

import os
import re
import tempfile
import time
import warnings
from typing import Any, Callable, Iterator

import pytest

from mistral.tests.functional.console.browser import Browser


def artifacts_dir() -> str:
    root = os.environ.get('MISTRAL_TEST_ARTIFACTS') or os.path.join(
        tempfile.gettempdir(), 'mistral-test-artifacts')
    path = os.path.join(root, 'console')
    os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture(scope='session')
def artifacts() -> str:
    path = artifacts_dir()
    print('console screenshots: %s' % path)
    warnings.warn('console screenshots are in %s' % path, UserWarning,
                  stacklevel=1)
    return path


@pytest.fixture(scope='module')
def browser() -> Iterator[Browser]:
    b = Browser(1280, 800)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def shot(browser: Browser, artifacts: str) -> Callable[..., str]:
    """``shot('name')`` saves a screenshot of the page as it is now."""

    def take(name: str, width: int | None = None,
             height: int | None = None) -> str:
        safe = re.sub(r'[^A-Za-z0-9_.-]+', '-', name)
        path = os.path.join(artifacts, safe + '.png')
        if width:
            # A phone-sized viewport (the window itself cannot be made
            # narrower than Chromium's minimum).
            browser.driver.execute_cdp_cmd(
                'Emulation.setDeviceMetricsOverride', {
                    'width': width, 'height': height or 800,
                    'deviceScaleFactor': 1, 'mobile': True})
            try:
                time.sleep(0.5)  # media queries and transitions settle
                browser.screenshot(path)
            finally:
                browser.driver.execute_cdp_cmd(
                    'Emulation.clearDeviceMetricsOverride', {})
                time.sleep(0.5)
        else:
            browser.screenshot(path)
        return path

    return take


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any
                              ) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == 'call':
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def _no_page_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test fails when the page logged an uncaught error; a failed test
    leaves a screenshot of where the browser was (``FAILED-<test>``)."""
    yield
    if 'browser' not in request.fixturenames:
        return
    b: Any = request.getfixturevalue('browser')
    if request.node.stash.get(_FAILED, False):
        name = re.sub(r'[^A-Za-z0-9_.-]+', '-', request.node.name)
        path = os.path.join(artifacts_dir(), 'FAILED-%s.png' % name)
        b.screenshot(path)
        print('screenshot of the failure: %s (%s)' % (
            path, b.driver.current_url))
        print('page text: %s' % b.css('body').text[:2000])
    errors = [e for e in b.console_errors()
              # Refused requests are what some tests provoke.
              if 'Failed to load resource' not in e]
    assert not errors, 'the page logged errors: %s' % errors
