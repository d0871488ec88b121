"""json_codec gives what json.dumps/json.loads give with the same options."""

from __future__ import annotations

import datetime
import json
import math

import pytest

from mistral.utils import json_codec

VALUES = [
    {}, [], '', 'plain', 'é ünïcode ✓ \u2028 "quoted" \\ back', 0, -3, 2 ** 70,
    1.5, 1e-7, 3.0, True, False, None,
    {'n': 12, 'env': {}, 'namespace': ''},
    {'a': [1, 'x', None, {'b': [True, 2.5]}], 'z': {'y': {'x': []}}},
    {1: 'int key', 2.5: 'float key', False: 'bool key', None: 'none key'},
    ('tuple', 'becomes', 'list'),
    [float('inf'), float('-inf')],
]


@pytest.mark.parametrize('value', VALUES)
def test_dumps_like_json_dumps(value):
    assert json_codec.dumps(value) == json.dumps(value)
    assert json_codec.dumps_compact(value) == json.dumps(
        value, separators=(',', ':'), default=str)


def test_nan_like_json():
    assert json_codec.dumps(float('nan')) == json.dumps(float('nan'))
    assert math.isnan(json_codec.loads('NaN'))


def test_unserialisable_values():
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    with pytest.raises(TypeError):
        json_codec.dumps({'at': when})
    assert json_codec.dumps_compact({'at': when}) == json.dumps(
        {'at': when}, separators=(',', ':'), default=str)


@pytest.mark.parametrize('value', VALUES[:-3])
def test_loads_like_json_loads(value):
    for text in (json.dumps(value), json.dumps(value, separators=(',', ':')),
                 '  %s\n' % json.dumps(value)):
        assert json_codec.loads(text) == json.loads(text)


@pytest.mark.parametrize('text', ['', '{', '{"a": 1} x', '[1,]', 'nul',
                                  '"unterminated'])
def test_loads_errors_like_json_loads(text):
    with pytest.raises(json.JSONDecodeError) as ours:
        json_codec.loads(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert str(ours.value) == str(theirs.value)


def test_loads_bytes():
    assert json_codec.loads(b'{"a": [1]}') == {'a': [1]}
