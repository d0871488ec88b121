"""A reverse workflow with a cycle of 'requires' is refused when stored or
validated, with a message naming the workflow and the tasks."""

from __future__ import annotations

from typing import Any

CYCLE = """---
version: '2.0'
rev_cycle:
  type: reverse
  tasks:
    a: {action: std.noop, requires: c}
    b: {action: std.noop, requires: a}
    c: {action: std.noop, requires: b}
"""

EXPECTED = ("Invalid DSL (workflow 'rev_cycle'): the 'requires' of tasks "
            "'a', 'c', 'b' form a cycle (a -> c -> b -> a), so none of them "
            "can ever run.")


def test_validate_reports_the_cycle(app: Any) -> None:
    r = app.post('/v2/workflows/validate', CYCLE,
                 headers={'Content-Type': 'text/plain'})
    assert r.json['valid'] is False
    assert EXPECTED in r.json['error']


def test_create_refuses_the_cycle(app: Any) -> None:
    r = app.post('/v2/workflows', CYCLE,
                 headers={'Content-Type': 'text/plain'}, status=400)
    assert EXPECTED in r.json['faultstring']
    assert app.get('/v2/workflows?name=rev_cycle').json['workflows'] == []


def test_workbook_validate_reports_the_cycle(app: Any) -> None:
    wb = ("---\nversion: '2.0'\nname: wbc\nworkflows:\n"
          "  rev:\n    type: reverse\n    tasks:\n"
          "      x: {action: std.noop, requires: y}\n"
          "      y: {action: std.noop, requires: x}\n")
    r = app.post('/v2/workbooks/validate', wb,
                 headers={'Content-Type': 'text/plain'})
    assert r.json['valid'] is False
    assert ("Invalid DSL (workflow 'rev'): the 'requires' of tasks 'x', "
            "'y' form a cycle (x -> y -> x)") in r.json['error']
