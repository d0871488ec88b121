"""Updating rows: only a real change stamps ``updated_at``.

Upstream lets the ORM stamp ``updated_at`` when an UPDATE is issued, and
none is issued when every new value equals the stored one. So a PUT that
changes nothing leaves ``updated_at`` as it was (null on a row never
changed), which clients show and compare.
"""

from __future__ import annotations

from typing import Any, Mapping

from mistral.utils import timeutils


def apply(row: Any, values: Mapping[str, Any]) -> bool:
    """Set the ``values`` that differ from ``row``'s; returns whether any
    did, and then also sets ``row.updated_at`` to now.

    Values compare with ``==``, as the ORM compares them (so an equal
    JSON document or tag list is no change).
    """
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        row.updated_at = timeutils.utcnow()
    return changed
