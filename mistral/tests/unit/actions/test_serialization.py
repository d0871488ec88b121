"""Standard actions cross RPC through mistral-lib's serializer intact."""

from __future__ import annotations

import json

import pytest
from mistral_lib import serialization

from mistral.actions import runner
from mistral.actions import std


@pytest.mark.parametrize('action,expected', [
    (std.EchoAction({'k': [1]}, delay='0'), {'data': {'k': [1]}}),
    (std.TestDictAction(2, 'p', 'v'), {'data': {'p0': 'v', 'p1': 'v'}}),
    (std.NoOpAction(), {'data': None}),
    (std.FailAction({'e': 1}), {'error': {'e': 1}}),
    (std.JavaScriptAction('return $ * 2', 21), {'data': 42}),
])
def test_round_trip(action, expected, ctx):
    poly = serialization.get_polymorphic_serializer()
    wire = poly.serialize(action)
    json.loads(wire)  # plain JSON text
    clone = poly.deserialize(wire)
    assert type(clone).__name__ == type(action).__name__
    assert runner.run(clone, None, ctx) == expected


@pytest.mark.parametrize('action', [
    std.HTTPAction('http://h/', body={'a': 1}, auth='u:p', headers={'n': 1}),
    std.SSHAction('ls', ['h1', 'h2'], 'u', private_key='k'),
    std.SSHProxiedAction('ls', 'h', 'u', None, 'gw'),
    std.SendEmailAction('a@b', ['c@d'], 'smtp:25', html_body='<b/>'),
])
def test_network_actions_serialise(action):
    poly = serialization.get_polymorphic_serializer()
    clone = poly.deserialize(poly.serialize(action))
    assert json.loads(json.dumps(vars(clone))) == json.loads(
        json.dumps(vars(action)))
