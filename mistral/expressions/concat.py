"""A direct evaluator for the commonest computed YAQL strings.

``$.target + '?v=' + str($.n)``, ``'prefix-' + $.name``, ``str($.count)``:
strings built from context paths, quoted literals and ``str()`` are what
definitions compute for URLs, names and messages, once per task or
with-items element. yaql resolves every ``+`` and ``str()`` through its
overload machinery, which costs some hundreds of microseconds per
expression; joining the strings directly gives the same value in a few.

The fast path answers only when the outcome is certain: every operand of
``+`` is a string (yaql's only ``+`` for two strings is concatenation) and
every argument of ``str()`` is a string, an integer, a boolean or null
(converted as yaql's ``str`` does). Anything else (a number added to a
string, a missing key, a float, a container) returns ``MISSING`` and yaql
evaluates the expression, with its own result or error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

MISSING: Any = object()

_PATH = r'\$(?:\.[A-Za-z_][A-Za-z0-9_]*)+'
# Quoted literals without escapes (an escape is left to yaql).
_LITERAL = r"'[^'\\\n]*'|\"[^\"\\\n]*\""
_SIMPLE = '%s|%s' % (_PATH, _LITERAL)
_TERM = r'%s|str\(\s*(?:%s)\s*\)' % (_SIMPLE, _SIMPLE)
_TERM_RE = re.compile(r'\s*(%s)\s*(\+|$)' % _TERM)

# Longest string built here; a longer one is left to yaql, which applies
# its memory quota to it.
MAX_LENGTH = 65536

# A compiled term: context -> its value, or MISSING.
_Getter = Callable[[Mapping[str, Any]], Any]


def _path_getter(text: str) -> _Getter:
    keys = tuple(text[2:].split('.'))

    def get(context: Mapping[str, Any]) -> Any:
        value: Any = context
        for key in keys:
            if not isinstance(value, Mapping):
                return MISSING
            value = value.get(key, MISSING)
            if value is MISSING:
                return MISSING
        return value

    return get


def _simple_getter(text: str) -> _Getter:
    if text.startswith('$'):
        return _path_getter(text)
    literal = text[1:-1]
    return lambda context: literal


def _as_yaql_str(value: Any) -> Any:
    """What yaql's ``str()`` gives for ``value``, or MISSING."""
    if value is None:
        return 'null'
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    return MISSING


def _term_getter(text: str) -> _Getter:
    if text.startswith('str('):
        inner = _simple_getter(text[4:-1].strip())

        def get_str(context: Mapping[str, Any]) -> Any:
            value = inner(context)
            return MISSING if value is MISSING else _as_yaql_str(value)

        return get_str
    return _simple_getter(text)


@functools.lru_cache(maxsize=4096)
def compile_concat(expression: str) -> tuple[_Getter, ...] | None:
    """The terms of ``expression`` if it is a chain this module evaluates
    (at least one ``+`` or ``str()``), else None."""
    terms: list[str] = []
    pos = 0
    while pos < len(expression):
        m = _TERM_RE.match(expression, pos)
        if m is None:
            return None
        terms.append(m.group(1))
        pos = m.end()
        if m.group(2) == '':
            break
    else:
        # Ended right after a '+' (or empty): not a complete expression.
        return None
    if pos != len(expression):
        return None
    if len(terms) == 1 and not terms[0].startswith('str('):
        return None  # a lone path or literal: handled elsewhere
    return tuple(_term_getter(t) for t in terms)


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The value of ``expression`` (the text inside ``<% %>``), or MISSING
    when yaql must evaluate it."""
    getters = compile_concat(expression)
    if getters is None:
        return MISSING
    parts = []
    size = 0
    for get in getters:
        value = get(context)
        if type(value) is not str:
            return MISSING
        size += len(value)
        if size > MAX_LENGTH:
            return MISSING
        parts.append(value)
    return ''.join(parts)
