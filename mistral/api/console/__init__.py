"""The web console, served by the API process at ``/ui/``.

Two WSGI layers, both added by :func:`mistral.api.app.setup_app`:

:func:`mount_public` (outermost, no authentication)
    ``/ui/static/*`` (the console's files), ``POST /ui/api/login`` (the
    Keystone login form, see :mod:`keystone_login`) and every other
    ``/ui/...`` path, which answers the console's page so that deep links
    such as ``/ui/executions/<id>`` can be pasted anywhere.
:func:`mount_private` (inside authentication, next to the API)
    ``GET /ui/api/session`` (who the caller is, what the policy allows)
    and ``GET /ui/api/tasks/<id>/runs``: requests that carry the caller's
    token and are checked like any ``/v2`` request.

Everything else the console shows comes from the public v2 API, called
by the browser on the same origin with the same token.
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
from typing import Any, Callable, Iterable

from mistral import config
from mistral.api.console import assets

LOG = logging.getLogger(__name__)
# [console] is registered by mistral.config.
CONF = config.CONF

PREFIX = '/ui'
API_PREFIX = PREFIX + '/api/'
STATIC_PREFIX = PREFIX + '/static/'

# The console loads scripts, styles and data from its own origin only.
SECURITY_HEADERS = [
    ('Content-Security-Policy',
     "default-src 'self'; img-src 'self' data: blob:; "
     "object-src 'none'; base-uri 'self'; form-action 'self'; "
     "frame-ancestors 'none'"),
    ('X-Content-Type-Options', 'nosniff'),
    ('Referrer-Policy', 'same-origin'),
    ('X-Frame-Options', 'DENY'),
]

_TASK_RUNS = re.compile(r'^tasks/([^/]+)/runs/?$')

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]


def _json(start_response: StartResponse, status: int, body: Any,
          extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    from http import HTTPStatus

    data = json.dumps(body).encode('utf-8')
    start_response('%d %s' % (status, HTTPStatus(status).phrase), [
        ('Content-Type', 'application/json'),
        ('Content-Length', str(len(data))),
        ('Cache-Control', 'no-store'),
    ] + (extra or []))
    return [data]


def _fault(start_response: StartResponse, status: int,
           message: str) -> list[bytes]:
    return _json(start_response, status, {'faultstring': message})


def auth_mode() -> str:
    """``none``, ``keystone`` or ``keycloak-oidc``: how the console logs
    in."""
    if not CONF.pecan.auth_enable:
        return 'none'
    return 'keycloak-oidc' if CONF.auth_type == 'keycloak-oidc' \
        else 'keystone'


class PublicConsole:
    """The console's page and files, in front of everything else."""

    def __init__(self, app: WSGIApp, store: assets.AssetStore | None = None
                 ) -> None:
        self.app = app
        self.store = store or assets.AssetStore()
        self._pages: dict[tuple[str, str, str], bytes] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get('PATH_INFO') or '/'
        if path != PREFIX and not path.startswith(PREFIX + '/'):
            return self.app(environ, start_response)
        method = environ.get('REQUEST_METHOD', 'GET')
        if path == PREFIX:
            base = environ.get('SCRIPT_NAME', '') + PREFIX + '/'
            start_response('301 Moved Permanently', [
                ('Location', base), ('Content-Length', '0')])
            return [b'']
        if path.startswith(API_PREFIX):
            if path == API_PREFIX + 'login':
                return self._login(environ, start_response)
            # The rest of /ui/api/ needs the caller's identity: through
            # authentication, to mount_private.
            return self.app(environ, start_response)
        if method not in ('GET', 'HEAD'):
            return _fault(start_response, 405,
                          'The console pages only answer GET and HEAD.')
        if path.startswith(STATIC_PREFIX):
            return self._static(environ, start_response,
                                path[len(STATIC_PREFIX):])
        return self._page(environ, start_response)

    # -- files

    def _send(self, environ: dict, start_response: StartResponse,
              asset: assets.Asset, extra: list[tuple[str, str]]
              ) -> Iterable[bytes]:
        headers = [('ETag', asset.etag), ('Cache-Control', 'no-cache'),
                   ('Vary', 'Accept-Encoding')] + extra
        if asset.etag in (environ.get('HTTP_IF_NONE_MATCH') or ''):
            start_response('304 Not Modified', headers)
            return [b'']
        headers.insert(0, ('Content-Type', asset.content_type))
        body = asset.body
        if asset.gzipped is not None and 'gzip' in (
                environ.get('HTTP_ACCEPT_ENCODING') or ''):
            body = asset.gzipped
            headers.append(('Content-Encoding', 'gzip'))
        headers.append(('Content-Length', str(len(body))))
        start_response('200 OK', headers)
        if environ.get('REQUEST_METHOD') == 'HEAD':
            return [b'']
        return [body]

    def _static(self, environ: dict, start_response: StartResponse,
                rel: str) -> Iterable[bytes]:
        asset = self.store.get(rel)
        if asset is None or rel == 'index.html':
            return _fault(start_response, 404,
                          'No console file %s.' % rel)
        return self._send(environ, start_response, asset,
                          [('X-Content-Type-Options', 'nosniff')])

    def _page(self, environ: dict, start_response: StartResponse
              ) -> Iterable[bytes]:
        script_name = environ.get('SCRIPT_NAME', '')
        mode = auth_mode()
        template = self.store.get('index.html')
        if template is None:
            return _fault(start_response, 500, 'The console files are '
                          'missing from the package (index.html).')
        key = (script_name, mode, template.etag)
        with self._lock:
            page = self._pages.get(key)
        if page is None:
            page = self._render(template, script_name, mode)
            with self._lock:
                self._pages[key] = page
        return self._send(environ, start_response,
                          assets.Asset(page, assets.content_type('x.html')),
                          SECURITY_HEADERS)

    def _render(self, template: assets.Asset, script_name: str,
                mode: str) -> bytes:
        from mistral import version

        values = {
            '__BASE__': script_name + PREFIX + '/',
            '__API__': script_name + '/v2',
            '__AUTH__': mode,
            '__VERSION__': version.version_string(),
        }
        text = template.body.decode('utf-8')
        for token, value in values.items():
            text = text.replace(token, html.escape(value, quote=True))
        return text.encode('utf-8')

    # -- login

    def _login(self, environ: dict, start_response: StartResponse
               ) -> Iterable[bytes]:
        from mistral.api.console import keystone_login

        if environ.get('REQUEST_METHOD') != 'POST':
            return _fault(start_response, 405, 'Log in with POST.')
        if auth_mode() != 'keystone':
            return _fault(start_response, 404,
                          'Password login is only offered with Keystone '
                          'authentication.')
        try:
            length = int(environ.get('CONTENT_LENGTH') or 0)
        except ValueError:
            length = 0
        if length <= 0 or length > 65536:
            return _fault(start_response, 400,
                          'The login request must be a JSON object.')
        try:
            body = json.loads(environ['wsgi.input'].read(length))
        except ValueError:
            return _fault(start_response, 400,
                          'The login request is not valid JSON.')
        try:
            answer = keystone_login.login(body)
        except keystone_login.LoginError as e:
            return _fault(start_response, e.status, str(e))
        return _json(start_response, 200, answer)


