"""Exposing controller methods through WSME with our error mapping."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from wsmeext import pecan as wsme_pecan

from mistral.api import errors


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
