"""WSME types shared by the v2 resources."""

from __future__ import annotations

import json
import uuid as uuid_lib
from typing import Any

from wsme import types as wtypes

from mistral import exceptions as exc
from mistral.utils import json_codec


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
        return json_codec.dumps(value)


class ListType(wtypes.UserType):
    """A comma separated list in a query string.

    Items are lower-cased, as upstream does: the lists name columns and
    sort directions (``sort_keys=Description&sort_dirs=DESC`` works), and
    the mistral CLI passes what the user typed.
    """

    basetype = wtypes.text
    name = 'list'
    unique = False

    def validate(self, value: Any) -> list[str]:
        if isinstance(value, list):
            items = value
        else:
            items = [v.strip() for v in str(value).split(',')]
        items = [v.lower() for v in items if v]
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


class BooleanType(wtypes.UserType):
    """A boolean query argument that refuses what is not a boolean.

    WSME's own ``bool`` turns any non-empty string into True, so that
    ``?force=false`` would force. An empty value means false, as an absent
    one does.
    """

    basetype = wtypes.text
    name = 'boolean'
    TRUE = ('true', '1', 'yes', 'on', 't', 'y')
    FALSE = ('false', '0', 'no', 'off', 'f', 'n', '')

    def validate(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        low = str(value).strip().lower()
        if low in self.TRUE:
            return True
        if low in self.FALSE:
            return False
        # WSME prefixes the argument's name and value.
        raise exc.InputException(
            'Expected a boolean (true or false) but received %s.' % value)

    def frombasetype(self, value: Any) -> bool | None:
        return None if value is None else self.validate(value)


class UuidType(wtypes.UserType):
    """An id query argument (e.g. a pagination marker) that must be a UUID.
    """

    basetype = wtypes.text
    name = 'uuid'

    def validate(self, value: Any) -> str:
        text = str(value).strip()
        try:
            uuid_lib.UUID(text)
        except ValueError:
            raise exc.InputException(
                'Expected a uuid but received %s.' % value) from None
        return text

    def frombasetype(self, value: Any) -> str | None:
        return None if value is None else self.validate(value)


jsontype = JsonType()
boolean = BooleanType()
uuid = UuidType()
listtype = ListType()
uniquelist = UniqueListType()
