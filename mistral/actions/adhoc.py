"""Ad-hoc actions: a base action with preset input and an output transform.

An ad-hoc action is defined in YAML (``base``, ``base-input``, ``input``,
``output``) and stored in ``action_definitions_v2``. Running it means:

1. fill in the defaults of its ``input``;
2. evaluate ``base-input`` with the ad-hoc input (plus the workflow context,
   when the caller has it) as the expression context;
3. repeat for the base if it is itself ad-hoc (chains are allowed, cycles
   are rejected), then instantiate the final, non-ad-hoc action;
4. after the run, evaluate each ``output`` over the result data (``$``),
   innermost first. :func:`mistral.actions.runner.run` does this through
   :meth:`AdHocActionDescriptor.post_process_result` for synchronous
   actions; for asynchronous ones the engine calls it when the result
   arrives through the API.
"""

from __future__ import annotations

import collections
import copy
import logging
import types
from typing import Any, Callable

from mistral_lib import actions as ml_actions
from mistral_lib import serialization

from mistral import config
from mistral import exceptions
from mistral.actions import descriptor
from mistral.actions import stored
from mistral.utils import lru

LOG = logging.getLogger(__name__)
CONF = config.CONF

DEFAULT_PROJECT_ID = stored.DEFAULT_PROJECT_ID


class AdHocAction(ml_actions.Action):
    """Runs the base action of an ad-hoc action (output is applied later)."""

    def __init__(self, base_action: ml_actions.Action,
                 name: str | None = None) -> None:
        super().__init__()
        self.base_action = base_action
        self.name = name

    def __repr__(self) -> str:
        return 'AdHocAction[name=%s, base=%r]' % (self.name, self.base_action)

    def run(self, context: Any) -> Any:
        result = self.base_action.run(context)
        return None if not self.is_sync() else result

    def is_sync(self) -> bool:
        return self.base_action.is_sync()

    @classmethod
    def get_serialization_key(cls) -> str:
        return '%s.%s' % (AdHocAction.__module__, AdHocAction.__name__)


class _AdHocActionSerializer(serialization.DictBasedSerializer):
    # The generic action serializer keeps vars() as JSON, which cannot
    # hold the wrapped action object; nest its serialized form instead.
    def serialize_to_dict(self, entity: AdHocAction) -> dict[str, Any]:
        poly = serialization.get_polymorphic_serializer()
        return {'base_action': poly.serialize(entity.base_action),
                'name': entity.name}

    def deserialize_from_dict(self, data: dict[str, Any]) -> AdHocAction:
        poly = serialization.get_polymorphic_serializer()
        return AdHocAction(poly.deserialize(data['base_action']),
                           name=data.get('name'))


serialization.register_serializer(AdHocAction, _AdHocActionSerializer())


Lookup = Callable[[str, str], Any]


def _evaluate(data: Any, context: Any) -> Any:
    from mistral import expressions
    return expressions.evaluate_recursively(data, context)


