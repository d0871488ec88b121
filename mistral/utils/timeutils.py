"""Time helpers: every stored timestamp is naive UTC."""

from __future__ import annotations

import datetime

WIRE_FORMAT = '%Y-%m-%d %H:%M:%S'


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def to_wire(value: datetime.datetime | None) -> str | None:
    """The API's timestamp format: ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    if value is None:
        return None
    # isoformat gives the same text as strftime(WIRE_FORMAT) at a quarter
    # of the cost (two per row of every list page).
    if value.tzinfo is None:
        return value.isoformat(' ', 'seconds')
    return value.strftime(WIRE_FORMAT)
