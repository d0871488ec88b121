"""WSME types shared by the v2 resources."""

from __future__ import annotations

import json
from typing import Any

from wsme import types as wtypes


class JsonType(wtypes.UserType):
    """Any JSON value; serialised as a JSON-encoded string on the wire.

    Clients may send such fields either as JSON values or as strings that
    hold JSON (the mistral CLI does the latter), so strings are decoded
    when they parse.
    """

    basetype = wtypes.text
    name = 'json'

    def validate(self, value: Any) -> Any:
        return value

    def frombasetype(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def tobasetype(self, value: Any) -> Any:
        if value is None:
            return None
        return json.dumps(value)


class ListType(wtypes.UserType):
    """A comma separated list in a query string."""

    basetype = wtypes.text
    name = 'list'
    unique = False

    def validate(self, value: Any) -> list[str]:
        if isinstance(value, list):
            items = value
        else:
            items = [v.strip() for v in str(value).split(',')]
        items = [v for v in items if v]
        if self.unique:
            seen: list[str] = []
            for v in items:
                if v not in seen:
                    seen.append(v)
            items = seen
        return items

    def frombasetype(self, value: Any) -> list[str] | None:
        return None if value is None else self.validate(value)


class UniqueListType(ListType):
    name = 'uniquelist'
    unique = True


jsontype = JsonType()
listtype = ListType()
uniquelist = UniqueListType()
