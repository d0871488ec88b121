"""Every error answer of the API has a ``faultstring``: JSON, or WSME's
XML for a client that asked for XML.

The controllers map their exceptions themselves (``mistral.api.errors``);
this middleware covers the answers pecan and webob build on their own,
as HTML or plain text: a path no controller serves (404), a method a
controller does not serve (405), a body pecan can not decode (400).

It also refuses, before any handler reads them, request bodies that are
not UTF-8 and paths and query strings that are not or that hold a NUL
character (PostgreSQL's driver refuses those), so that no handler meets
a decoding error half-way; and it enforces the request limits of
``[limits]``: bodies larger than ``max_request_body_kb`` (413) and JSON
nested deeper than ``max_nesting_depth``, also inside strings that hold
JSON (400).
"""

from __future__ import annotations

import json
from typing import Any, Callable
from urllib import parse

import pecan
import webob
from oslo_config import cfg
from pecan import hooks as pecan_hooks
from wsme import exc as wsme_exc
from wsme import types as wtypes
from wsme.rest import json as wsme_json

from mistral.api import pecan_speedups
from mistral.utils import hardened_yaml

CONF = cfg.CONF
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
    if status == 406:
        return 'Not Acceptable: %s cannot answer in a media type of the ' \
            'Accept header (%s).' % (where, req.headers.get('Accept', ''))
    reason = resp.status.split(' ', 1)[-1] if ' ' in resp.status \
        else 'Error'
    return '%s: %s.' % (reason, where)


def _pecan_json_fault(resp: webob.Response) -> dict[str, Any] | None:
    """pecan's own JSON error body (``code``, ``title``, ``description``,
    written for ``Accept: application/json``), which has no faultstring."""
    try:
        body = json.loads(resp.body)
    except ValueError:
        return None
    if isinstance(body, dict) and 'faultstring' not in body and \
            'code' in body and 'title' in body:
        return body
    return None


def header_value(message: str) -> str:
    """``message`` fit for an HTTP header: ASCII (non-ASCII characters
    escaped), one line, at most 500 characters."""
    text = message.encode('ascii', 'backslashreplace').decode('ascii')
    return ' '.join(text.split())[:500]


def _json(resp: webob.Response, body: dict[str, Any]) -> webob.Response:
    resp.body = json.dumps(body).encode('utf-8')
    resp.content_type = 'application/json'
    resp.charset = None
    return resp


def _json_depth_problem(text: str, max_depth: int) -> str | None:
    """Why a JSON body is nested too deeply, if it is."""
    if hardened_yaml.bracket_depth(text) <= max_depth:
        return None  # an upper bound: nothing to parse
    try:
        data = json.loads(text)
    except RecursionError:
        data = None
    except ValueError:
        return None  # not JSON: the handler says so
    if data is None or hardened_yaml.depth(data, max_depth) > max_depth:
        return 'The request body is nested deeper than the limit of ' \
            '%d levels ([limits] max_nesting_depth).' % max_depth
    # Strings that hold JSON (input, params, variables, ...) are decoded
    # by the handlers: measure them as well.
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and item[:1] in ('[', '{') and \
                hardened_yaml.bracket_depth(item) > max_depth:
            try:
                inner = json.loads(item)
            except RecursionError:
                inner = None
            except ValueError:
                continue
            if inner is None or \
                    hardened_yaml.depth(inner, max_depth) > max_depth:
                return 'A JSON value in the request body is nested ' \
                    'deeper than the limit of %d levels ([limits] ' \
                    'max_nesting_depth).' % max_depth
    return None


_NUL = 'NUL characters are not allowed in %s.'


def _check_url(environ: dict) -> tuple[int, str] | None:
    """The path and the query string must be UTF-8 without NUL."""
    # WSGI gives the path as latin-1 decoded bytes, already unquoted.
    raw_path = environ.get('PATH_INFO', '').encode('latin-1', 'replace')
    raw_query = parse.unquote_to_bytes(
        environ.get('QUERY_STRING', '').replace('+', ' '))
    for what, raw in (('path', raw_path), ('query string', raw_query)):
        try:
            text = raw.decode('utf-8')
        except UnicodeDecodeError as e:
            return 400, 'The request %s is not UTF-8 (byte %d).' % (
                what, e.start)
        if '\x00' in text:
            return 400, _NUL % ('the request ' + what)
    return None


