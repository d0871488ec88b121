"""Resources render to JSON as WSME's generic path would."""

from __future__ import annotations

import datetime
import inspect
import json

from wsme import types as wtypes
from wsme.rest import json as wsme_json

from mistral.api.controllers.v2 import resources


def _resource_classes():
    return [c for _, c in inspect.getmembers(resources, inspect.isclass)
            if issubclass(c, resources.Resource)]


def test_no_resource_attribute_has_a_default():
    # The fast renderer reads WSME's slots directly: a declared default
    # would be missed.
    for cls in _resource_classes():
        for attr in wtypes.list_attributes(cls):
            assert attr.default is wtypes.Unset, (cls, attr.key)


def test_execution_renders_like_wsme():
    ex = resources.Execution.from_dict({
        'id': 'e1', 'workflow_name': 'wf', 'state': 'SUCCESS',
        'tags': ['a', 'b'], 'input': {'x': 1}, 'output': None,
        'params': {'env': {}}, 'created_at': datetime.datetime(
            2026, 1, 2, 3, 4, 5), 'not_a_field': 1})
    got = wsme_json.tojson(resources.Execution, ex)
    assert got == {
        'id': 'e1', 'workflow_name': 'wf', 'state': 'SUCCESS',
        'tags': ['a', 'b'], 'input': json.dumps({'x': 1}), 'output': None,
        'params': json.dumps({'env': {}}),
        'created_at': '2026-01-02 03:04:05'}
    # Attribute order, as WSME lists them.
    assert list(got) == ['id', 'workflow_name', 'tags', 'params', 'state',
                         'input', 'output', 'created_at']


def test_unset_and_nested_values():
    versions = resources.APIVersions.from_dict({})
    versions.versions = [resources.APIVersion.from_dict({
        'id': 'v2.0', 'status': 'CURRENT'})]
    versions.versions[0].links = [resources.Link.from_dict({
        'href': 'http://x/v2', 'rel': 'self'})]
    assert wsme_json.tojson(resources.APIVersions, versions) == {
        'versions': [{'id': 'v2.0', 'status': 'CURRENT', 'links': [
            {'href': 'http://x/v2', 'rel': 'self'}]}]}
    empty = resources.Execution()
    assert wsme_json.tojson(resources.Execution, empty) == {}


def _sample_values(cls: type) -> list[dict]:
    """Rows of every resource: usual values, None, timestamps, unset and
    values of unusual types (which take WSME's path)."""
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 123456)
    usual, nones, odd = {}, {}, {}
    for attr in wtypes.list_attributes(cls):
        key, dt = attr.key, attr.datatype
        nones[key] = None
        if dt is wtypes.text:
            usual[key] = when if key.endswith('_at') else 'v-' + key
            odd[key] = wtypes.Unset
        elif dt is bool:
            usual[key] = True
            odd[key] = False
        elif dt is int:
            usual[key] = 3
            odd[key] = 0
        elif dt is float:
            usual[key] = 1.5
            odd[key] = 2
        elif isinstance(dt, wtypes.ArrayType) and dt.item_type is wtypes.text:
            usual[key] = ['a', 'b']
            odd[key] = ('c',)
        elif getattr(dt, 'name', None) == 'json':
            usual[key] = {'k': [1, 'x', None], 'n': 'é'}
            odd[key] = 'text'
    return [usual, nones, odd, {'id': 'only-id', 'unknown': 1}, {}]


def test_wire_from_dict_is_what_rendering_gives():
    # List pages are built with wire_from_dict instead of resource
    # objects: the JSON must be the same, key order included.
    checked = 0
    for cls in _resource_classes():
        for values in _sample_values(cls):
            try:
                expected = wsme_json.tojson(cls, cls.from_dict(values))
            except Exception:  # WSME refuses the value: not a list row
                continue
            got = cls.wire_from_dict(values)
            assert json.dumps(got) == json.dumps(expected), (cls, values)
            checked += 1
    assert checked > 3 * len(_resource_classes())


def test_wire_rows_render_as_they_are():
    rows = resources.WireRows([resources.Execution.wire_from_dict(
        {'id': 'e1', 'input': {'a': 1}})])
    page = resources.Executions()
    resources.set_wire_rows(page, 'executions', rows)
    page.next = 'http://x/next'
    assert wsme_json.tojson(resources.Executions, page) == {
        'next': 'http://x/next',
        'executions': [{'id': 'e1', 'input': '{"a": 1}'}]}
