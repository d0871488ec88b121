"""Finding actions: the composition of all action providers.

Providers come from the ``mistral.action.providers`` entry point
(``name = module:ProviderClass``, the class is called with the provider
name), ordered ``legacy`` first, then ``adhoc``, ``dynamic`` and the rest
by name; the first provider that knows a name wins. ``[action_providers]
allowlist/denylist`` (fnmatch patterns over provider names) choose which
are used. When this package's own entry points are not installed (source
tree), the built-in providers are used.

Providers are created once per process and cached; :func:`reset` drops
the cache (tests, configuration reload).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from mistral_lib import actions as ml_actions
from stevedore import extension

from mistral import config
from mistral.actions import legacy

LOG = logging.getLogger(__name__)
CONF = config.CONF

PROVIDERS_NAMESPACE = 'mistral.action.providers'

# Position of well-known providers; others follow, sorted by name.
_ORDER = ('legacy', 'adhoc', 'dynamic')

# Providers of this package, used when its entry points are missing.
BUILTIN_PROVIDERS: dict[str, str] = {
    'legacy': 'mistral.actions.legacy:LegacyActionProvider',
    'adhoc': 'mistral.actions.adhoc:AdHocActionProvider',
    'dynamic': 'mistral.actions.dynamic:DynamicActionProvider',
}

ActionDescriptor = ml_actions.ActionDescriptor

_lock = threading.Lock()
_providers: list[ml_actions.ActionProvider] | None = None


def _import(path: str) -> Any:
    import importlib
    module, _, attr = path.partition(':')
    return getattr(importlib.import_module(module), attr)


def _provider_classes() -> dict[str, Any]:
    mgr = extension.ExtensionManager(
        namespace=PROVIDERS_NAMESPACE, invoke_on_load=False,
        on_load_failure_callback=legacy._log_load_failure)
    classes = {ext.name: ext.plugin for ext in mgr.extensions}
    for name, path in BUILTIN_PROVIDERS.items():
        if name not in classes:
            classes[name] = _import(path)
    return classes


def _sort_key(name: str) -> tuple[int, str]:
    return (_ORDER.index(name) if name in _ORDER else len(_ORDER), name)


def _load() -> list[ml_actions.ActionProvider]:
    conf = CONF.action_providers
    providers = []
    for name, cls in sorted(_provider_classes().items(),
                            key=lambda item: _sort_key(item[0])):
        if not legacy.matches_filters(name, conf.allowlist, conf.denylist):
            LOG.info('Action provider %s is filtered out', name)
            continue
        try:
            providers.append(cls(name))
        except Exception:
            LOG.exception('Cannot create action provider %s', name)
    return providers


def providers() -> list[ml_actions.ActionProvider]:
    """The active providers in lookup order (created on first use)."""
    global _providers
    with _lock:
        if _providers is None:
            _providers = _load()
        return list(_providers)


def reset() -> None:
    """Forget the providers; the next lookup loads them again."""
    global _providers
    with _lock:
        _providers = None


def _kwargs(provider: Any, project_id: str | None) -> dict[str, Any]:
    # mistral-lib's provider interface has no project; ours (ad-hoc) takes
    # it so that a project sees its own and public definitions.
    if project_id is not None and getattr(provider, 'accepts_project_id',
                                          False):
        return {'project_id': project_id}
    return {}


def find(name: str, namespace: str = '',
         project_id: str | None = None) -> ActionDescriptor | None:
    """The descriptor of action ``name`` in ``namespace``, or None.

    System actions ignore the namespace; ad-hoc actions are looked up in
    ``namespace`` and then in the default namespace.
    """
    for provider in providers():
        desc = provider.find(name, namespace=namespace or '',
                             **_kwargs(provider, project_id))
        if desc is not None:
            return desc
    return None


def list_all(namespace: str = '',
             project_id: str | None = None) -> list[ActionDescriptor]:
    """Every action visible in ``namespace``; a name appears once."""
    seen: set[str] = set()
    result = []
    for provider in providers():
        for desc in provider.find_all(namespace=namespace or '',
                                      **_kwargs(provider, project_id)):
            if desc.name not in seen:
                seen.add(desc.name)
                result.append(desc)
    return result
