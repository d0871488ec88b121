"""The hard limits on definitions, and cheap measures of documents.

The limits (``[limits]`` in the configuration) reach the core as a
:class:`LimitSettings` that the service installs with :func:`configure`
when it starts; until then :data:`DEFAULT` applies, whose values are the
configuration's defaults. The core never reads the configuration itself.

The measures use no recursion: the point is to measure documents too deep
to recurse on.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Protocol


class LimitSettings(Protocol):
    """What the language and the task planner need to know of the limits."""

    @property
    def max_definition_size_kb(self) -> int: ...

    @property
    def max_nesting_depth(self) -> int: ...

    @property
    def max_with_items_length(self) -> int: ...

    @property
    def max_fan_out(self) -> int: ...

    @property
    def max_name_length(self) -> int: ...


@dataclasses.dataclass(frozen=True)
class Limits:
    """Fixed limits; the defaults are those of the ``[limits]`` options."""

    max_definition_size_kb: int = 1024
    max_nesting_depth: int = 100
    max_with_items_length: int = 10000
    max_fan_out: int = 1000
    max_name_length: int = 255


DEFAULT = Limits()

_settings: LimitSettings = DEFAULT


def configure(settings: LimitSettings) -> None:
    """Use ``settings`` from now on (read at every check, not copied)."""
    global _settings
    _settings = settings


def current() -> LimitSettings:
    return _settings

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