class AdHocActionDescriptor(ml_actions.ActionDescriptor):
    """Describes one ad-hoc action built from an ``ActionSpec``.

    ``lookup(name, namespace)`` finds base actions; by default it is the
    registry (every provider, the same project).
    """

    is_system = False
    action_class = '%s.%s' % (AdHocAction.__module__, AdHocAction.__name__)

    def __init__(self, spec: Any, namespace: str = '',
                 project_id: str | None = None, scope: str = 'private',
                 row: Any = None, lookup: Lookup | None = None,
                 name: str | None = None) -> None:
        self.spec = spec
        self._name = name or spec.name
        self._namespace = namespace or ''
        self._project_id = project_id
        self._scope = scope
        self._row = row
        self._lookup = lookup

    def __repr__(self) -> str:
        return 'AdHocActionDescriptor[name=%s, base=%s]' % (
            self.name, self.spec.base)

    # Descriptor attributes (mistral-lib interface plus what the API shows).
    name = property(lambda self: self._name)
    namespace = property(lambda self: self._namespace)
    project_id = property(lambda self: self._project_id)
    scope = property(lambda self: self._scope)
    action_class_name = property(lambda self: self.action_class)
    action_class_attributes = property(lambda self: None)

    @property
    def description(self) -> str | None:
        return self.spec.description

    @property
    def params_spec(self) -> str:
        return self.spec.input_string

    @property
    def definition(self) -> str:
        return self.spec.definition

    @property
    def tags(self) -> list[str]:
        return self.spec.tags

    def __getattr__(self, item: str) -> Any:
        # id, created_at, updated_at, workbook_name come from the row.
        row = self.__dict__.get('_row')
        if row is not None and item in ('id', 'created_at', 'updated_at',
                                        'workbook_name'):
            return getattr(row, item)
        raise AttributeError(item)

    def _find_base(self, name: str) -> Any:
        if self._lookup is not None:
            return self._lookup(name, self._namespace)
        from mistral.actions import registry
        return registry.find(name, self._namespace,
                             project_id=self._project_id)

    def chain(self) -> list[Any]:
        """[self, base, base of base, ...], ending with a non-ad-hoc one."""
        result: list[Any] = [self]
        seen = {self.name}
        current: Any = self
        while isinstance(current, AdHocActionDescriptor):
            base_name = current.spec.base
            if base_name in seen:
                raise exceptions.InvalidActionException(
                    'Ad-hoc action chain has a cycle [action=%s, repeated '
                    'base=%s]' % (self.name, base_name))
            seen.add(base_name)
            base = current._find_base(base_name)
            if base is None:
                raise exceptions.InvalidActionException(
                    'Failed to find base action [action_name=%s '
                    'namespace=%s]' % (base_name, self._namespace))
            result.append(base)
            current = base
        return result

    def check_parameters(self, params: dict[str, Any] | None) -> None:
        expected = {n: True for n in self.spec.required_input}
        expected.update((n, False) for n in self.spec.input_defaults)
        descriptor.check_params(self.name, self.action_class, expected,
                                params)

    def instantiate(self, params: dict[str, Any] | None,
                    wf_ctx: dict[str, Any] | None) -> AdHocAction:
        chain = self.chain()
        values = dict(params or {})
        for desc in chain[:-1]:
            for key, default in desc.spec.input_defaults.items():
                if key not in values:
                    # A copy: the spec is shared (see parsed_spec) and an
                    # action may change its input.
                    values[key] = copy.deepcopy(default)
            # The action's own input shadows the workflow context.
            ctx = collections.ChainMap(values, dict(wf_ctx or {}))
            values = _evaluate(desc.spec.base_input, ctx) or {}
        return AdHocAction(chain[-1].instantiate(values, wf_ctx),
                           name=self.name)

    def post_process_result(self, result: Any) -> Any:
        """Apply the ``output`` transforms to a successful result.

        Accepts a mistral-lib ``Result`` or a runner dict
        (``{'data': ...}``) and returns the same kind.
        """
        as_dict = isinstance(result, dict)
        res = (ml_actions.Result(data=result.get('data'),
                                 error=result.get('error'),
                                 cancel=bool(result.get('cancel')))
               if as_dict else result)
        if res is None or not res.is_success():
            return result
        data = res.data
        for desc in reversed(self.chain()[:-1]):
            if desc.spec.output is not None:
                data = _evaluate(desc.spec.output, data)
        return {'data': data} if as_dict else ml_actions.Result(data=data)


# Parsed specs of ad-hoc definitions, so that resolving an action again
# (each with-items element, each run on an executor) does not parse its
# spec again. The key holds what identifies one version of a definition:
# its id (a definition deleted and created again has a new one), its
# updated_at and its text (the spec is parsed from that text, so any
# change of the spec changes it, even within the timestamp's precision).
# A deleted definition is not found any more, so its entry is never
# used again and ages out.
_specs: lru.LRU[Any] = lru.LRU(512)


def parsed_spec(row: Any) -> Any:
    """The ActionSpec of a stored ad-hoc definition (``row``: its id,
    updated_at, definition and spec columns)."""
    key = (row.id, row.updated_at, row.definition)
    spec = _specs.get(key)
    if spec is None:
        from mistral.lang import parser
        spec = parser.action_spec_from_dict(row.spec)
        _specs.put(key, spec)
    return spec


def clear_cache() -> None:
    """Forget the parsed specs (tests)."""
    _specs.clear()


_COLUMNS = ('id', 'name', 'namespace', 'project_id', 'scope', 'spec',
            'definition', 'tags', 'description', 'input', 'workbook_name',
            'created_at', 'updated_at')


class AdHocActionProvider(
        stored.StoredActionProvider[AdHocActionDescriptor]):
    """Ad-hoc actions stored in the database.

    A name is looked up in the requested namespace, then in the default
    namespace. Without a configured database there are no ad-hoc actions.
    """

    def __init__(self, name: str = 'adhoc') -> None:
        super().__init__(name)

    def _descriptor(self, row: Any) -> AdHocActionDescriptor:
        return AdHocActionDescriptor(
            parsed_spec(row), namespace=row.namespace,
            project_id=row.project_id, scope=row.scope, row=row,
            name=row.name)

    def _rows(self, name: str | None, namespace: str) -> list[Any]:
        import sqlalchemy as sa

        from mistral.db import api as db_api
        from mistral.db import models

        ad = models.ActionDefinition
        query = sa.select(ad).where(ad.namespace == namespace)
        if name is not None:
            query = query.where(ad.name == name)
        with db_api.read_session() as s:
            # Copy the columns out: rows expire when the session ends.
            return [types.SimpleNamespace(**{
                c: getattr(row, c) for c in _COLUMNS})
                for row in s.execute(query.order_by(ad.name)).scalars()]
