"""Policy enforcement for API requests (oslo.policy)."""

from __future__ import annotations

import threading
from typing import Any

from oslo_config import cfg
from oslo_policy import policy

from mistral.context import MistralContext
from mistral import exceptions as exc
from mistral import policies

CONF = cfg.CONF

_enforcer: policy.Enforcer | None = None
_lock = threading.Lock()

FORBIDDEN = 'Operation forbidden (insufficient permissions)'


def get_enforcer(use_conf: bool = True) -> policy.Enforcer:
    """Entry point ``oslo.policy.enforcer: mistral`` (policy tooling)."""
    global _enforcer
    with _lock:
        if _enforcer is None:
            defaults = policies.list_rules()
            rules = None if use_conf else policy.Rules(
                {r.name: r.check for r in defaults})
            enforcer = policy.Enforcer(CONF, rules=rules, use_conf=use_conf)
            enforcer.register_defaults(defaults)
            _enforcer = enforcer
    return _enforcer


def reset() -> None:
    global _enforcer
    with _lock:
        _enforcer = None


def enforce(rule: str, ctx: MistralContext,
            target: dict[str, Any] | None = None) -> None:
    """Raise NotAllowedException (403) unless ``ctx`` may do ``rule``.

    The target defaults to the requester's own project and user: object
    ownership is enforced by the database scoping, as upstream does.
    """
    if target is None:
        target = {'project_id': ctx.project_id, 'user_id': ctx.user_id}
    creds = dict(ctx.to_policy_values())
    creds['is_admin'] = bool(ctx.is_admin)
    try:
        try:
            allowed = get_enforcer().authorize(rule, target, creds)
        except cfg.NotInitializedError:
            # No configuration was parsed (embedded use, unit tests):
            # there is no policy file to read, the defaults apply.
            reset()
            allowed = get_enforcer(use_conf=False).authorize(
                rule, target, creds)
    except policy.PolicyNotRegistered:
        raise exc.MistralError('Unknown policy rule: %s' % rule)
    if not allowed:
        raise exc.NotAllowedException(FORBIDDEN)
