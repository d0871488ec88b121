"""Headless Chromium for the console tests (Selenium + chromedriver).

Debian's ``chromium`` and ``chromium-driver`` packages (``/usr/bin/chromium``
and ``/usr/bin/chromedriver``, installed by ``.ci/run``); no browser is
downloaded. The flags keep Chromium off the network (this machine has none
but the loopback) and in a fresh profile.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any, Callable

CHROMIUM = os.environ.get('MISTRAL_TEST_CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('MISTRAL_TEST_CHROMEDRIVER',
                              '/usr/bin/chromedriver')
FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage', '--hide-scrollbars',
         '--force-color-profile=srgb', '--font-render-hinting=none')


class BrowserUnavailable(RuntimeError):
    pass


def check_installed() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER)
               if not os.access(p, os.X_OK)]
    if missing:
        raise BrowserUnavailable(
            'The console tests need Debian\'s chromium and chromium-driver '
            '(missing: %s). Install them with: apt-get install chromium '
            'chromium-driver (.ci/run does)' % ', '.join(missing))


class Browser:
    """A Chrome session; ``close()`` ends it and removes its profile."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        check_installed()
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix='mistral-chromium-')
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument('--user-data-dir=%s' % self.profile)
        options.add_argument('--window-size=%d,%d' % (width, height))
        options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
        service = Service(executable_path=CHROMEDRIVER)
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except Exception:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(60)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- helpers

    def get(self, url: str) -> None:
        self.driver.get(url)

    def css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def wait(self, predicate: Callable[[], Any], timeout: float = 30.0,
             what: str = 'the page') -> Any:
        """Poll ``predicate`` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                value = predicate()
                if value:
                    return value
            except Exception as e:  # element not there yet, stale, ...
                last_error = e
            if time.monotonic() > deadline:
                raise AssertionError('timed out after %.0fs waiting for %s%s'
                                     % (timeout, what, ' (last error: %s)'
                                        % last_error if last_error else ''))
            time.sleep(0.1)

    def wait_css(self, selector: str, timeout: float = 30.0) -> Any:
        return self.wait(lambda: self.css(selector), timeout,
                         'an element %s' % selector)

    def text(self, selector: str) -> str:
        return self.css(selector).text

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def js_async(self, script: str, *args: Any) -> Any:
        return self.driver.execute_async_script(script, *args)

    def click(self, selector: str, timeout: float = 30.0) -> Any:
        """Click the element once it is displayed and enabled."""
        def ready() -> Any:
            el = self.css(selector)
            return el if el.is_displayed() and el.is_enabled() else None

        el = self.wait(ready, timeout, 'a clickable %s' % selector)
        el.click()
        return el

    def button(self, text: str, timeout: float = 30.0,
               within: str = '') -> Any:
        """The displayed, enabled button whose text contains ``text``."""
        from selenium.webdriver.common.by import By

        xpath = '%s//button[contains(normalize-space(.), "%s")]' % (
            within, text)

        def ready() -> Any:
            for el in self.driver.find_elements(By.XPATH, xpath):
                if el.is_displayed() and el.is_enabled():
                    return el
            return None

        return self.wait(ready, timeout, 'a button "%s"' % text)

    def buttons(self, text: str) -> list[Any]:
        """Displayed buttons (or links styled as buttons) with ``text``."""
        from selenium.webdriver.common.by import By

        xpath = ('//*[self::button or contains(@class, "btn")]'
                 '[contains(normalize-space(.), "%s")]' % text)
        return [el for el in self.driver.find_elements(By.XPATH, xpath)
                if el.is_displayed()]

    def fill(self, selector: str, value: str) -> None:
        """Set a field's value as typing would (an ``input`` event)."""
        el = self.wait_css(selector)
        self.js('arguments[0].value = arguments[1];'
                'arguments[0].dispatchEvent(new Event("input", '
                '{bubbles: true}));'
                'arguments[0].dispatchEvent(new Event("change", '
                '{bubbles: true}));', el, value)

    def wait_text(self, selector: str, text: str,
                  timeout: float = 30.0) -> str:
        return self.wait(lambda: text in self.css(selector).text and
                         self.css(selector).text, timeout,
                         '"%s" in %s' % (text, selector))

    def node_class(self, task: str) -> str:
        """The class of a task's node in the graph."""
        return self.js('const id = CSS.escape(arguments[0]);'
                       'const el = document.querySelector('
                       '`svg.graph g.node[data-id="${id}"]`);'
                       'return el ? el.getAttribute("class") : null;', task)

    def screenshot(self, path: str) -> str:
        self.driver.save_screenshot(path)
        return path

    def console_errors(self) -> list[str]:
        """Errors the page logged (uncaught exceptions, failed loads)."""
        return [entry['message'] for entry in self.driver.get_log('browser')
                if entry.get('level') == 'SEVERE']
