"""An OpenAPI 3 description of the REST API, generated from the controllers.

The description is built by walking the pecan controller tree from the
root controller, the way pecan's ``RestController`` routes requests:

* ``get_all`` answers ``GET <collection>``, ``post`` ``POST <collection>``;
  ``get``, ``put`` and ``delete`` take the item's identifier as the next
  path segment (a ``put`` whose identifier defaults to ``None`` also
  answers on the collection);
* a controller attribute is a sub-resource, either directly below its
  parent (``/v2/workflows/validate``) or below one item of the parent
  (``/v2/executions/{workflow_execution_id}/tasks``) when its methods take
  the parent's identifier as their first argument;
* arguments with a default are query parameters; the WSME types of the
  arguments and of the request body give their schemas.

Methods that read their query from ``**kwargs`` declare it in
:data:`KWARGS_QUERY`; anything the walk cannot describe (``_lookup``,
``_default`` or ``_route`` routing) raises, so the description can not
silently drift from what is served (``mistral/tests/unit/api/
test_openapi.py`` checks every route against the live application).
"""

from __future__ import annotations

import copy
import inspect
import re
import threading
from typing import Any, Iterator

import pecan
from pecan import rest
from wsme import types as wtypes

from mistral import version
from mistral.api import errors
from mistral.api.controllers.v2 import types as v2_types

OPENAPI_VERSION = '3.0.3'

# Query parameters of methods that take them as ``**kwargs`` (schema by
# name), keyed by ``Class.method``.
KWARGS_QUERY: dict[str, dict[str, dict[str, Any]]] = {
    'ExecutionReportController.get_all': {
        'errors_only': {'type': 'boolean'},
        'max_depth': {'type': 'integer'},
        'statistics_only': {'type': 'boolean'},
    },
}

# Query parameters of the text endpoints (raw YAML or Python bodies),
# which pecan passes untyped; the others are strings.
TEXT_QUERY_TYPES: dict[str, dict[str, Any]] = {
    'skip_validation': {'type': 'boolean'},
}

# Schemas of our WSME user types by their ``name``; others are described
# by their base type.
USER_TYPE_SCHEMAS: dict[str, dict[str, Any]] = {
    'boolean': {'type': 'boolean'},
    'uuid': {'type': 'string', 'format': 'uuid'},
}

ROUTING_HOOKS = ('_lookup', '_default', '_route', '_custom_actions')

REST_METHODS = (('get_all', 'get'), ('get', 'get'), ('get_one', 'get'),
                ('post', 'post'), ('put', 'put'), ('delete', 'delete'))

FAULT_SCHEMA = {
    'type': 'object',
    'description': 'An error. "faultstring" says what is wrong and where.',
    'properties': {
        'faultcode': {'type': 'string', 'enum': ['Client', 'Server']},
        'faultstring': {'type': 'string'},
        'debuginfo': {'type': 'string', 'nullable': True},
    },
    'required': ['faultstring'],
}


class DescriptionError(RuntimeError):
    """The controller tree has a route the walk can not describe."""


# -- schemas of WSME types


def _is_complex(datatype: Any) -> bool:
    return inspect.isclass(datatype) and issubclass(datatype, wtypes.Base)


