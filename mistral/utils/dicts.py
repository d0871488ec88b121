"""Merging nested dicts, as the data flow and the specs' inputs do.

Here, below the language and the workflow core that both use it.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping


def deep_merge(target: dict[str, Any], src: Mapping[str, Any]) -> None:
    """Merge ``src`` into ``target`` in place: nested dicts key by key,
    ``src`` winning elsewhere."""
    # Nested dicts are copied, never changed in place: they may be shared
    # with other contexts (and with the ORM's loaded state).
    for key, value in src.items():
        if isinstance(value, Mapping) and isinstance(target.get(key),
                                                     Mapping):
            merged = dict(target[key])
            deep_merge(merged, value)
            target[key] = merged
        else:
            target[key] = copy.deepcopy(value)


def deep_merged(base: Mapping[str, Any], other: Mapping[str, Any]
                ) -> dict[str, Any]:
    """A new dict: ``other`` merged into ``base``, nested dicts merged
    key by key, ``other`` winning elsewhere. Neither input changes."""
    out = dict(base)
    deep_merge(out, other)
    return out
