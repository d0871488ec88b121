"""Calls a service makes into another without importing it.

The process's start (:mod:`mistral.service.handoffs`) registers them; a
hook nobody registered is skipped, as a best-effort wake-up may be.

Names in use:

* ``wake_schedulers(due_at)``: a delayed outbox row falls due soon;
* ``wake_notifiers()``: notification deliveries were committed;
* ``run_action_sync(ctx, action_name, action_input, namespace,
  action_timeout, target)``: run an action on an executor and wait for its
  result (ad-hoc actions with ``run_sync``).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

_hooks: dict[str, Callable[..., Any]] = {}
_lock = threading.Lock()


def register(name: str, fn: Callable[..., Any] | None
             ) -> Callable[..., Any] | None:
    """Make ``fn`` the hook ``name`` (None: remove it); returns the one
    it replaces, so that a test can put it back."""
    with _lock:
        previous = _hooks.pop(name, None)
        if fn is not None:
            _hooks[name] = fn
    return previous


def get(name: str) -> Callable[..., Any] | None:
    return _hooks.get(name)


def require(name: str) -> Callable[..., Any]:
    """The hook ``name``; RuntimeError when this process never wired it
    (a call that cannot be skipped)."""
    fn = _hooks.get(name)
    if fn is None:
        raise RuntimeError('No %s hook in this process (see '
                           'mistral.service.handoffs.wire)' % name)
    return fn


def call(name: str, *args: Any, **kwargs: Any) -> bool:
    """Call the hook ``name`` if registered; False when there is none."""
    fn = _hooks.get(name)
    if fn is None:
        return False
    fn(*args, **kwargs)
    return True
