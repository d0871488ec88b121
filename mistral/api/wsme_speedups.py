"""Fast paths through WSME's argument parsing, with the same answers.

For every request WSME converts each declared argument twice: the value
pecan passes positionally (the query value, or the parameter's default
when the query lacks it) with ``from_param``, then the query itself with
``from_params``, whose answer wins. Both are simplegeneric functions,
dispatched anew for every argument: some 45 us of a list request (whose
endpoint declares some twenty filters, of which a request uses a few).

Shortcuts, taken only where WSME's own rules give a known answer:

* ``from_params`` of an argument absent from the query: when its type can
  only be matched by the argument's exact name (a native type, or user
  types over one), WSME's answer is "not given" and nothing is recorded.
  Complex types, arrays and dicts also match ``name.attr``, ``name[0]``,
  ``name[key]``: those still go through WSME.
* ``from_param`` of a ``None`` default: WSME's default rule answers
  ``None`` and a user type calls its ``frombasetype`` on what its base type
  answered; the same calls are made here, without the dispatch.
* ``args_from_body`` without a body, for a method that takes none.

What WSME's dispatch chooses for a type is worked out once per type: its
rules are registered when its modules are imported, before any request.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from wsme import exc as wsme_exc
from wsme import types as wtypes
from wsme.rest import args as wsme_args

_original_args_from_args = wsme_args.args_from_args
_original_args_from_params = wsme_args.args_from_params
_original_args_from_body = wsme_args.args_from_body

# Built-in (C) types: no class attribute can be added to them, so they can
# never become complex WSME types.
_NATIVE = (int, bytes, str, float, bool, decimal.Decimal, datetime.date,
           datetime.time, datetime.datetime)

# id(datatype) -> (datatype, answer); the datatype is kept so that its id
# can not be reused.
_NAME_ONLY: dict[int, tuple[Any, bool]] = {}
_NONE_CHAIN: dict[int, tuple[Any, tuple[Any, ...] | None]] = {}


def _rule(generic: Any, datatype: Any) -> Any:
    """The key of the simplegeneric rule ``generic`` applies to
    ``datatype``: ``'object'`` for one registered for this very object,
    else the class whose rule its type's MRO finds first (``object`` is the
    default function)."""
    if generic.has_object(datatype):
        return 'object'
    for cls in type(datatype).__mro__:
        if generic.has_type(cls):
            return cls
    return object


def _name_only(datatype: Any) -> bool:
    """Whether ``from_params`` only ever looks at the argument's own name
    for ``datatype`` (and answers "not given" when it is absent)."""
    while True:
        rule = _rule(wsme_args.from_params, datatype)
        if rule is wtypes.UserType:
            datatype = datatype.basetype
            continue
        return rule is object and datatype in _NATIVE


def _none_chain(datatype: Any) -> tuple[Any, ...] | None:
    """The user types whose ``frombasetype``, innermost first, make what
    ``from_param(datatype, None)`` answers; ``None`` when other rules are
    involved."""
    chain = []
    while True:
        rule = _rule(wsme_args.from_param, datatype)
        if rule is wtypes.UserType:
            chain.append(datatype)
            datatype = datatype.basetype
            continue
        if rule is not object:
            return None
        return tuple(reversed(chain))


def _remember(cache: dict[int, tuple[Any, Any]], find: Any,
              datatype: Any) -> Any:
    answer = find(datatype)
    cache[id(datatype)] = (datatype, answer)
    return answer


def _datatype_name(datatype: Any) -> str:
    if isinstance(datatype, wtypes.UserType):
        return datatype.name
    if isinstance(datatype, type):
        return datatype.__name__
    return datatype.__class__.__name__


def args_from_args(funcdef: Any, args: Any, kwargs: Any
                   ) -> tuple[list[Any], dict[str, Any]]:
    """WSME's ``args_from_args``, without dispatch for ``None`` values."""
    from_param = wsme_args.from_param
    none_chains = _NONE_CHAIN
    newargs = []
    for argdef, arg in zip(funcdef.arguments[:len(args)], args,
                           strict=False):
        datatype = argdef.datatype
        chain = None
        if arg is None:
            kept = none_chains.get(id(datatype))
            chain = kept[1] if kept is not None and kept[0] is datatype \
                else _remember(none_chains, _none_chain, datatype)
        try:
            if chain is None:
                value = from_param(datatype, arg)
            else:
                value = None
                for usertype in chain:
                    value = usertype.frombasetype(value)
        except Exception as e:
            # WSME's own wording and chaining: the answer must not change.
            raise wsme_exc.InvalidInput(  # noqa: B904
                argdef.name, arg,
                "unable to convert to %(datatype)s. Error: %(error)s" % {
                    'datatype': _datatype_name(datatype), 'error': e})
        newargs.append(value)
    newkwargs = {}
    for argname, value in kwargs.items():
        newkwargs[argname] = from_param(funcdef.get_arg(argname).datatype,
                                        value)
    return newargs, newkwargs


def args_from_params(funcdef: Any, params: Any
                     ) -> tuple[list[Any], dict[str, Any]]:
    """WSME's ``args_from_params``, skipping absent name-only arguments."""
    from_params = wsme_args.from_params
    unset = wtypes.Unset
    name_only = _NAME_ONLY
    # WSME takes the same set after converting (nothing changes params);
    # a set answers "in" faster than a multidict.
    paths = set(params.keys())
    kw = {}
    hit_paths: set[str] = set()
    for argdef in funcdef.arguments:
        name = argdef.name
        datatype = argdef.datatype
        if name not in paths:
            kept = name_only.get(id(datatype))
            if kept[1] if kept is not None and kept[0] is datatype \
                    else _remember(name_only, _name_only, datatype):
                continue  # WSME: Unset, and no path hit
        value = from_params(datatype, params, name, hit_paths)
        if value is not unset:
            kw[name] = value
    unknown_paths = paths - hit_paths
    unknown_paths.discard('__body__')
    if not funcdef.ignore_extra_args and unknown_paths:
        raise wsme_exc.UnknownArgument(', '.join(unknown_paths))
    return [], kw


def args_from_body(funcdef: Any, body: Any, mimetype: Any) -> Any:
    """WSME's ``args_from_body``; a request without a body to a method
    that takes none is answered before WSME builds its map of types."""
    if not body and funcdef.body_type is None:
        return (), {}
    return _original_args_from_body(funcdef, body, mimetype)


def install() -> None:
    """Idempotent. ``get_args`` finds them through the module."""
    wsme_args.args_from_args = args_from_args
    wsme_args.args_from_params = args_from_params
    wsme_args.args_from_body = args_from_body


def uninstall() -> None:
    """WSME's own functions again (for tests that compare)."""
    wsme_args.args_from_args = _original_args_from_args
    wsme_args.args_from_params = _original_args_from_params
    wsme_args.args_from_body = _original_args_from_body
