"""Policy enforcement for API requests (oslo.policy)."""

from __future__ import annotations

import threading
import time
from typing import Any

from oslo_config import cfg
from oslo_policy import policy

from mistral import exceptions as exc
from mistral import policies
from mistral.context import MistralContext

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
    _decisions.clear()


# Recent decisions by (rule, target, credentials). oslo.policy re-reads the
# policy file's state (stat calls, option lookups) and introspects every
# check's signature on each authorize(), which made up a quarter of a
# POST /executions. A decision is kept for DECISION_TTL seconds, so an
# edited policy file takes effect within that time (oslo.policy itself
# notices it on the next request).
DECISION_TTL = 1.0
_decisions: dict[Any, tuple[float, bool]] = {}
_MAX_DECISIONS = 4096


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(sorted(_frozen(v) for v in value))
    hash(value)  # TypeError for anything else unhashable
    return value


def _authorize(rule: str, target: dict[str, Any],
               creds: dict[str, Any]) -> bool:
    try:
        key = (rule, _frozen(target), _frozen(creds))
    except TypeError:
        key = None
    now = time.monotonic()
    if key is not None:
        hit = _decisions.get(key)
        if hit is not None and now - hit[0] < DECISION_TTL:
            return hit[1]
    try:
        allowed = bool(get_enforcer().authorize(rule, target, creds))
    except cfg.NotInitializedError:
        # No configuration was parsed (embedded use, unit tests): there
        # is no policy file to read, the defaults apply.
        reset()
        allowed = bool(get_enforcer(use_conf=False).authorize(
            rule, target, creds))
    if key is not None:
        if len(_decisions) >= _MAX_DECISIONS:
            _decisions.clear()
        _decisions[key] = (now, allowed)
    return allowed


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
        allowed = _authorize(rule, target, creds)
    except policy.PolicyNotRegistered:
        raise exc.MistralError('Unknown policy rule: %s' % rule) from None
    if not allowed:
        raise exc.NotAllowedException(FORBIDDEN)
