"""Per-request work of pecan that gives the same answer every time.

pecan inspects the signature of the controller method on every request
(``pecan.util.getargspec``, several times per request while routing and
calling): about 7% of a small GET's CPU. A signature cannot change while the
process runs, so the answer is kept per function.

The request body is kept as well, once read (see ``request_body``).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pecan.core
import pecan.rest
import pecan.routing
import pecan.util
import webob

# Only the modules that route requests: what pecan.decorators computes while
# controllers are being decorated may no longer hold once decoration is
# done (wrappers get their attributes afterwards), so it is never cached.
_MODULES = (pecan.core, pecan.rest, pecan.routing)
_original = pecan.util.getargspec


@functools.lru_cache(maxsize=4096)
def _cached(func: Any) -> Any:
    return _original(func)


def _argspec_of(func: Any) -> Any:
    # A copy: callers may change the lists of what they get.
    spec = _cached(func)
    return spec._replace(args=list(spec.args))


def _getargspec(method: Any) -> Any:
    # Bound methods are new objects on each access; their function is not,
    # and pecan only looks at the names, the same for every instance.
    try:
        return _argspec_of(getattr(method, '__func__', method))
    except TypeError:  # an unhashable callable
        return _original(method)


def install() -> None:
    """Idempotent."""
    for module in _MODULES:
        if getattr(module, 'getargspec', None) is _original:
            module.getargspec = _getargspec


# The request body, read once per request.
#
# webob does not keep ``request.body``: every access checks the stream,
# seeks, reads and copies it again, and a POST reads it about eight times
# (the limits middleware, our hooks, pecan's parameters, WSME). The first
# reader keeps the bytes in the WSGI environ, which every Request object of
# the request shares, next to what they were read from. A new body comes
# with a new stream or length (webob's setters make both; nothing writes
# into a request's stream), so the kept bytes are only handed out while
# those are still the ones they were read from.

_BODY = 'mistral.api.body'
_JSON = 'mistral.api.body_json'
_read_body = webob.Request.body.fget


def _body_state(environ: dict[str, Any]) -> tuple[Any, ...]:
    """The stream and what webob's reading of it looks at."""
    get = environ.get
    return (get('wsgi.input'), get('CONTENT_LENGTH'),
            get('webob.is_body_seekable'), get('wsgi.input_terminated'),
            get('webob.is_body_readable'))


def request_body(request: webob.Request) -> bytes:
    """``request.body``, the same bytes, read from the stream only once."""
    environ = request.environ
    kept = environ.get(_BODY)
    if kept is not None:
        state, body = kept
        now = _body_state(environ)
        if now[0] is state[0] and now[1:] == state[1:]:
            # webob leaves a seekable body rewound after each read.
            now[0].seek(0)
            return body
    body = _read_body(request)
    # Only a non-empty body read from a seekable copy reads the same again
    # (an empty one is cheap to read, and webob does not rewind it).
    if body and environ.get('webob.is_body_seekable'):
        environ[_BODY] = (_body_state(environ), body)
    return body


def request_json(request: webob.Request) -> Any:
    """``json.loads(request_body(request))``, parsed once per body.

    The answer is shared by its callers: they must not change it. A body
    that does not parse raises on every call (a RecursionError depends on
    the caller's stack, so failures are never kept).
    """
    body = request_body(request)
    environ = request.environ
    kept = environ.get(_JSON)
    if kept is not None and kept[0] is body:
        return kept[1]
    value = json.loads(body)
    environ[_JSON] = (body, value)
    return value


class Request(pecan.core.Request):
    """pecan's request, whose ``body`` is read once (WSME, pecan's own
    parameters and the handlers read it through ``pecan.request``)."""

    body = property(request_body, webob.Request.body.fset,
                    webob.Request.body.fdel, webob.Request.body.__doc__)
