"""Turning model rows into plain dicts (for RPC answers and expressions)."""

from __future__ import annotations

import datetime
from typing import Any, Iterable

import sqlalchemy as sa

from mistral.utils import timeutils


def to_dict(row: Any, columns: Iterable[str] | None = None) -> dict[str, Any]:
    """Column values of ``row``; timestamps in the API's wire format.

    Deferred columns not yet loaded are left out unless named in
    ``columns`` (naming one loads it).
    """
    state = sa.inspect(row)
    names = (list(columns) if columns is not None
             else [a.key for a in state.mapper.column_attrs
                   if a.key not in state.unloaded])
    return columns_dict(row, names)


def columns_dict(row: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named attributes of ``row`` (an ORM object or a Core result
    row); timestamps in the API's wire format."""
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(row, name)
        if isinstance(value, datetime.datetime):
            value = timeutils.to_wire(value)
        out[name] = value
    return out
