"""The workflow shapes the harness runs and what a clean run gives.

Every shape takes ``n`` (a small int) and ``ledger`` (the ledger's URL)
and produces an output that depends only on ``n``, so the harness knows the
right answer for every execution without a reference run.

Tasks whose action only computes (``std.echo``, ``std.noop``,
``std.async_noop``) are ``safe-rerun``: an executor killed under them
must not change the outcome. Ledger calls (``std.http``) are not: they
stand for actions with effects, which must never run twice, and which
fail (with the "executor stopped" message) if their executor dies.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

WORKFLOWS = """---
version: '2.0'

chaos_chain:
  input: [n, ledger]
  output:
    result: <% $.c %>
  tasks:
    a:
      action: std.echo output=<% $.n + 1 %>
      safe-rerun: true
      publish:
        a: <% task().result %>
      on-success: b
    b:
      action: std.http
      input:
        url: <% $.ledger + '/call/' + execution().id + '/b' %>
      publish:
        b: <% task().result.content.ok %>
      on-success: c
    c:
      action: std.echo output=<% $.a * 10 %>
      safe-rerun: true
      publish:
        c: <% task().result %>

chaos_fanjoin:
  input: [n, ledger]
  output:
    total: <% $.total %>
    y: <% $.y %>
  tasks:
    start:
      action: std.noop
      safe-rerun: true
      on-success: [x, y, z]
    x:
      action: std.echo output=<% $.n %>
      safe-rerun: true
      publish:
        x: <% task().result %>
      on-success: join
    y:
      action: std.http
      input:
        url: <% $.ledger + '/call/' + execution().id + '/y' %>
      publish:
        y: <% task().result.content.ok %>
      on-success: join
    z:
      action: std.echo output=<% $.n * 3 %>
      safe-rerun: true
      publish:
        z: <% task().result %>
      on-success: join
    join:
      join: all
      action: std.echo output=<% $.x + $.z %>
      safe-rerun: true
      publish:
        total: <% task().result %>

chaos_items:
  input: [n, ledger, k]
  output:
    items: <% $.res %>
  tasks:
    each:
      with-items: i in <% range($.k) %>
      concurrency: 2
      action: std.http
      input:
        url: <% $.ledger + '/call/' + execution().id + '/each/' + str($.i) %>
      publish:
        res: <% task().result.select($.content.ok) %>

chaos_batch:
  input: [n, ledger, k]
  output:
    items: <% $.res %>
    tail: <% $.tail %>
  tasks:
    each:
      with-items: i in <% range($.k) %>
      action: std.http
      input:
        url: <% $.ledger + '/call/' + execution().id + '/batch/' + str($.i) %>
      publish:
        res: <% task().result.select($.content.ok) %>
      on-success: next1
    next1:
      action: std.http
      input:
        url: <% $.ledger + '/call/' + execution().id + '/next1' %>
      on-success: next2
    next2:
      action: std.http
      input:
        url: <% $.ledger + '/call/' + execution().id + '/next2' %>
      publish:
        tail: <% task().result.content.ok %>

chaos_parent:
  input: [n, ledger]
  output:
    sub: <% $.sub %>
    after: <% $.after %>
  tasks:
    call:
      workflow: chaos_chain
      input:
        n: <% $.n %>
        ledger: <% $.ledger %>
      publish:
        sub: <% task().result.result %>
      on-success: after
    after:
      action: std.echo output=<% $.sub + 1 %>
      safe-rerun: true
      publish:
        after: <% task().result %>

chaos_retry:
  input: [n, ledger]
  output:
    r: <% $.r %>
    h: <% $.h %>
  tasks:
    flaky:
      action: std.http
      input:
        url: <% $.ledger + '/flaky/2/' + execution().id + '/flaky' %>
      retry:
        count: 6
        delay: 1
      publish:
        r: <% task().result.content.ok %>
      on-success: doomed
    doomed:
      action: std.fail
      safe-rerun: true
      retry:
        count: 1
        delay: 1
      on-error: handle
    handle:
      action: std.echo output=handled
      safe-rerun: true
      publish:
        h: <% task().result %>

