"""Workflow data: what a task's global publish does to its workflow."""

from __future__ import annotations

from mistral.workflow import data_flow


def test_published_globals_replace_and_accumulate():
    context = {'a': 1, 'b': 2}
    rc = {'backlog': [], 'published_global': {'a': 0, 'z': 9}}
    new_ctx, new_rc = data_flow.with_published_global(
        context, rc, {'a': 10, 'c': 3})
    assert new_ctx == {'a': 10, 'b': 2, 'c': 3}
    assert new_rc == {'backlog': [],
                      'published_global': {'a': 10, 'z': 9, 'c': 3}}
    # New values: the rows' JSON columns are written by assignment.
    assert context == {'a': 1, 'b': 2}
    assert rc['published_global'] == {'a': 0, 'z': 9}


def test_the_first_global_publish():
    assert data_flow.with_published_global(None, None, {'g': 1}) == (
        {'g': 1}, {'published_global': {'g': 1}})
