"""Turning what an action returned into values that can be stored as JSON.

Plugin actions may return anything: client objects (mistral-extra's
``mistral.*`` actions return python-mistralclient resources), generators,
sets, datetimes, exceptions. Upstream Mistral turns such a result into
primitives before it leaves the executor, with oslo.serialization's
``to_primitive`` and ``convert_instances``: an instance becomes the dict of
its attributes (three levels of nested instances at most, deeper ones
become ``None``), a generator a list, a datetime its text. The same
conversion is done here, once, where the result is made; the engine, the
RPC layer and the API then only ever see plain JSON values.

A value that is still not JSON after that (an object without attributes,
bytes that are not UTF-8, a dictionary whose keys cannot be text) fails the
action with an error that says what could not be encoded, instead of a
result that no message or row can carry.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from oslo_serialization import jsonutils


class UnencodableResult(ValueError):
    """An action result that cannot be turned into JSON."""


def _generators_as_lists(value: Any) -> Any:
    # to_primitive's fallback for what it does not walk itself; generators
    # are consumed (they may yield objects, so the walk starts again).
    if inspect.isgenerator(value):
        return jsonutils.to_primitive(list(value), convert_instances=True,
                                      fallback=_generators_as_lists)
    raise UnencodableResult('it contains an object of type %s that is '
                            'neither JSON nor has attributes'
                            % type(value).__name__)


def _is_plain(value: Any) -> bool:
    """JSON types only, walked without recursion limits' cost for the
    common case of results that are plain already."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v)
                   for k, v in value.items())
    return False


def to_primitive(value: Any) -> Any:
    """``value`` as JSON values (see the module's docstring).

    Raises :class:`UnencodableResult` when it cannot be.
    """
    if _is_plain(value):
        return value
    try:
        converted = jsonutils.to_primitive(value, convert_instances=True,
                                           fallback=_generators_as_lists)
        # Strict: what the JSON columns and the message bus will do.
        json.dumps(converted)
    except UnencodableResult:
        raise
    except (TypeError, ValueError, UnicodeDecodeError,
            RecursionError) as e:
        raise UnencodableResult(str(e)) from e
    return converted


def encodable(result: dict[str, Any]) -> dict[str, Any]:
    """A ``{'data'|'error'|'cancel': ...}`` outcome with JSON values; one
    whose value cannot be converted becomes an error that says why."""
    for key in ('data', 'error'):
        if key not in result:
            continue
        try:
            value = to_primitive(result[key])
        except UnencodableResult as e:
            return {'error': 'The action %s (of type %s) cannot be '
                             'stored as JSON: %s' % (
                                 'result' if key == 'data' else 'error',
                                 type(result[key]).__name__, e)}
        if value is not result[key]:
            result = dict(result, **{key: value})
    return result