chaos_wait:
  input: [n, ledger]
  output:
    w: <% $.w %>
  tasks:
    w:
      action: std.echo output=<% $.n %>
      safe-rerun: true
      wait-before: 1
      wait-after: 1
      publish:
        w: <% task().result %>

chaos_timeout:
  input: [n, ledger]
  output:
    t: <% $.t %>
  tasks:
    hang:
      action: std.async_noop
      safe-rerun: true
      timeout: 2
      on-error: after
    after:
      action: std.echo output=<% $.n %>
      safe-rerun: true
      publish:
        t: <% task().result %>

chaos_async:
  input: [n, ledger]
  output:
    v: <% $.v %>
    m: <% $.m %>
  tasks:
    ext:
      action: std.async_noop
      safe-rerun: true
      publish:
        v: <% task().result %>
      on-success: cb
    cb:
      action: std.mistral_http
      input:
        url: <% $.ledger + '/async/' + execution().id + '/cb' %>
      publish:
        m: <% task().result.ok %>
"""

# Tasks whose std.async_noop action the harness completes through the API,
# with ``{"v": n}`` as the output.
EXTERNAL_TASKS = {'chaos_async': 'ext'}


@dataclasses.dataclass(frozen=True)
class Shape:
    """One workflow and how to check its executions."""

    workflow: str
    make_input: Callable[[int], dict[str, Any]]
    expected_output: Callable[[int], dict[str, Any]]
    # Ledger keys one execution must hit exactly once (relative to the
    # execution id); children of sub-workflows are checked as their own.
    once_keys: Callable[[dict[str, Any]], list[str]] = lambda _i: []


def _items(n: int) -> int:
    return n % 4 + 2


def _batch(n: int) -> int:
    # 6..25 calls: one run_actions message or two (20 to a message),
    # claimed and answered in batches; then a chain of two calls, each
    # taken by the executor that applied the result before it.
    return n % 20 + 6


SHAPES: list[Shape] = [
    Shape('chaos_chain', lambda n: {'n': n},
          lambda n: {'result': (n + 1) * 10},
          lambda _i: ['call/{id}/b']),
    Shape('chaos_fanjoin', lambda n: {'n': n},
          lambda n: {'total': 4 * n, 'y': 'y'},
          lambda _i: ['call/{id}/y']),
    Shape('chaos_items', lambda n: {'n': n, 'k': _items(n)},
          lambda n: {'items': [str(i) for i in range(_items(n))]},
          lambda i: ['call/{id}/each/%d' % j for j in range(i['k'])]),
    Shape('chaos_batch', lambda n: {'n': n, 'k': _batch(n)},
          lambda n: {'items': [str(i) for i in range(_batch(n))],
                     'tail': 'next2'},
          lambda i: ['call/{id}/batch/%d' % j for j in range(i['k'])]
          + ['call/{id}/next1', 'call/{id}/next2']),
    Shape('chaos_parent', lambda n: {'n': n},
          lambda n: {'sub': (n + 1) * 10, 'after': (n + 1) * 10 + 1}),
    Shape('chaos_retry', lambda n: {'n': n},
          lambda n: {'r': 'flaky', 'h': 'handled'}),
    Shape('chaos_wait', lambda n: {'n': n}, lambda n: {'w': n}),
    Shape('chaos_timeout', lambda n: {'n': n}, lambda n: {'t': n}),
    Shape('chaos_async', lambda n: {'n': n},
          lambda n: {'v': {'v': n}, 'm': 'cb'},
          lambda _i: ['async/{id}/cb']),
]

BY_NAME = {s.workflow: s for s in SHAPES}


def pick(i: int) -> Shape:
    """The shape of the i-th submitted workflow (round robin)."""
    return SHAPES[i % len(SHAPES)]
