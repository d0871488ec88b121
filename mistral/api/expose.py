"""Exposing controller methods through WSME with our error mapping."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import pecan
from wsmeext import pecan as wsme_pecan

from mistral.api import errors

# Content negotiation (the Accept header) is pecan's, per exposed method:
# an Accept that names none of a method's content types is a 406, "*/*"
# or no Accept gets its default. The exposures below are upstream's, so
# that the same requests are accepted and refused (what the handler sends
# back is its own webob response, JSON either way).

XML_TYPES = ('application/xml', 'text/xml')


def wsme(*types: Any, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``wsexpose`` with our error mapping around the method.

    WSME reads argument types from the method's signature, which the error
    wrapper forwards through ``__signature__``. Pecan's REST routing must
    not see that signature on the exposed function though (it would count
    optional query arguments as required path segments), so it is removed
    again from the function WSME returns.
    """
    exposer = wsme_pecan.wsexpose(*types, **options)

    def decorate(func: Callable[..., Any]) -> Any:
        exposed = exposer(errors.wsme_errors(func))
        exposed.__dict__.pop('__signature__', None)
        return exposed

    return decorate


def text_body() -> Callable[[Callable[..., Any]], Any]:
    """A method taking a definition as the request body (workflows,
    workbooks, actions, code sources): exposed as ``text/plain``, so
    ``Accept: text/plain`` is served and ``Accept: application/json`` is
    a 406, as upstream."""
    return pecan.expose(content_type='text/plain')


def json_only() -> Callable[[Callable[..., Any]], Any]:
    """A hand-built JSON answer that upstream serves as pecan JSON
    (``/validate``, ``/info``, ``GET /maintenance``): ``application/json``
    only."""
    return pecan.expose('json')


def json_or_xml() -> Callable[[Callable[..., Any]], Any]:
    """A hand-built answer that upstream serves through WSME (the
    execution report): JSON by default, XML when asked for, as WSME
    offers. The handler looks at :func:`wants_xml`."""

    def decorate(func: Callable[..., Any]) -> Any:
        # The last exposure is the default: JSON, as WSME's.
        for ctype in XML_TYPES + ('application/json',):
            func = pecan.expose(content_type=ctype)(func)
        return func

    return decorate


def wants_xml() -> bool:
    """Whether pecan chose XML for this request's answer."""
    return pecan.request.pecan.get('content_type') in XML_TYPES


# WSME types of query arguments, by name; others are text.
_QUERY_TYPES: dict[str, Any] = {}


def _query_type(name: str) -> Any:
    if not _QUERY_TYPES:
        from wsme import types as wtypes

        from mistral.api.controllers.v2 import types

        # Markers are ids (UUIDs) except where a list says otherwise;
        # booleans are strict (WSME's bool takes "false" for true).
        _QUERY_TYPES.update(
            marker=types.uuid, limit=int, sort_keys=types.uniquelist,
            sort_dirs=types.listtype, fields=types.uniquelist,
            nulls=types.uniquelist, include_output=types.boolean,
            all_projects=types.boolean, force=types.boolean,
            errors_only=types.boolean, statistics_only=types.boolean,
            max_depth=int, _text=wtypes.text)
    return _QUERY_TYPES.get(name, _QUERY_TYPES['_text'])


def wsme_query(return_type: Any, overrides: dict[str, Any] | None = None,
               **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``wsme`` with argument types derived from parameter names.

    For list endpoints with many filters, so that a type list can never
    drift from the signature. ``overrides`` maps parameter names to the
    types one endpoint needs instead (e.g. a marker that is a name).
    """

    def decorate(func: Callable[..., Any]) -> Any:
        names = list(inspect.signature(func).parameters)[1:]
        types = [(overrides or {}).get(n) or _query_type(n) for n in names]
        return wsme(return_type, *types, **options)(func)

    return decorate
