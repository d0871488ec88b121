"""The "dynamic" action provider: action classes from stored code sources.

A code source is the text of a Python module (``/v2/code_sources``); a
dynamic action names one class of it (``/v2/dynamic_actions``). The
module text is executed in a fresh module object the first time an
action of that code source version is needed, in the process that needs
it (the executor running the action, the engine checking its input).
Modules are cached by ``(code_source_id, version)``: an update of the
code source bumps the version, so the next lookup loads the new text.

Creating code sources and dynamic actions is admin-only by default, as
the code runs with the privileges of the service.
"""

from __future__ import annotations

import logging
import sys
import threading
import types
from typing import Any

from mistral_lib import actions as ml_actions

from mistral import config
from mistral import exceptions
from mistral.actions import descriptor
from mistral.actions import stored
from mistral.utils import lru

LOG = logging.getLogger(__name__)
CONF = config.CONF

DEFAULT_PROJECT_ID = stored.DEFAULT_PROJECT_ID

# Loaded modules by (code_source_id, version); old versions age out.
_MODULE_CACHE_SIZE = 128

_lock = threading.Lock()
_modules: lru.LRU[types.ModuleType] = lru.LRU(_MODULE_CACHE_SIZE)


def module_name(code_source_id: str, code_source_name: str,
                version: int) -> str:
    """The ``__name__`` of a loaded code source: readable in tracebacks,
    unique per code source (names repeat across projects) and version."""
    safe = ''.join(ch if ch.isalnum() else '_' for ch in code_source_name)
    return 'mistral_code_source_%s_%s_v%d' % (
        safe, code_source_id.replace('-', '')[:12], version)


def cached_module(code_source_id: str, version: int
                  ) -> types.ModuleType | None:
    return _modules.get((code_source_id, version))


def load_module(code_source_id: str, name: str, version: int,
                content: str) -> types.ModuleType:
    """The module built from ``content``, executed once per version."""
    key = (code_source_id, version)
    with _lock:
        module = _modules.get(key)
        if module is not None:
            return module
        module = types.ModuleType(module_name(code_source_id, name,
                                              version))
        module.__file__ = '<code source %s v%d>' % (name, version)
        code = compile(content, module.__file__, 'exec')
        # In sys.modules only while it runs: class creation may look its
        # module up (dataclasses, typing); afterwards the cache owns it,
        # so evicted versions are freed.
        sys.modules[module.__name__] = module
        try:
            exec(code, module.__dict__)  # noqa: S102 (admin-provided code)
        finally:
            sys.modules.pop(module.__name__, None)
        _modules.put(key, module)
        return module


def reset() -> None:
    """Forget the loaded modules (tests)."""
    _modules.clear()


class DynamicActionDescriptor(descriptor.PythonActionDescriptor):
    """A Python action whose class comes from a code source."""

    def __init__(self, row: Any, action_cls: type) -> None:
        super().__init__(row.name, action_cls, namespace=row.namespace,
                         is_system=False)
        self._row = row

    def __repr__(self) -> str:
        return 'DynamicActionDescriptor[name=%s, class=%s]' % (
            self.name, self._row.class_name)

    # What the API shows about the action.
    id = property(lambda self: self._row.id)
    project_id = property(lambda self: self._row.project_id)
    scope = property(lambda self: self._row.scope)
    created_at = property(lambda self: self._row.created_at)
    updated_at = property(lambda self: self._row.updated_at)
    code_source_id = property(lambda self: self._row.code_source_id)


_COLUMNS = ('id', 'name', 'namespace', 'class_name', 'code_source_id',
            'code_source_name', 'project_id', 'scope', 'created_at',
            'updated_at')


class DynamicActionProvider(
        stored.StoredActionProvider[DynamicActionDescriptor]):
    """Dynamic actions stored in the database.

    A name is looked up in the requested namespace, then in the default
    namespace, as ad-hoc actions are. A class that cannot be loaded makes
    the lookup fail with InvalidActionException, so the task fails with
    the reason rather than "action not found".
    """

    skip_broken = True

    def __init__(self, name: str = 'dynamic') -> None:
        super().__init__(name)

    def _rows(self, name: str | None, namespace: str) -> list[Any]:
        import sqlalchemy as sa

        from mistral.db import api as db_api
        from mistral.db import models

        da = models.DynamicActionDefinition
        cs = models.CodeSource
        cols = [getattr(da, c) for c in _COLUMNS]
        # The module text is read only when it is not loaded already.
        query = sa.select(*cols, cs.version,
                          cs.name.label('cs_name')).join(
            cs, cs.id == da.code_source_id).where(da.namespace == namespace)
        if name is not None:
            query = query.where(da.name == name)
        keys = list(_COLUMNS) + ['version', 'cs_name']
        with db_api.read_session() as s:
            return [types.SimpleNamespace(**dict(zip(keys, row, strict=False)))
                    for row in s.execute(query.order_by(da.name))]

    @staticmethod
    def _module(row: Any) -> types.ModuleType:
        module = cached_module(row.code_source_id, row.version)
        if module is not None:
            return module
        import sqlalchemy as sa

        from mistral.db import api as db_api
        from mistral.db import models

        cs = models.CodeSource
        with db_api.read_session() as s:
            found = s.execute(sa.select(cs.content, cs.version).where(
                cs.id == row.code_source_id)).first()
        if found is None:
            raise LookupError('the code source was deleted')
        # Load what is stored now: it may be newer than the row we read.
        return load_module(row.code_source_id, row.cs_name, found.version,
                           found.content)

    def _descriptor(self, row: Any) -> DynamicActionDescriptor:
        try:
            module = self._module(row)
        except Exception as e:
            raise exceptions.InvalidActionException(
                'Failed to load code source %s of dynamic action %s: %s'
                % (row.cs_name, row.name, e)) from e
        cls = getattr(module, row.class_name, None)
        if not isinstance(cls, type) or not issubclass(
                cls, ml_actions.Action):
            raise exceptions.InvalidActionException(
                'Dynamic action %s: %s is not an action class of code '
                'source %s' % (row.name, row.class_name, row.cs_name))
        return DynamicActionDescriptor(row, cls)
