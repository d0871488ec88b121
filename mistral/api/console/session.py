"""Who the console's user is and what the policy lets them do.

The console hides the buttons of operations the API would refuse (a reader
sees no "Delete"). To decide, it asks ``GET /ui/api/session``, answered
behind the same authentication middleware as ``/v2`` with the same request
context and the same oslo.policy enforcer: the answer is the API's own
decision for every rule, not a guess from role names. The API still checks
every request; this only spares the user buttons that cannot work.
"""

from __future__ import annotations

from typing import Any, Mapping

from oslo_config import cfg

from mistral import context as mistral_context
from mistral import exceptions as exc
from mistral import policies
from mistral.api import access
from mistral.api import hooks

CONF = cfg.CONF


class Unauthenticated(Exception):
    pass


def request_context(headers: Mapping[str, str]
                    ) -> mistral_context.MistralContext:
    """The context ``/v2`` would build for a request with ``headers``.

    Raises :class:`Unauthenticated` (with the API's message) when
    authentication is on and the middleware did not confirm the token.
    """
    if not CONF.pecan.auth_enable:
        return hooks.anonymous_context()
    if (headers.get('X-Identity-Status') != 'Confirmed'
            and headers.get('X-Service-Identity-Status') != 'Confirmed'):
        if headers.get('X-Auth-Token'):
            raise Unauthenticated('Auth token is invalid.')
        raise Unauthenticated('Authentication required.')
    return hooks.context_from_headers(headers)


def rule_names() -> list[str]:
    """Every operation rule (``resource:operation``) of the policy."""
    return sorted(r.name for r in policies.list_rules() if ':' in r.name)


def permissions(ctx: mistral_context.MistralContext) -> dict[str, bool]:
    """``{rule: allowed}`` for the caller, in its own project."""
    allowed = {}
    for name in rule_names():
        try:
            access.enforce(name, ctx)
            allowed[name] = True
        except exc.NotAllowedException:
            allowed[name] = False
    return allowed


def describe(ctx: mistral_context.MistralContext,
             headers: Mapping[str, str]) -> dict[str, Any]:
    """The body of ``GET /ui/api/session``."""
    auth = bool(CONF.pecan.auth_enable)
    return {
        'auth_enabled': auth,
        'auth_type': CONF.auth_type if auth else None,
        'user': {'id': ctx.user_id,
                 'name': headers.get('X-User-Name') or ctx.user_name},
        'project': {'id': ctx.project_id,
                    'name': headers.get('X-Project-Name')
                    or ctx.project_name},
        'roles': sorted(ctx.roles or []),
        'is_admin': bool(ctx.is_admin),
        'permissions': permissions(ctx),
    }
