"""Whether a value is a UUID: the one check behind every place that asks
(an identifier that may be an id or a name, filters and arguments that
must be ids, names that must not look like ids).

The rule is upstream's, oslo.utils' ``is_uuid_like`` (which its API types
and lookups use, and which this calls): the value is a string that reads
as a UUID once an optional ``urn:``/``uuid:`` prefix, surrounding braces
and the dashes are left out, in either case. So ``{...}`` and
``urn:uuid:...`` forms are ids too, while whitespace or underscores, which
Python's own parser would accept, are not.
"""

from __future__ import annotations

from oslo_utils import uuidutils


def is_uuid(value: object) -> bool:
    """True when ``value`` is a string naming a UUID (see above)."""
    return isinstance(value, str) and uuidutils.is_uuid_like(value)
