"""Every error answer of the API is JSON with a ``faultstring``.

The controllers map their exceptions themselves (``mistral.api.errors``);
this middleware covers the answers pecan and webob build on their own,
as HTML or plain text: a path no controller serves (404), a method a
controller does not serve (405), a body pecan can not decode (400). It
also refuses request bodies that are not UTF-8 before any handler
reads them, so that no handler meets a decoding error half-way.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import webob

_BODY_METHODS = ('POST', 'PUT', 'PATCH')


def _text_like(content_type: str) -> bool:
    ctype = (content_type or '').lower()
    return not ctype or ctype.startswith('text/') or 'json' in ctype or \
        'yaml' in ctype


def _message(req: webob.Request, resp: webob.Response) -> str:
    status = resp.status_int
    where = '%s %s' % (req.method, req.path)
    if status == 404:
        return 'Resource not found: %s.' % where
    if status == 405:
        allowed = resp.headers.get('Allow')
        return 'Method not allowed: %s%s.' % (
            where, ' (allowed: %s)' % allowed if allowed else '')
    reason = resp.status.split(' ', 1)[-1] if ' ' in resp.status \
        else 'Error'
    return '%s: %s.' % (reason, where)


def _json(resp: webob.Response, body: dict[str, Any]) -> webob.Response:
    resp.body = json.dumps(body).encode('utf-8')
    resp.content_type = 'application/json'
    resp.charset = None
    return resp


class JsonFaults:
    """WSGI middleware around the pecan application."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        req = webob.Request(environ)
        if req.method in _BODY_METHODS and _text_like(req.content_type):
            try:
                req.body.decode('utf-8')
            except UnicodeDecodeError as e:
                resp = _json(webob.Response(status=400), {
                    'faultstring': 'The request body is not UTF-8 text '
                                   '(byte %d).' % e.start})
                return resp(environ, start_response)
        resp = req.get_response(self.app)
        if resp.status_int >= 400 and 'json' not in (
                resp.content_type or '').lower():
            message = _message(req, resp)
            resp = _json(resp, {'faultstring': message})
            resp.headers.setdefault('Server-Error-Message', message)
        return resp(environ, start_response)
