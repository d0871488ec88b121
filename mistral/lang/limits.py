"""Cheap measures of untrusted documents, for the hard limits.

No recursion: the point is to measure documents too deep to recurse on.
"""

from __future__ import annotations

import re
from typing import Any

_BRACKETS = re.compile(r'[\[\]{}]')


def bracket_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in ``text``, quotes ignored.

    An upper bound of the flow nesting of a YAML or JSON document (text in
    strings may count too), computed without parsing.
    """
    depth = deepest = 0
    for bracket in _BRACKETS.findall(text):
        if bracket in '[{':
            depth += 1
            if depth > deepest:
                deepest = depth
        elif depth:
            depth -= 1
    return deepest


def depth(value: Any, stop: int | None = None) -> int:
    """Nesting depth of lists and dicts in ``value`` (a scalar is 0).

    Stops counting once ``stop`` is exceeded (returns ``stop + 1``).
    """
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if level > deepest:
            deepest = level
            if stop is not None and deepest > stop:
                return stop + 1
        stack.extend((c, level + 1) for c in children
                     if isinstance(c, (dict, list, tuple)))
    return deepest
