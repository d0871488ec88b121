"""The "legacy" action provider: action classes from entry points.

Sources, in this order (a later duplicate name does not replace an
earlier one):

* the ``mistral.actions`` entry point, where any installed package can
  register ``name = package.module:ActionClass``;
* the built-in standard actions (:data:`mistral.actions.std.BUILTIN_ACTIONS`)
  that are not registered already, so that a source tree or a stale
  editable install still has all of them;
* generators from ``mistral.generators`` (as mistral-extra publishes them):
  callables returning generator objects whose ``create_actions()`` yields
  ``{name, class, description, arg_list}`` and whose
  ``base_action_class`` is instantiated (an empty ``arg_list`` falls back
  to that class's signature).

``[legacy_action_provider]`` options filter what is loaded. Namespaces do
not apply: these actions are visible in every namespace.
"""

from __future__ import annotations

import fnmatch
import logging
from typing import Any, Iterable

from mistral_lib import actions as ml_actions
from mistral_lib.utils import inspect_utils
from stevedore import extension

from mistral import config
from mistral.actions import descriptor

LOG = logging.getLogger(__name__)
CONF = config.CONF

ACTIONS_NAMESPACE = 'mistral.actions'
GENERATORS_NAMESPACE = 'mistral.generators'


def _log_load_failure(manager: Any, entry_point: Any, err: Exception
                      ) -> None:
    # One broken plugin must not hide every other action.
    LOG.error('Cannot load plugin %s: %s', entry_point, err)


def matches_filters(name: str, allowlist: Iterable[str],
                    denylist: Iterable[str]) -> bool:
    """fnmatch filtering: allowlist (if any) first, then the denylist."""
    allowlist, denylist = list(allowlist or []), list(denylist or [])
    if allowlist and not any(fnmatch.fnmatch(name, p) for p in allowlist):
        return False
    return not any(fnmatch.fnmatch(name, p) for p in denylist)


class LegacyActionProvider(ml_actions.ActionProvider):
    """Provides the actions registered through Python entry points."""

    def __init__(self, name: str = 'legacy') -> None:
        super().__init__(name)
        self._descs: dict[str, descriptor.PythonActionDescriptor] = {}
        self._load()

    def _allowed(self, name: str, cls: type) -> bool:
        conf = CONF.legacy_action_provider
        if conf.only_builtin_actions and not (
                cls.__module__ or '').startswith('mistral.'):
            return False
        return matches_filters(name, conf.allowlist, conf.denylist)

    def _add(self, desc: descriptor.PythonActionDescriptor) -> None:
        if desc.name in self._descs:
            return
        if not self._allowed(desc.name, desc.action_cls):
            return
        self._descs[desc.name] = desc

    def _load(self) -> None:
        conf = CONF.legacy_action_provider
        if conf.load_action_plugins:
            self._load_plugins()
        if conf.load_action_generators:
            self._load_generators()

    def _load_plugins(self) -> None:
        mgr = extension.ExtensionManager(
            namespace=ACTIONS_NAMESPACE, invoke_on_load=False,
            on_load_failure_callback=_log_load_failure)
        for ext in sorted(mgr.extensions, key=lambda e: e.name):
            if not isinstance(ext.plugin, type):
                LOG.error('Entry point %s is not a class', ext.entry_point)
                continue
            self._add(descriptor.PythonActionDescriptor(
                ext.name, ext.plugin))
        # The installed entry points of this package may be missing (source
        # tree) or stale (editable install made before an action was
        # added); the built-in table fills the gaps.
        from mistral.actions import std
        for name, cls in std.BUILTIN_ACTIONS.items():
            self._add(descriptor.PythonActionDescriptor(name, cls))

    def _load_generators(self) -> None:
        mgr = extension.ExtensionManager(
            namespace=GENERATORS_NAMESPACE, invoke_on_load=True,
            on_load_failure_callback=_log_load_failure)
        for ext in mgr.extensions:
            for gen in ext.obj or []:
                try:
                    self._add_generated(gen)
                except Exception as e:
                    LOG.error('Action generator %s failed: %s', gen, e)

    def _add_generated(self, gen: Any) -> None:
        for action in gen.create_actions():
            self._add(descriptor.PythonActionDescriptor(
                action['name'], gen.base_action_class,
                action_cls_attrs=inspect_utils.get_public_fields(
                    action['class']),
                description=action.get('description'),
                # An empty argument list means the generator could not
                # tell (e.g. mistral-extra's keystone.trusts_update): as
                # upstream, the class's own signature decides then.
                params_spec=action.get('arg_list') or None))

    def find(self, action_name: str, namespace: str | None = None
             ) -> descriptor.PythonActionDescriptor | None:
        return self._descs.get(action_name)

    def find_all(self, namespace: str | None = None,
                 limit: int | None = None,
                 sort_fields: list[str] | None = None,
                 sort_dirs: list[str] | None = None,
                 filters: dict[str, Any] | None = None,
                 **kwargs: Any) -> list[descriptor.PythonActionDescriptor]:
        return [self._descs[n] for n in sorted(self._descs)]