class PrivateConsole:
    """``/ui/api/*`` behind authentication, beside the API."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get('PATH_INFO') or '/'
        if not path.startswith(API_PREFIX):
            return self.app(environ, start_response)
        import webob

        from mistral import exceptions as exc
        from mistral.api.console import session

        if environ.get('REQUEST_METHOD') not in ('GET', 'HEAD'):
            return _fault(start_response, 405,
                          'The console API only answers GET.')
        headers = webob.Request(environ).headers
        try:
            ctx = session.request_context(headers)
        except session.Unauthenticated as e:
            return _fault(start_response, 401, str(e))
        rest = path[len(API_PREFIX):]
        try:
            if rest.rstrip('/') == 'session':
                return _json(start_response, 200,
                             session.describe(ctx, headers))
            m = _TASK_RUNS.match(rest)
            if m:
                from mistral.api.console import runs

                return _json(start_response, 200,
                             runs.task_runs(ctx, m.group(1)))
        except exc.MistralError as e:
            return _fault(start_response, e.http_code, str(e))
        return _fault(start_response, 404, 'No console API %s.' % path)


def mount_public(app: WSGIApp) -> WSGIApp:
    """Serve the console's page and files in front of ``app``."""
    if not CONF.console.enabled:
        return app
    return PublicConsole(app)


def mount_private(app: WSGIApp) -> WSGIApp:
    """Serve the console's authenticated API beside ``app``."""
    if not CONF.console.enabled:
        return app
    return PrivateConsole(app)
