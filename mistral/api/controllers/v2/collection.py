"""The shared implementation of list endpoints (pagination, fields, links).

A controller describes its resource with a :class:`Listing` and calls
:func:`get_all` with the query arguments it received.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

import pecan
from oslo_config import cfg

from mistral import exceptions as exc
from mistral.api import access
from mistral.api import hooks
from mistral.api.controllers.v2 import resources
from mistral.db import api as db_api
from mistral.db import listing
from mistral.utils import ids

CONF = cfg.CONF


@dataclasses.dataclass
class Listing:
    model: type[Any]
    resource: type[Any]
    collection: type[Any]
    # Key of the list in the response and path segment of the next link.
    key: str
    # Columns read when the caller did not ask for specific fields.
    default_columns: Sequence[str]
    # DB columns needed to produce one wire field (identity by default).
    field_columns: Mapping[str, Sequence[str]] = dataclasses.field(
        default_factory=dict)
    # The values of the resource (what its from_dict takes) of one row
    # dict and the requested fields; the row itself when not given.
    to_values: Callable[[dict[str, Any], Sequence[str] | None],
                        dict[str, Any]] | None = None
    # Fills computed fields for a whole page at once (no N+1 queries).
    enrich: Callable[[list[dict[str, Any]], Sequence[str] | None],
                     None] | None = None
    default_sort_key: str = 'created_at'
    # Filters whose values come from a closed set (states, scope): an
    # unknown value is a mistake, not an empty result.
    enums: dict[str, Sequence[str]] = dataclasses.field(
        default_factory=lambda: {'scope': SCOPES})


SCOPES: tuple[str, ...] = ('private', 'public')

# Filters on references to other objects, whose ids are UUIDs (project
# ids too: Keystone's, as upstream types them).
UUID_FILTERS = ('workflow_id', 'workflow_execution_id', 'task_execution_id',
                'root_execution_id', 'project_id')


def check_enum_filters(flts: Sequence[listing.Filter],
                       enums: dict[str, Sequence[str]]) -> None:
    """400 for a filter value outside its column's closed set, or for a
    reference to another object that is not a UUID.

    ``has``/``gt``-style operators compare partially and are left alone.
    """
    for flt in flts:
        if flt.op not in ('eq', 'neq', 'in', 'nin'):
            continue
        values = flt.value if isinstance(flt.value, list) else [flt.value]
        if flt.column in UUID_FILTERS:
            for value in values:
                if value is not None and not ids.is_uuid(str(value)):
                    raise exc.InputException(
                        "Invalid input for field/attribute %s. Value: "
                        "'%s'. Expected a uuid but received %s."
                        % (flt.column, value, value))
        allowed = enums.get(flt.column)
        if allowed is None:
            continue
        for value in values:
            if value not in allowed:
                raise exc.InputException(
                    "Invalid input for field/attribute %s. Value: '%s'. "
                    "Value should be one of: %s"
                    % (flt.column, value, ', '.join(allowed)))


def columns_for(spec: Listing, fields: Sequence[str]) -> list[str]:
    cols: list[str] = []
    for f in fields:
        for c in spec.field_columns.get(f, (f,)):
            if c and c not in cols:
                cols.append(c)
    return cols


def check_all_projects(all_projects: bool, resource: str) -> bool:
    """Whether the query may ignore project scoping."""
    ctx = hooks.current_context()
    if all_projects:
        access.enforce('%s:list:all_projects' % resource, ctx)
    # Admins see every project's objects anyway.
    return bool(all_projects or ctx.is_admin)


def _link_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return str(value)


def next_link(key: str, items: list[Any], limit: int, sort_keys: list[str],
              sort_dirs: list[str], fields: Sequence[str],
              link_filters: dict[str, Any], marker_attr: str = 'id'
              ) -> str | None:
    """The ``next`` URL when the page is full, in upstream's layout."""
    if not items or len(items) != limit:
        return None
    args = [('sort_keys', ','.join(sort_keys)),
            ('sort_dirs', ','.join(sort_dirs))]
    args += [(k, _link_value(v)) for k, v in link_filters.items()
             if v is not None]
    query = ''.join('%s=%s&' % kv for kv in args)
    last = items[-1]
    marker = (last[marker_attr] if isinstance(last, dict)
              else getattr(last, marker_attr))
    query += 'limit=%d&marker=%s' % (limit, marker)
    if fields:
        query += '&fields=%s' % ','.join(fields)
    return '%s/v2/%s?%s' % (pecan.request.application_url, key, query)


