"""The console under uWSGI (``mistral.wsgi:application``), as on the
API port: its page, files and session endpoint, and the page working in
the browser."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import requests

from mistral.tests.functional.console.browser import Browser
from mistral.tests.functional.harness import Deployment
from mistral.tests.functional.harness import wait_for
from mistral.tests.functional.test_uwsgi import UWSGI


@pytest.fixture
def server(tmp_path: Any) -> Iterator[UWSGI]:
    # The API alone is under uWSGI; the deployment provides its config.
    with Deployment(db='sqlite', transport='fake',
                    processes=[['engine']]) as dep:
        conf_dir = tmp_path / 'conf.d'
        conf_dir.mkdir()
        uwsgi = UWSGI(dep.conf_path, str(tmp_path / 'uwsgi.log'),
                      str(conf_dir))
        try:
            wait_for(uwsgi.ready, 60, 'uwsgi to answer GET /v2/',
                     logs=lambda: uwsgi.log()[-5000:])
            yield uwsgi
        finally:
            uwsgi.stop()


def test_console_under_uwsgi(server: UWSGI, browser: Browser) -> None:
    base = server.url[:-len('/v2')]
    page = requests.get(base + '/ui/workflows', timeout=30)
    assert page.status_code == 200, page.text
    assert '<base href="/ui/">' in page.text
    assert "default-src 'self'" in page.headers['Content-Security-Policy']
    js = requests.get(base + '/ui/static/js/main.js', timeout=30)
    assert js.status_code == 200
    assert js.headers['Content-Type'].startswith('text/javascript')
    session = requests.get(base + '/ui/api/session', timeout=30).json()
    assert session['permissions']['workflows:create'] is True
    browser.get(base + '/ui/workflows')
    assert 'No workflows yet' in browser.wait_css('.empty').text
