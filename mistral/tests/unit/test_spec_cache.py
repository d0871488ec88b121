"""Parsed workflow specs are shared by executions of the same spec."""

import types

import pytest

from mistral.engine import spec_cache
from mistral.lang import parser

SPEC = {'name': 'wf', 'version': '2.0', 'type': 'direct',
        'tasks': {'a': {'name': 'a', 'type': 'direct',
                        'action': 'std.noop', 'version': '2.0'}}}


@pytest.fixture
def parses(monkeypatch):
    spec_cache.clear()
    calls = []
    real = parser.workflow_spec_from_dict

    def counting(data):
        calls.append(data)
        return real(data)

    monkeypatch.setattr(parser, 'workflow_spec_from_dict', counting)
    yield calls
    spec_cache.clear()


def _ex(ex_id, spec, workflow_id='wf-1'):
    return types.SimpleNamespace(id=ex_id, spec=spec,
                                 workflow_id=workflow_id)


def test_executions_of_one_definition_share_a_parse(parses):
    first = spec_cache.workflow_spec(_ex('e1', SPEC))
    assert spec_cache.known('e1') and not spec_cache.known('e2')
    # Equal, not identical: as loaded from another row.
    second = spec_cache.workflow_spec(_ex('e2', dict(SPEC)))
    assert second is first
    assert len(parses) == 1
    assert spec_cache.workflow_spec(_ex('e1', None)) is first


def test_a_changed_definition_is_parsed_again(parses):
    first = spec_cache.workflow_spec(_ex('e1', SPEC))
    changed = dict(SPEC, description='v2')
    second = spec_cache.workflow_spec(_ex('e2', changed))
    assert second is not first
    assert second.to_dict()['description'] == 'v2'
    # The execution started before the change keeps its own spec.
    assert spec_cache.workflow_spec(_ex('e1', None)) is first
    # No workflow id (an ad-hoc spec): parsed for itself.
    third = spec_cache.workflow_spec(_ex('e3', SPEC, workflow_id=None))
    assert third is not first
    assert len(parses) == 3