_DEFAULT = object()


def prepare(spec: Listing, limit: int | None, sort_keys: list[str] | None,
            sort_dirs: list[str] | None, fields: list[str] | None,
            max_limit: Any = _DEFAULT
            ) -> tuple[Any, list[str], list[str], list[str]]:
    """Checked paging arguments. The limit is capped at ``max_limit``
    ([api] max_limit by default); with ``max_limit=None`` it is not, and
    no limit stays None (everything)."""
    sort_keys = list(sort_keys or [spec.default_sort_key])
    sort_dirs = list(sort_dirs or ['asc'])
    fields = list(fields or [])
    if fields and 'id' not in fields:
        fields.insert(0, 'id')
    if max_limit is _DEFAULT:
        max_limit = CONF.api.max_limit
    limit, sort_keys, sort_dirs = listing.validate_paging(
        limit, sort_keys, sort_dirs, max_limit)
    listing.validate_fields(fields, spec.resource._fields)
    return limit, sort_keys, sort_dirs, fields


def get_all(spec: Listing, *, marker: str | None = None,
            limit: int | None = None, sort_keys: list[str] | None = None,
            sort_dirs: list[str] | None = None,
            fields: list[str] | None = None, all_projects: bool = False,
            filters: dict[str, Any] | None = None,
            extra_filters: Sequence[listing.Filter] = (),
            nulls: Sequence[str] = (),
            default_columns: Sequence[str] | None = None) -> Any:
    """One page of ``spec``'s resources as its collection resource.

    ``filters`` hold the raw query values (``op:value`` syntax) keyed by
    column; they are echoed in the next link. ``extra_filters`` are
    applied without being echoed (e.g. the parent id of nested lists).
    """
    limit, sort_keys, sort_dirs, fields = prepare(
        spec, limit, sort_keys, sort_dirs, fields)
    filters = {k: v for k, v in (filters or {}).items() if v is not None}
    insecure = check_all_projects(all_projects, spec.key)
    if fields:
        columns = columns_for(spec, fields)
        link_fields = columns
    else:
        columns = list(default_columns or spec.default_columns)
        link_fields = []
    flts = [listing.parse_filter(k, v) for k, v in filters.items()]
    check_enum_filters(flts, spec.enums)
    flts += list(extra_filters)
    ctx = hooks.current_context()
    # A Core connection, no ORM session: the rows only become dicts.
    with db_api.read_connection() as conn:
        rows = listing.list_rows(
            conn, spec.model, columns=columns, limit=limit,
            sort_keys=sort_keys, sort_dirs=sort_dirs, marker=marker,
            filters=flts, nulls=nulls, project_id=ctx.project_id,
            insecure=insecure)
    if spec.enrich is not None:
        spec.enrich(rows, fields or None)
    wire = spec.resource.wire_from_dict
    to_values = spec.to_values
    items = resources.WireRows(
        wire(to_values(row, fields or None) if to_values else row)
        for row in rows)
    result = spec.collection()
    resources.set_wire_rows(result, spec.key, items)
    link = next_link(spec.key, items, limit, sort_keys, sort_dirs,
                     link_fields, filters)
    if link:
        result.next = link
    return result


def listing_validate_fields(spec: Listing, fields: Sequence[str]) -> None:
    """Single GETs validate ``fields`` like lists do."""
    listing.validate_fields(fields, spec.resource._fields)
