"""Hostile workflows inside a running engine: an expression that loops
for ever and a with-items list over the limit fail their task with a
message naming the limit, and the engine goes on serving other work.

The looping expression runs on the threaded engine (the interrupted
engine thread must serve the next request); the with-items limit on the
deterministic harness."""

from __future__ import annotations

from typing import Any

from mistral.tests.functional.engine import deterministic

det_env = deterministic.det_env

WFS = """---
version: '2.0'
hostile_loop:
  tasks:
    spin:
      action: std.noop
      publish:
        total: <% sequence().sum() %>
hostile_items:
  input:
    - xs
  tasks:
    each:
      with-items: x in <% $.xs %>
      action: std.echo output=<% $.x %>
hostile_ok:
  tasks:
    fine:
      action: std.echo output=done
      publish:
        out: <% task().result %>
  output:
    out: <% $.out %>
"""

def _setup(env: Any) -> None:
    # Once per database (each environment has its own).
    if not getattr(env, 'hostile_created', False):
        env.create_workflows(WFS, namespace='hostile')
        env.hostile_created = True


def test_looping_expression_fails_its_task(engine_env: Any,
                                           conf: Any) -> None:
    _setup(engine_env)
    conf('expression_timeout', 1.0, group='limits')
    ex = engine_env.start('hostile_loop', wf_namespace='hostile')
    wf = engine_env.wait(ex['id'], timeout=120)
    assert wf.state == 'ERROR'
    assert 'expression_timeout' in wf.state_info
    # The engine thread that was interrupted serves the next workflow.
    for _ in range(3):
        ok = engine_env.start('hostile_ok', wf_namespace='hostile')
        done = engine_env.wait(ok['id'], timeout=120)
        assert done.state == 'SUCCESS', done.state_info
        assert done.output == {'out': 'done'}


def test_with_items_over_the_limit_fails_its_task(det_env: Any,
                                                  conf: Any) -> None:
    engine_env = det_env
    _setup(engine_env)
    conf('max_with_items_length', 5, group='limits')
    ex = engine_env.start('hostile_items', {'xs': list(range(6))},
                          wf_namespace='hostile')
    wf = engine_env.wait(ex['id'], timeout=120)
    assert wf.state == 'ERROR'
    assert 'max_with_items_length' in wf.state_info
    assert engine_env.actions(engine_env.tasks(ex['id'])[0].id) == []
    ex = engine_env.start('hostile_items', {'xs': list(range(5))},
                          wf_namespace='hostile')
    wf = engine_env.wait(ex['id'], timeout=120)
    assert wf.state == 'SUCCESS', wf.state_info
