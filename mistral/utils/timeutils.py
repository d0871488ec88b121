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
    return value.strftime(WIRE_FORMAT)
