"""REST resources of API v2 (WSME types) and their DB conversions."""

from __future__ import annotations

import datetime
from typing import Any, Iterable

from wsme import types as wtypes
from wsme.rest import json as wsme_json

from mistral.api import xml_answers
from mistral.api.controllers.v2.types import jsontype
from mistral.utils import timeutils


class Resource(wtypes.Base):
    """Base resource: unset attributes are left out of responses."""

    # Wire names in the order upstream lists them in messages.
    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._renderer = _JsonRenderer()
        wsme_json.tojson.when_object(cls)(cls._renderer)
        # List rows are JSON-form dicts (WireRows): XML takes them too.
        xml_answers.register(cls)

    def __setattr__(self, name: str, value: Any) -> None:
        # Any change after from_dict() makes its record of the attributes
        # it set stale: the renderer then looks at every attribute.
        self.__dict__.pop('_wire_keys', None)
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        self.__dict__.pop('_wire_keys', None)
        super().__delattr__(name)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> 'Resource':
        obj = cls()
        plain = _plain_attributes(cls)
        holder = None
        keys = set()
        for key, val in values.items():
            if key in cls._fields:
                keys.add(key)
                if isinstance(val, datetime.datetime):
                    val = timeutils.to_wire(val)
                if key in plain and type(val) in plain[key]:
                    # Already of the attribute's type: WSME's per-value
                    # validation (a third of a list request's time) would
                    # change nothing, so store it where WSME keeps it.
                    if holder is None:
                        holder = obj._wsme_DataHolderClass()
                        obj._wsme_dataholder = holder
                    setattr(holder, key, val)
                else:
                    setattr(obj, key, val)
                    if val is wtypes.Unset:
                        keys.discard(key)
        # Which attributes are set, so rendering a row does not probe the
        # unset ones (each probe of an empty slot raises AttributeError
        # inside getattr: most of the cost of a narrow list).
        obj.__dict__['_wire_keys'] = keys
        return obj

    @classmethod
    def wire_from_dict(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The JSON object that rendering ``from_dict(values)`` gives,
        built straight from the values: a list page has no use for the
        resource objects (building and rendering them was half of a list
        request's CPU). Values of other types than the usual ones of
        each attribute take the general path."""
        out: dict[str, Any] = {}
        unset = wtypes.Unset
        for key, name, kind, plain in _wire_plan(cls):
            if key not in values:
                continue
            val = values[key]
            if val is None:
                out[name] = None
                continue
            if isinstance(val, datetime.datetime):
                val = timeutils.to_wire(val)
            if val is unset:
                continue
            if type(val) in plain:
                out[name] = val if kind == _AS_IS \
                    else jsontype.tobasetype(val)
            elif kind == _TEXT_LIST and type(val) is list and all(
                    type(v) is str for v in val):
                out[name] = list(val)
            else:
                return cls._renderer(cls, cls.from_dict(values))
        return out

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for name in self._fields:
            val = getattr(self, name, wtypes.Unset)
            if not isinstance(val, wtypes.UnsetType):
                out[name] = val
        return out


_PLAIN: dict[type, dict[str, tuple[type, ...]]] = {}

_AS_IS, _JSON_TEXT, _GENERIC, _TEXT_LIST = 0, 1, 2, 3
_NONE = type(None)
# How our attribute types go to JSON, and which Python values WSME's
# validation would leave unchanged (stored without it by from_dict).
# Anything else is rendered and validated by WSME itself.
_DATATYPES: dict[Any, tuple[int, tuple[type, ...]]] = {
    wtypes.text: (_AS_IS, (str, _NONE)),
    int: (_AS_IS, (int, _NONE)),
    bool: (_AS_IS, (bool, _NONE)),
    float: (_AS_IS, ()),
    jsontype: (_JSON_TEXT, (dict, list, str, int, float, bool, _NONE)),
}


class WireRows(list):
    """List entries already in their JSON form
    (:meth:`Resource.wire_from_dict`), rendered as they are."""


def set_wire_rows(obj: Resource, key: str, rows: WireRows) -> None:
    """Put ``rows`` where WSME keeps the attribute ``key`` of ``obj``
    without its validation, which expects resource objects."""
    holder = getattr(obj, '_wsme_dataholder', None)
    if holder is None:
        holder = obj._wsme_DataHolderClass()
        obj._wsme_dataholder = holder
    setattr(holder, key, rows)


_WIRE_PLANS: dict[type, list[tuple[str, str, int, tuple[type, ...]]]] = {}


def _wire_plan(cls: type[Any]) -> list[tuple[str, str, int, tuple[type, ...]]]:
    """Per attribute of ``cls`` that ``from_dict`` sets, in rendering
    order: its key, wire name, how it is rendered and the Python types
    rendered without WSME."""
    plan = _WIRE_PLANS.get(cls)
    if plan is None:
        plan = []
        for attr in wtypes.list_attributes(cls):
            if attr.key not in cls._fields:
                continue
            kind, plain = _DATATYPES.get(attr.datatype, (_GENERIC, ()))
            if (isinstance(attr.datatype, wtypes.ArrayType)
                    and attr.datatype.item_type is wtypes.text):
                kind = _TEXT_LIST
            plan.append((attr.key, attr.name, kind, plain))
        _WIRE_PLANS[cls] = plan
    return plan


class _JsonRenderer:
    """WSME's ``tojson`` for one resource class, without its generic
    dispatch for every attribute of every row (40% of a list request):
    text, numbers and booleans go out as they are, JSON fields as JSON
    text (what :class:`JsonType` does), anything else through WSME."""

    def __init__(self) -> None:
        self._plan: list[tuple[str, str, int, Any]] | None = None

    def _make_plan(self, cls: type) -> list[tuple[str, str, int, Any]]:
        return [(attr.key, attr.name,
                 _DATATYPES.get(attr.datatype, (_GENERIC, ()))[0],
                 attr.datatype)
                for attr in wtypes.list_attributes(cls)]

    def __call__(self, datatype: type, value: Any) -> Any:
        if value is None:
            return None
        plan = self._plan
        if plan is None:
            plan = self._plan = self._make_plan(datatype)
        out: dict[str, Any] = {}
        # Straight from WSME's per-instance slots (no defaults are declared
        # on our resources, so an absent slot means Unset).
        holder = getattr(value, '_wsme_dataholder', None)
        if holder is None:
            return out
        unset = wtypes.Unset
        keys = value.__dict__.get('_wire_keys')
        for key, name, kind, attr_type in plan:
            if keys is not None and key not in keys:
                continue
            val = getattr(holder, key, unset)
            if val is unset:
                continue
            if val is None or kind == _AS_IS:
                out[name] = val
            elif kind == _JSON_TEXT:
                out[name] = jsontype.tobasetype(val)
            elif type(val) is WireRows:
                out[name] = val
            else:
                out[name] = wsme_json.tojson(attr_type, val)
        return out


def _plain_attributes(cls: type) -> dict[str, tuple[type, ...]]:
    """Attributes of ``cls`` whose WSME validation is the identity for
    values of the given Python types (text, integers, booleans, JSON)."""
    found = _PLAIN.get(cls)
    if found is None:
        found = _PLAIN[cls] = {
            attr.key: _DATATYPES[attr.datatype][1]
            for attr in wtypes.list_attributes(cls)
            if _DATATYPES.get(attr.datatype, (None, ()))[1]}
    return found


class ResourceList(Resource):
    next = wtypes.text


class Link(Resource):
    href = wtypes.text
    target = wtypes.text
    rel = wtypes.text

    _fields = ('href', 'target', 'rel')


class APIVersion(Resource):
    id = wtypes.text
    status = wtypes.text
    links = [Link]

    _fields = ('id', 'status', 'links')


class APIVersions(Resource):
    versions = [APIVersion]

    _fields = ('versions',)


class RootResource(Resource):
    uri = wtypes.text

    _fields = ('uri',)


class Workflow(Resource):
    id = wtypes.text
    name = wtypes.text
    namespace = wtypes.text
    input = wtypes.text
    interface = jsontype
    definition = wtypes.text
    checksum = wtypes.text
    tags = [wtypes.text]
    scope = wtypes.text
    project_id = wtypes.text
    created_at = wtypes.text
    updated_at = wtypes.text

    _fields = ('id', 'name', 'namespace', 'input', 'interface', 'definition',
              'checksum', 'tags', 'scope', 'project_id', 'created_at',
              'updated_at')


class Workflows(ResourceList):
    workflows = [Workflow]


class Workbook(Resource):
    id = wtypes.text
    name = wtypes.text
    namespace = wtypes.text
    definition = wtypes.text
    tags = [wtypes.text]
    scope = wtypes.text
    project_id = wtypes.text
    created_at = wtypes.text
    updated_at = wtypes.text

    _fields = ('id', 'name', 'namespace', 'definition', 'tags', 'scope',
              'project_id', 'created_at', 'updated_at')


class Workbooks(ResourceList):
    workbooks = [Workbook]


class Action(Resource):
    id = wtypes.text
    name = wtypes.text
    is_system = bool
    input = wtypes.text
    description = wtypes.text
    tags = [wtypes.text]
    definition = wtypes.text
    scope = wtypes.text
    project_id = wtypes.text
    created_at = wtypes.text
    updated_at = wtypes.text
    namespace = wtypes.text

    _fields = ('id', 'name', 'is_system', 'input', 'description', 'tags',
              'definition', 'scope', 'project_id', 'created_at',
              'updated_at', 'namespace')


class Actions(ResourceList):
    actions = [Action]


class Execution(Resource):
    id = wtypes.text
    workflow_id = wtypes.text
    workflow_name = wtypes.text
    workflow_namespace = wtypes.text
    description = wtypes.text
    tags = [wtypes.text]
    params = jsontype
    task_execution_id = wtypes.text
    root_execution_id = wtypes.text
    source_execution_id = wtypes.text
    state = wtypes.text
    state_info = wtypes.text
    input = jsontype
    output = jsontype
    created_at = wtypes.text
    updated_at = wtypes.text
    project_id = wtypes.text
    published_global = jsontype

    _fields = ('id', 'workflow_id', 'workflow_name', 'workflow_namespace',
              'description', 'tags', 'params', 'task_execution_id',
              'root_execution_id', 'source_execution_id', 'state',
              'state_info', 'input', 'output', 'created_at', 'updated_at',
              'project_id', 'published_global')


class Executions(ResourceList):
    executions = [Execution]


class Task(Resource):
    id = wtypes.text
    name = wtypes.text
    type = wtypes.text
    workflow_name = wtypes.text
    workflow_namespace = wtypes.text
    workflow_id = wtypes.text
    workflow_execution_id = wtypes.text
    tags = [wtypes.text]
    state = wtypes.text
    state_info = wtypes.text
    project_id = wtypes.text
    runtime_context = jsontype
    result = wtypes.text
    published = jsontype
    published_global = jsontype
    processed = bool
    created_at = wtypes.text
    updated_at = wtypes.text
    started_at = wtypes.text
    finished_at = wtypes.text
    # Input only (task rerun).
    reset = bool
    env = jsontype

    _fields = ('id', 'name', 'type', 'workflow_name', 'workflow_namespace',
              'workflow_id', 'workflow_execution_id', 'tags', 'state',
              'state_info', 'project_id', 'runtime_context', 'result',
              'published', 'published_global', 'processed', 'created_at',
              'updated_at', 'started_at', 'finished_at', 'reset', 'env')


class Tasks(ResourceList):
    tasks = [Task]


class ActionExecution(Resource):
    id = wtypes.text
    workflow_name = wtypes.text
    workflow_namespace = wtypes.text
    task_name = wtypes.text
    task_execution_id = wtypes.text
    state = wtypes.text
    state_info = wtypes.text
    tags = [wtypes.text]
    name = wtypes.text
    description = wtypes.text
    project_id = wtypes.text
    accepted = bool
    input = jsontype
    output = jsontype
    created_at = wtypes.text
    updated_at = wtypes.text
    params = jsontype

    _fields = ('id', 'workflow_name', 'workflow_namespace', 'task_name',
              'task_execution_id', 'state', 'state_info', 'tags', 'name',
              'description', 'project_id', 'accepted', 'input', 'output',
              'created_at', 'updated_at', 'params')


class ActionExecutions(ResourceList):
    action_executions = [ActionExecution]


class Environment(Resource):
    id = wtypes.text
    name = wtypes.text
    description = wtypes.text
    variables = jsontype
    scope = wtypes.text
    project_id = wtypes.text
    created_at = wtypes.text
    updated_at = wtypes.text

    _fields = ('id', 'name', 'description', 'variables', 'scope',
              'project_id', 'created_at', 'updated_at')


class Environments(ResourceList):
    environments = [Environment]


class Member(Resource):
    id = wtypes.text
    resource_id = wtypes.text
    resource_type = wtypes.text
    project_id = wtypes.text
    member_id = wtypes.text
    status = wtypes.text
    created_at = wtypes.text
    updated_at = wtypes.text

    _fields = ('id', 'resource_id', 'resource_type', 'project_id',
               'member_id', 'status', 'created_at', 'updated_at')


class Members(ResourceList):
    members = [Member]


class CodeSource(Resource):
    id = wtypes.text
    name = wtypes.text
    namespace = wtypes.text
    content = wtypes.text
    version = int
    project_id = wtypes.text
    scope = wtypes.text
    actions = [wtypes.text]
    created_at = wtypes.text
    updated_at = wtypes.text

    _fields = ('id', 'name', 'namespace', 'content', 'version',
               'project_id', 'scope', 'actions', 'created_at', 'updated_at')


class CodeSources(ResourceList):
    code_sources = [CodeSource]


class DynamicAction(Resource):
    id = wtypes.text
    name = wtypes.text
    namespace = wtypes.text
    code_source_id = wtypes.text
    code_source_name = wtypes.text
    class_name = wtypes.text
    project_id = wtypes.text
    scope = wtypes.text
    created_at = wtypes.text
    updated_at = wtypes.text

    _fields = ('id', 'name', 'namespace', 'code_source_id',
               'code_source_name', 'class_name', 'project_id', 'scope',
               'created_at', 'updated_at')


class DynamicActions(ResourceList):
    dynamic_actions = [DynamicAction]


class Maintenance(Resource):
    status = wtypes.text

    _fields = ('status',)


class ValidationResult(Resource):
    valid = bool
    error = wtypes.text

    _fields = ('valid', 'error')


def wire_dict(values: dict[str, Any], fields: Iterable[str]
              ) -> dict[str, Any]:
    """Pick ``fields`` from a DB row dict, timestamps in wire format."""
    out = {}
    for name in fields:
        if name in values:
            val = values[name]
            if isinstance(val, datetime.datetime):
                val = timeutils.to_wire(val)
            out[name] = val
    return out
