"""Request context: who is asking, carried from the API through RPC.

The context is passed explicitly (API -> RPC -> engine -> executor); there is
no thread-local context in the engine. It serialises to a plain dict for
RPC and for storage in delayed messages.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from oslo_context import context as oslo_context

DEFAULT_PROJECT_ID = '<default-project>'

# Extra attributes on top of oslo.context's, as upstream sends them.
_EXTRA_KEYS = ('auth_uri', 'auth_cacert', 'insecure', 'service_catalog',
               'region_name', 'is_trust_scoped', 'redelivered', 'expires_at',
               'trust_id', 'is_target', 'root_execution_id', 'user_name',
               'project_name')


class MistralContext(oslo_context.RequestContext):
    def __init__(self, auth_uri: str | None = None,
                 auth_cacert: str | None = None, insecure: bool = False,
                 service_catalog: Any = None, region_name: str | None = None,
                 is_trust_scoped: bool = False, redelivered: bool = False,
                 expires_at: str | None = None, trust_id: str | None = None,
                 is_target: bool = False, root_execution_id: str | None = None,
                 **kwargs: Any) -> None:
        self.auth_uri = auth_uri
        self.auth_cacert = auth_cacert
        self.insecure = insecure
        self.service_catalog = service_catalog
        self.region_name = region_name
        self.is_trust_scoped = is_trust_scoped
        self.redelivered = redelivered
        self.expires_at = expires_at
        self.trust_id = trust_id
        self.is_target = is_target
        self.root_execution_id = root_execution_id
        # Without authentication every request acts for the default project.
        kwargs.setdefault('project_id', DEFAULT_PROJECT_ID)
        super().__init__(**kwargs)

    @property
    def project_name(self) -> str | None:
        return self.project_name_

    @project_name.setter
    def project_name(self, value: str | None) -> None:
        self.project_name_ = value

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        for key in _EXTRA_KEYS:
            data[key] = getattr(self, key, None)
        data['auth_token'] = self.auth_token
        data['roles'] = list(self.roles or [])
        data['is_admin'] = self.is_admin
        return data

    @classmethod
    def from_dict(cls, values: dict[str, Any], **kwargs: Any
                  ) -> 'MistralContext':
        values = dict(values or {})
        kw: dict[str, Any] = {}
        for key in _EXTRA_KEYS:
            if key in values and key not in ('user_name', 'project_name'):
                kw[key] = values[key]
        for key in ('auth_token', 'user_id', 'project_id', 'domain_id',
                    'user_domain_id', 'project_domain_id', 'is_admin',
                    'read_only', 'show_deleted', 'request_id',
                    'global_request_id', 'resource_uuid', 'roles',
                    'user_name', 'project_name', 'system_scope'):
            if key in values:
                kw[key] = values[key]
        if 'user' in values and 'user_id' not in kw:
            kw['user_id'] = values['user']
        if 'project_id' not in kw and values.get('tenant'):
            kw['project_id'] = values['tenant']
        kw.update(kwargs)
        return cls(**kw)


# The caller's request context as the RPC endpoints (engine, executor)
# receive it: the MistralContext itself when the call stays in the
# process (API, tests, an executor applying results locally) or its
# to_dict() form when it came through a message. Whoever reads it goes
# through to_dict() or dict() (see mistral.engine.engine._ctx_dict).
RequestContext: TypeAlias = MistralContext | dict[str, Any]


def admin_context() -> MistralContext:
    """A context for the service's own work (cron, recovery)."""
    return MistralContext(is_admin=True, roles=['admin'])


def default_context() -> MistralContext:
    """The context of a request when authentication is off."""
    return MistralContext(project_id=DEFAULT_PROJECT_ID, is_admin=False)
