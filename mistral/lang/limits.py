"""The hard limits on definitions and on the task planner.

The limits (``[limits]`` in the configuration) reach the core as a
:class:`LimitSettings` that the service installs with :func:`configure`
when it starts; until then :data:`DEFAULT` applies, whose values are the
configuration's defaults. The core never reads the configuration itself.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol


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
