"""JSON text of stored columns and wire fields, without json.dumps' and
json.loads' per-call setup.

``json.dumps`` builds a new C encoder on every call and ``json.loads`` runs
two whitespace regexes around the C scanner: for the small documents of a
row (an execution's input, params, tags) that setup costs two to three
times the encoding itself, and a list page encodes and decodes hundreds of
them. The C encoder and scanner built once here give the same text and
values as ``json.dumps``/``json.loads`` with the same options.
"""

from __future__ import annotations

import json
from json import decoder as json_decoder
from json import encoder as json_encoder
from typing import Any, Callable

_c_make_encoder = json_encoder.c_make_encoder
_scan_once = json_decoder.JSONDecoder().scan_once


def _encoder(item_sep: str, key_sep: str, default: Callable[[Any], Any]
             ) -> Callable[[Any], str] | None:
    if _c_make_encoder is None:   # an interpreter without the C module
        return None
    # No circular-reference markers: values are decoded JSON or built by
    # the engine from it; a cycle would end in RecursionError instead of
    # ValueError.
    enc = _c_make_encoder(None, default, json_encoder.encode_basestring_ascii,
                          None, key_sep, item_sep, False, False, True)
    return lambda value: ''.join(enc(value, 0))


_wire = _encoder(', ', ': ', json.JSONEncoder().default)
_compact = _encoder(',', ':', str)


def dumps(value: Any) -> str:
    """``json.dumps(value)``: the API's JSON-in-a-string fields."""
    if _wire is None:
        return json.dumps(value)
    return _wire(value)


def dumps_compact(value: Any) -> str:
    """``json.dumps(value, separators=(',', ':'), default=str)``: stored
    columns."""
    if _compact is None:
        return json.dumps(value, separators=(',', ':'), default=str)
    return _compact(value)


def loads(text: str) -> Any:
    """``json.loads(text)``."""
    try:
        value, end = _scan_once(text, 0)
    except (StopIteration, TypeError):
        return json.loads(text)   # raises what json.loads raises
    if end != len(text):
        return json.loads(text)   # surrounding whitespace, or extra data
    return value