def _check_body(req: webob.Request) -> tuple[int, str] | None:
    """(status, faultstring) when the request body breaks a limit."""
    max_kb = CONF.limits.max_request_body_kb
    length = req.content_length
    if length is not None and length > max_kb * 1024:
        return 413, 'The request body is larger than the limit of %d KiB ' \
            '([limits] max_request_body_kb).' % max_kb
    content_type = req.content_type
    if not _text_like(content_type):
        return None
    body = pecan_speedups.request_body(req)  # the first read keeps it
    if len(body) > max_kb * 1024:
        return 413, 'The request body is larger than the limit of %d KiB ' \
            '([limits] max_request_body_kb).' % max_kb
    try:
        text = body.decode('utf-8')
    except UnicodeDecodeError as e:
        return 400, 'The request body is not UTF-8 text (byte %d).' % \
            e.start
    if 'json' in (content_type or '').lower():
        message = _json_depth_problem(text, CONF.limits.max_nesting_depth)
        if message:
            return 400, message
    return None


class JsonFaults:
    """WSGI middleware around the pecan application."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        req = webob.Request(environ)
        problem = _check_url(environ)
        if problem is None and req.method in _BODY_METHODS:
            problem = _check_body(req)
        if problem is not None:
            status, message = problem
            resp = _json(webob.Response(status=status),
                         {'faultstring': message})
            return resp(environ, start_response)
        resp = req.get_response(self.app)
        ctype = (resp.content_type or '').lower()
        # WSME's XML faults (Accept: application/xml) carry a faultstring
        # element already, as upstream's: left as they are.
        if resp.status_int >= 400 and 'json' not in ctype and \
                'xml' not in ctype:
            message = _message(req, resp)
            resp = _json(resp, {'faultstring': message})
            resp.headers.setdefault('Server-Error-Message',
                                    header_value(message))
        elif resp.status_int >= 400 and 'json' in ctype:
            body = _pecan_json_fault(resp)
            if body is not None:
                # Upstream's keys stay; the faultstring says what failed.
                message = _message(req, resp)
                resp = _json(resp, dict(body, faultstring=message))
                resp.headers.setdefault('Server-Error-Message',
                                        header_value(message))
        return resp(environ, start_response)


class BodyTypesHook(pecan_hooks.PecanHook):
    """A JSON body field of the wrong type is a 400, never a 500.

    WSME turns a ``ValueError`` of a field's conversion into "Invalid
    input for field/attribute", but lets a ``TypeError`` or
    ``AttributeError`` (``{"remaining_executions": []}``, a list where an
    object is expected) become an internal error. Each field of the body
    is converted here first and such failures are answered as WSME
    answers the others.
    """

    priority = 25  # after JsonBodyHook (the body is a JSON object)

    def before(self, state: Any) -> None:
        request = state.request
        if request.method not in _BODY_METHODS or not request.body:
            return
        funcdef = getattr(state.controller, '_wsme_definition', None)
        body_type = getattr(funcdef, 'body_type', None)
        if body_type is None or not wtypes.iscomplex(body_type) or \
                'json' not in (request.content_type or 'application/json'):
            return
        try:
            # Shared with JsonBodyHook: read, never changed.
            body = pecan_speedups.request_json(request)
        except (ValueError, RecursionError):
            return  # WSME and JsonBodyHook answer these
        if not isinstance(body, dict):
            return
        for attr in wtypes.list_attributes(body_type):
            if attr.name not in body:
                continue
            value = body[attr.name]
            try:
                wsme_json.fromjson(attr.datatype, value)
            except (TypeError, AttributeError, KeyError, OverflowError,
                    RecursionError) as e:
                message = wsme_exc.InvalidInput(
                    attr.name, value, 'Wrong type: %s' % e).faultstring
                pecan.abort(400, detail=message,
                            headers={'Server-Error-Message':
                                     header_value(message)},
                            json_body={'faultcode': 'Client',
                                       'faultstring': message,
                                       'debuginfo': None})
            except Exception:  # noqa: S112  (WSME answers the others)
                continue
