"""XML answers for ``Accept: application/xml``, as WSME writes them.

WSME renders a resource object as an element per attribute, a list as
``<item>`` elements and null as ``nil="true"``. Some answers of ours are
built as JSON-form dicts instead of resource objects (list rows, for
speed, and the execution report): this module writes those the same way,
so that an XML client gets what upstream's WSME gives it rather than an
internal error.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as et

from wsme import types as wtypes
from wsme.rest import xml as wsme_xml


def element(key: str, value: Any) -> et.Element:
    """An element for a JSON-form value (dicts are objects, as WSME's
    complex types: one child element per key, in order)."""
    el = et.Element(key)
    if value is None:
        el.set('nil', 'true')
    elif isinstance(value, bool):
        el.text = 'true' if value else 'false'
    elif isinstance(value, dict):
        for k, v in value.items():
            el.append(element(k, v))
    elif isinstance(value, (list, tuple)):
        for item in value:
            el.append(element('item', item))
    else:
        el.text = str(value)
    return el


def document(value: Any, key: str = 'result') -> bytes:
    """A whole answer, under WSME's root element name."""
    return et.tostring(element(key, value))


def register(cls: type) -> None:
    """Let WSME's XML encoder take JSON-form dict rows where it expects
    instances of the resource class ``cls``; instances are written as
    WSME writes them."""
    default = wsme_xml.toxml.default

    def toxml(datatype: Any, key: str, value: Any) -> et.Element:
        if not isinstance(value, dict):
            return default(datatype, key, value)
        el = et.Element(key)
        # In the order of the class's attributes, as WSME does.
        for attr in wtypes.list_attributes(datatype):
            if attr.name in value:
                el.append(element(attr.name, value[attr.name]))
        return el

    wsme_xml.toxml.when_object(cls)(toxml)
