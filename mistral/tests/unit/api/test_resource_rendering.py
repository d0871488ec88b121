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