def type_schema(datatype: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a WSME type; complex types go to ``schemas``."""
    if datatype in (str, wtypes.text, bytes):
        return {'type': 'string'}
    if datatype is bool:
        return {'type': 'boolean'}
    if datatype is int:
        return {'type': 'integer'}
    if datatype is float:
        return {'type': 'number'}
    if isinstance(datatype, wtypes.IntegerType):
        schema: dict[str, Any] = {'type': 'integer'}
        if datatype.minimum is not None:
            schema['minimum'] = datatype.minimum
        if datatype.maximum is not None:
            schema['maximum'] = datatype.maximum
        return schema
    if isinstance(datatype, wtypes.StringType):
        schema = {'type': 'string'}
        if datatype.min_length is not None:
            schema['minLength'] = datatype.min_length
        if datatype.max_length is not None:
            schema['maxLength'] = datatype.max_length
        if datatype.pattern is not None:
            schema['pattern'] = datatype.pattern.pattern
        return schema
    if isinstance(datatype, wtypes.Enum):
        return dict(type_schema(datatype.basetype, schemas),
                    enum=sorted(datatype.values))
    if isinstance(datatype, v2_types.ListType):
        return {'type': 'array', 'items': {'type': 'string'}}
    if isinstance(datatype, v2_types.JsonType):
        return {'description': 'Any JSON value, or a string holding one.'}
    if isinstance(datatype, wtypes.ArrayType):
        return {'type': 'array',
                'items': type_schema(datatype.item_type, schemas)}
    if isinstance(datatype, wtypes.DictType):
        return {'type': 'object', 'additionalProperties':
                type_schema(datatype.value_type, schemas)}
    if isinstance(datatype, list) and len(datatype) == 1:
        return {'type': 'array', 'items': type_schema(datatype[0], schemas)}
    if isinstance(datatype, wtypes.UserType):
        # Query argument types of ours (strict booleans, UUIDs, ...): the
        # wire form, refined by the type's name.
        schema = dict(type_schema(datatype.basetype, schemas))
        named = USER_TYPE_SCHEMAS.get(getattr(datatype, 'name', ''))
        return dict(named) if named else schema
    if _is_complex(datatype):
        name = datatype.__name__
        if name not in schemas:
            schemas[name] = {}  # placeholder against recursion
            wtypes.register_type(datatype)
            props = {}
            for attr in wtypes.list_attributes(datatype):
                prop = type_schema(attr.datatype, schemas)
                if '$ref' not in prop:
                    prop = dict(prop, nullable=True)
                props[attr.name] = prop
            schemas[name] = {'type': 'object', 'properties': props,
                             'additionalProperties': False}
        return {'$ref': '#/components/schemas/%s' % name}
    raise DescriptionError('No schema for WSME type %r' % (datatype,))


# -- walking the controller tree


def _exposed(obj: Any, name: str) -> Any:
    value = getattr(obj, name, None)
    if value is None or not callable(value):
        return None
    return value if getattr(value, 'exposed', False) else None


def _is_controller(value: Any) -> bool:
    if isinstance(value, rest.RestController):
        return True
    if inspect.isroutine(value) or inspect.isclass(value) or \
            isinstance(value, (str, bytes, int, float, dict, list, tuple)):
        return False
    return any(_exposed(value, n) for n in dir(type(value))
               if not n.startswith('__'))


def _argspec(method: Any) -> tuple[list[str], dict[str, Any], str | None]:
    """Arguments (without self), their defaults and the ``**`` name."""
    spec = method._pecan['argspec']
    args = list(spec.args[1:])
    defaults = dict(zip(reversed(args), reversed(spec.defaults or ()),
                        strict=False))
    varkw = getattr(spec, 'varkw', None) or getattr(spec, 'keywords', None)
    return args, defaults, varkw


def _required(method: Any) -> list[str]:
    args, defaults, _ = _argspec(method)
    body = _wsme_body_arg(method)
    return [a for a in args if a not in defaults and a != body]


def _wsme_body_arg(method: Any) -> str | None:
    funcdef = getattr(method, '_wsme_definition', None)
    if funcdef is None or funcdef.body_type is None:
        return None
    args, _, _ = _argspec(method)
    typed = {a.name for a in funcdef.arguments}
    rest_args = [a for a in args if a not in typed]
    return rest_args[-1] if rest_args else args[-1]


def _parent_arity(controller: Any) -> int:
    """How many parent identifiers a sub-controller's methods take first."""
    for name in ('get_all', 'post', 'put', 'delete', 'get'):
        method = _exposed(controller, name)
        if method is None:
            continue
        required = _required(method)
        if name in ('get_all', 'post'):
            return len(required)
        # get/put/delete: the last required argument is the item's own id.
        return max(len(required) - 1, 0)
    return 0


class _Route:
    def __init__(self, path: str, http_method: str, owner: str,
                 method: Any, path_args: list[str], query_args: list[str],
                 name: str) -> None:
        self.path = path
        self.http_method = http_method
        self.owner = owner
        self.method = method
        self.path_args = path_args
        self.query_args = query_args
        self.name = name

    @property
    def controller_method(self) -> str:
        return '%s.%s' % (self.owner, self.name)


def _check_routing_hooks(controller: Any, path: str) -> None:
    for hook in ROUTING_HOOKS:
        value = getattr(type(controller), hook, None)
        if value is not None and value is getattr(rest.RestController, hook,
                                                  None):
            continue  # pecan's own REST routing, described by the walk
        if value:
            raise DescriptionError(
                '%s at %s routes with %s: describe it explicitly'
                % (type(controller).__name__, path or '/', hook))


def _rest_routes(controller: Any, prefix: str, parent_args: list[str]
                 ) -> Iterator[_Route]:
    owner = type(controller).__name__
    for name, http_method in REST_METHODS:
        method = _exposed(controller, name)
        if method is None:
            continue
        args, defaults, _ = _argspec(method)
        body = _wsme_body_arg(method)
        required = [a for a in args if a not in defaults and a != body]
        optional = [a for a in args if a in defaults and a != body]
        if len(required) < len(parent_args):
            raise DescriptionError(
                '%s.%s takes fewer arguments than its path has identifiers'
                % (owner, name))
        own = required[len(parent_args):]
        if name in ('get_all', 'post') and own:
            raise DescriptionError(
                '%s.%s has required arguments %s a collection can not '
                'give' % (owner, name, own))
        if name in ('get', 'get_one', 'put', 'delete') and not own:
            if name == 'put' and optional and defaults[optional[0]] is None:
                # put(identifier=None): on the collection and on an item.
                yield _Route(prefix, http_method, owner, method,
                             list(parent_args), optional[1:], name)
                item = optional[0]
                yield _Route('%s/{%s}' % (prefix, item), http_method, owner,
                             method, list(parent_args) + [item],
                             optional[1:], name)
                continue
            # On the collection itself (GET /maintenance,
            # PUT /v2/environments).
            yield _Route(prefix, http_method, owner, method,
                         list(parent_args), optional, name)
            continue
        path = prefix + ''.join('/{%s}' % a for a in own)
        yield _Route(path, http_method, owner, method,
                     list(parent_args) + own, optional, name)


def _walk(controller: Any, prefix: str, parent_args: list[str],
          seen: set[int]) -> Iterator[_Route]:
    if id(controller) in seen:
        return
    seen = seen | {id(controller)}
    _check_routing_hooks(controller, prefix)
    owner = type(controller).__name__
    is_rest = isinstance(controller, rest.RestController)
    if is_rest:
        yield from _rest_routes(controller, prefix, parent_args)
    rest_names = {n for n, _ in REST_METHODS}
    for name in sorted(dir(type(controller))):
        if name.startswith('_'):
            continue
        value = getattr(controller, name, None)
        method = _exposed(controller, name)
        if method is not None:
            if is_rest and name in rest_names:
                continue
            if is_rest:
                raise DescriptionError(
                    '%s.%s is a custom REST action: describe it explicitly'
                    % (owner, name))
            route = getattr(method, 'custom_route', None) or name
            path = prefix if name == 'index' else '%s/%s' % (prefix, route)
            args, defaults, _ = _argspec(method)
            required = [a for a in args if a not in defaults]
            if required:
                raise DescriptionError(
                    '%s.%s takes path arguments: describe it explicitly'
                    % (owner, name))
            methods = [m.lower() for m in
                       (method._pecan.get('generic_handlers') or {})
                       if m != 'DEFAULT'] or ['get']
            for http_method in methods:
                yield _Route(path or '/', http_method, owner, method, [],
                             list(args), name)
            continue
        if not _is_controller(value):
            continue
        arity = _parent_arity(value) if isinstance(
            value, rest.RestController) else 0
        if arity > len(parent_args) + 1:
            raise DescriptionError(
                '%s at %s/%s takes %d parent identifiers'
                % (type(value).__name__, prefix, name, arity))
        if arity == len(parent_args) + 1 and is_rest:
            # Below one item of the parent: take the sub-controller's name
            # for the parent's identifier.
            sub_method = next(_exposed(value, m) for m in
                              ('get_all', 'post', 'put', 'delete', 'get')
                              if _exposed(value, m) is not None)
            item = _required(sub_method)[len(parent_args)]
            sub_prefix = '%s/{%s}/%s' % (prefix, item, name)
            sub_parents = list(parent_args) + [item]
        else:
            sub_prefix = '%s/%s' % (prefix, name)
            sub_parents = list(parent_args)
        yield from _walk(value, sub_prefix, sub_parents, seen)


def routes(root: Any = None) -> list[_Route]:
    """Every route the controller tree serves."""
    if root is None:
        from mistral.api.controllers import root as root_ctl

        root = root_ctl.RootController()
    return list(_walk(root, '', [], set()))


# -- the document


def _parameter(name: str, where: str, schema: dict[str, Any]
               ) -> dict[str, Any]:
    param: dict[str, Any] = {'name': name, 'in': where, 'schema': schema}
    if where == 'path':
        param['required'] = True
    if schema.get('type') == 'array' and where == 'query':
        param['style'] = 'form'
        param['explode'] = False
    return param


def _operation(route: _Route, schemas: dict[str, Any]) -> dict[str, Any]:
    method = route.method
    funcdef = getattr(method, '_wsme_definition', None)
    arg_types = {a.name: a.datatype for a in funcdef.arguments} \
        if funcdef is not None else {}
    params = [_parameter(a, 'path', {'type': 'string'})
              for a in route.path_args]
    for arg in route.query_args:
        if funcdef is not None and arg in arg_types:
            schema = type_schema(arg_types[arg], schemas)
        else:
            schema = dict(TEXT_QUERY_TYPES.get(arg, {'type': 'string'}))
        params.append(_parameter(arg, 'query', schema))
    _, _, varkw = _argspec(method)
    if varkw and not varkw.startswith('_'):
        extra = KWARGS_QUERY.get(route.controller_method)
        if extra is None:
            raise DescriptionError(
                '%s reads its query from **%s: declare it in KWARGS_QUERY'
                % (route.controller_method, varkw))
        params += [_parameter(n, 'query', dict(s))
                   for n, s in extra.items()]
    tag = route.path.split('/')[2] if route.path.startswith('/v2/') \
        else (route.path.strip('/') or 'versions')
    op: dict[str, Any] = {
        'operationId': _operation_id(route),
        'tags': [tag],
        'x-controller': route.controller_method,
        'parameters': params,
    }
    doc = inspect.getdoc(getattr(method, '_wsme_original_func', method))
    if doc:
        op['description'] = doc.split('\n\n')[0]
    fault = {'description': 'Error', 'content': {'application/json': {
        'schema': {'$ref': '#/components/schemas/Fault'}}}}
    if funcdef is not None:
        if funcdef.body_type is not None:
            op['requestBody'] = {'required': True, 'content': {
                'application/json': {
                    'schema': type_schema(funcdef.body_type, schemas)}}}
        status = str(funcdef.status_code or 200)
        if funcdef.return_type is None:
            ok: dict[str, Any] = {'description': 'Done'}
        else:
            ok = {'description': 'OK', 'content': {'application/json': {
                'schema': type_schema(funcdef.return_type, schemas)}}}
        op['responses'] = {status: ok, '4XX': fault, 'default': fault}
    else:
        # Hand-built JSON answers; writes take the raw text of a definition
        # (YAML) or of a Python module.
        if route.http_method in ('post', 'put'):
            op['requestBody'] = {'required': True, 'content': {
                'text/plain': {'schema': {'type': 'string'}}}}
        op['responses'] = {
            '2XX': {'description': 'OK', 'content': {
                'application/json': {'schema': {'type': 'object'}}}},
            '4XX': fault, 'default': fault}
    return op


def _operation_id(route: _Route) -> str:
    words = [w for w in re.split(r'[^0-9a-zA-Z_]+', route.path) if w]
    return '_'.join([route.http_method] + words) or route.http_method


def build(root: Any = None) -> dict[str, Any]:
    """The OpenAPI document of the controller tree (no ``servers``)."""
    schemas: dict[str, Any] = {'Fault': copy.deepcopy(FAULT_SCHEMA)}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes(root):
        ops = paths.setdefault(route.path, {})
        if route.http_method in ops:
            raise DescriptionError('Two routes for %s %s' % (
                route.http_method.upper(), route.path))
        ops[route.http_method] = _operation(route, schemas)
    return {
        'openapi': OPENAPI_VERSION,
        'info': {
            'title': 'Mistral workflow service',
            'version': version.version_string(),
            'description': 'REST API v2. Errors are JSON objects whose '
                           '"faultstring" says what is wrong.',
        },
        'paths': dict(sorted(paths.items())),
        'components': {'schemas': dict(sorted(schemas.items()))},
    }


_cache: dict[str, Any] = {}
_lock = threading.Lock()


def document(server_url: str | None = None) -> dict[str, Any]:
    """The description, built once; ``servers`` names ``server_url``."""
    with _lock:
        if 'doc' not in _cache:
            _cache['doc'] = build()
        doc = copy.deepcopy(_cache['doc'])
    if server_url:
        doc['servers'] = [{'url': server_url}]
    return doc


@pecan.expose()
def serve(_controller: Any, **_kw: Any) -> Any:
    """``GET /v2/openapi.json``: this description (authenticated like the
    other ``/v2`` reads). Attached to the v2 controller with
    ``pecan.route``, so it is called as one of its methods."""
    return errors.json_response(
        document(pecan.request.application_url), 200,
        content_type='application/json')
