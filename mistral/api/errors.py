"""Turning exceptions into the two upstream error body formats.

WSME-exposed methods answer ``{"faultcode", "faultstring", "debuginfo"}``;
the text endpoints (raw YAML bodies) answer ``{"faultstring"}``. Errors we
did not expect become a 500 with a short message; the traceback only goes
to the log.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import time
from typing import Any, Callable

import webob
from webob import exc as webob_exc
from wsme import exc as wsme_exc

from mistral import exceptions as exc

LOG = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger('mistral.api.access')

INTERNAL_ERROR = 'Internal server error, see the server log for details.'


def _wsme_error(message: str, status: int) -> wsme_exc.ClientSideError:
    # A 5xx is the server's fault, in WSME's format all the same.
    return wsme_exc.ClientSideError(
        message, status_code=status,
        faultcode='Server' if status >= 500 else 'Client')


def _log(e: Exception) -> None:
    if isinstance(e, exc.MistralError) and e.http_code < 500:
        LOG.info('API request failed: %s', e)
    elif isinstance(e, exc.RPCTimeoutException):
        # An engine or broker that does not answer: no traceback helps.
        LOG.warning('API request failed: %s', e)
    else:
        LOG.exception('API request failed: %s', e)


def wsme_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Map exceptions of a WSME-exposed method to ClientSideError."""

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (wsme_exc.ClientSideError, webob_exc.HTTPException):
            raise
        except exc.MistralError as e:
            _log(e)
            raise _wsme_error(str(e), e.http_code) from e
        except Exception as e:
            _log(e)
            raise _wsme_error(INTERNAL_ERROR, 500) from e

    # WSME and pecan route query arguments by the wrapped signature.
    wrapped._wsme_original_func = func  # type: ignore[attr-defined]
    wrapped.__signature__ = inspect.signature(func)  # type: ignore
    return wrapped


def json_response(body: Any, status: int = 200,
                  content_type: str = 'application/json;charset=utf-8'
                  ) -> webob.Response:
    resp = webob.Response(status=status,
                          body=json.dumps(body).encode('utf-8'))
    resp.headers['Content-Type'] = content_type
    return resp


def fault_response(message: str, status: int) -> webob.Response:
    return json_response({'faultstring': message}, status)


def _text_errors(wsme_body: bool) -> Callable[..., Any]:
    def body(message: str, status: int) -> webob.Response:
        if not wsme_body:
            return fault_response(message, status)
        return json_response({
            'faultcode': 'Server' if status >= 500 else 'Client',
            'faultstring': message, 'debuginfo': None}, status,
            content_type='application/json')

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except webob_exc.HTTPException:
                raise
            except exc.MistralError as e:
                _log(e)
                return body(str(e), e.http_code)
            except wsme_exc.ClientSideError as e:
                return body(e.faultstring, e.code)
            except Exception as e:
                _log(e)
                return body(INTERNAL_ERROR, 500)

        wrapped.__signature__ = inspect.signature(func)  # type: ignore
        return wrapped

    return decorate


# Text endpoints (raw YAML bodies) answer errors as {"faultstring"}.
text_errors = _text_errors(wsme_body=False)
# Hand-built JSON endpoints that upstream serves through WSME.
text_errors_wsme_body = _text_errors(wsme_body=True)


class AccessLogMiddleware:
    """One log line per request: method, path, status and duration."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        started = time.monotonic()
        status: list[str] = []

        def recording_start_response(code: str, headers: Any,
                                     exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        finally:
            query = environ.get('QUERY_STRING')
            ACCESS_LOG.info('%s %s%s -> %s (%.3fs)',
                            environ.get('REQUEST_METHOD'),
                            environ.get('PATH_INFO', ''),
                            '?' + query if query else '',
                            (status or ['-'])[0].split(' ')[0],
                            time.monotonic() - started)


class CatchAllMiddleware:
    """Last line of defence: never let a traceback reach the client."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        try:
            return self.app(environ, start_response)
        except Exception as e:
            _log(e)
            resp = fault_response(INTERNAL_ERROR, 500)
            return resp(environ, start_response)
