"""Direct answers for the commonest YAQL shapes.

The engine evaluates a handful of expression shapes for every task and
with-items element; yaql parses nothing twice (parses are cached) but
resolves every ``.``, ``+``, ``str()`` and ``select()`` through its
overload machinery, some hundreds of microseconds per expression. For
plain JSON data these shapes have one certain answer, computed here:

* ``$.a.b``: a path into the context (the value itself, as yaql gives
  when no conversion is needed);
* ``task().result``, ``task().published.x``: a path into what ``task()``
  gives (copied, as yaql hands out copies);
* ``<$ or task()>.path.select($.field)``: one field of every element of a
  list of plain dicts (how with-items results are published);
* ``$.target + '?v=' + str($.n)``: strings joined from paths, quoted
  literals and ``str()`` (URLs, names, messages).

Whenever the answer is not certain (a missing key, a value yaql would
convert, a number added to a string, a float given to ``str()``, an escape
in a literal, a plugin's ``str()``), :func:`evaluate` returns ``MISSING``
and yaql evaluates the expression, with its own result or error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from mistral.expressions import data_access as _da
from mistral.expressions import options as _options
from mistral.expressions import yaql_engine as _yaql

MISSING: Any = object()

_KEYS = r'(?:\.[A-Za-z_][A-Za-z0-9_]*)'
_PATH_RE = re.compile(r'^\s*\$(%s+)\s*$' % _KEYS)
_TASK_PATH_RE = re.compile(r'^\s*task\(\s*\)(%s+)\s*$' % _KEYS)
_SELECT_RE = re.compile(r'^\s*(task\(\s*\)|\$)(%s*)\.select\(\s*\$(%s+)\s*\)'
                        r'\s*$' % (_KEYS, _KEYS))

# Quoted literals without escapes (an escape is left to yaql).
_LITERAL = r"'[^'\\\n]*'|\"[^\"\\\n]*\""
_SIMPLE = r'\$%s+|%s' % (_KEYS, _LITERAL)
_TERM = r'%s|str\(\s*(?:%s)\s*\)' % (_SIMPLE, _SIMPLE)
_TERM_RE = re.compile(r'\s*(%s)\s*(\+|$)' % _TERM)

# Longest string joined here; a longer one is left to yaql, which applies
# its memory quota to it.
MAX_LENGTH = 65536

_PLAIN = (str, int, float, bool, dict, list)

# A compiled term of a string chain: context -> its value, or MISSING.
_Getter = Callable[[Mapping[str, Any]], Any]


def _keys(path: str) -> tuple[str, ...]:
    """('a', 'b') of '.a.b'."""
    return tuple(path[1:].split('.'))


def _lookup(keys: tuple[str, ...], value: Any) -> Any:
    """The value at ``keys`` inside ``value``, or MISSING."""
    for key in keys:
        if not isinstance(value, Mapping):
            return MISSING
        value = value.get(key, MISSING)
        if value is MISSING:
            return MISSING
    return value


def _plain(value: Any) -> Any:
    """``value`` if yaql would give it back unconverted, else MISSING."""
    if value is None or isinstance(value, _PLAIN):
        return value
    return MISSING


def _copy_plain(value: Any) -> Any:
    # YAQL hands out copies of containers; so do the shortcuts.
    if isinstance(value, dict):
        return {k: _copy_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy_plain(v) for v in value]
    return value


def _current_task() -> Any:
    """What ``task()`` gives here, or MISSING when it fails (yaql then
    evaluates the expression again and words the error)."""
    func = _yaql.registered_function('task')
    if func is None:
        return MISSING
    try:
        return func(_da.current_context())
    except Exception:
        return MISSING


# -- string chains


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


def _simple_getter(text: str) -> _Getter:
    if text.startswith('$'):
        keys = _keys(text[1:])
        return lambda context: _lookup(keys, context)
    literal = text[1:-1]
    return lambda context: literal


def _term_getter(text: str) -> _Getter:
    if text.startswith('str('):
        inner = _simple_getter(text[4:-1].strip())

        def get_str(context: Mapping[str, Any]) -> Any:
            value = inner(context)
            return MISSING if value is MISSING else _as_yaql_str(value)

        return get_str
    return _simple_getter(text)


def _chain(expression: str) -> tuple[_Getter, ...] | None:
    """The terms of ``expression`` if it is a string chain (at least one
    ``+`` or ``str()``), else None."""
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
        return None  # empty, or ends right after a '+'
    if pos != len(expression):
        return None
    if len(terms) == 1 and not terms[0].startswith('str('):
        return None  # a lone path or literal
    return tuple(_term_getter(t) for t in terms)


def _join(getters: tuple[_Getter, ...], context: Mapping[str, Any]) -> Any:
    if _yaql.registered_function('str') is not None:
        return MISSING  # a plugin's str(): only yaql knows what it gives
    parts = []
    size = 0
    for get in getters:
        value = get(context)
        if type(value) is not str:
            return MISSING  # yaql's + for anything else is not a join
        size += len(value)
        if size > MAX_LENGTH:
            return MISSING
        parts.append(value)
    return ''.join(parts)


# -- the shapes


def _select(base_is_task: bool, keys: tuple[str, ...],
            item_keys: tuple[str, ...], context: Mapping[str, Any]) -> Any:
    if not _options.current().yaql.convert_output_data:
        return MISSING  # yaql would hand out a lazy, unconverted query
    if base_is_task:
        seq = _current_task()
        if keys and seq is not MISSING:
            seq = _lookup(keys, seq)
    else:
        seq = _lookup(keys, context) if keys else MISSING
    if type(seq) is not list:
        return MISSING
    out = []
    for element in seq:
        if type(element) is not dict:
            return MISSING
        found = _plain(_lookup(item_keys, element))
        if found is MISSING:
            return MISSING
        out.append(_copy_plain(found))
    return out


@functools.lru_cache(maxsize=4096)
def _plan(expression: str) -> Callable[[Mapping[str, Any]], Any] | None:
    """How to answer ``expression`` directly, or None (always yaql)."""
    m = _PATH_RE.match(expression)
    if m:
        keys = _keys(m.group(1))
        return lambda context: _plain(_lookup(keys, context))
    m = _TASK_PATH_RE.match(expression)
    if m:
        keys = _keys(m.group(1))

        def task_path(context: Mapping[str, Any]) -> Any:
            task = _current_task()
            found = MISSING if task is MISSING else _plain(
                _lookup(keys, task))
            return MISSING if found is MISSING else _copy_plain(found)

        return task_path
    m = _SELECT_RE.match(expression)
    if m:
        base_is_task = m.group(1) != '$'
        keys = _keys(m.group(2)) if m.group(2) else ()
        item_keys = _keys(m.group(3))
        return lambda context: _select(base_is_task, keys, item_keys,
                                       context)
    getters = _chain(expression)
    if getters is not None:
        return lambda context: _join(getters, context)
    return None


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The value of ``expression`` (the text inside ``<% %>``), or MISSING
    when yaql must evaluate it."""
    plan = _plan(expression)
    return MISSING if plan is None else plan(context)


def concat(expression: str, context: Mapping[str, Any]) -> Any:
    """The string chain ``expression`` joined, or MISSING (not a chain, or
    not certain)."""
    getters = _chain(expression)
    return MISSING if getters is None else _join(getters, context)
