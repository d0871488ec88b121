"""YAQL evaluation: one shared engine, cached parsed expressions."""

from __future__ import annotations

# yaql 3.x uses collections.abc without importing it.
import collections.abc
import functools
import inspect
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast

import yaql
from yaql.language import exceptions as yaql_exc
from yaql.language import specs
from yaql.language import utils as yaql_utils

from mistral import exceptions as exc
from mistral.expressions import data_access as da
from mistral.expressions import functions as custom_functions
from mistral.expressions import options

# Parsed expressions are immutable and reusable across threads.
PARSE_CACHE_SIZE = 4096

_lock = threading.Lock()
# yaql parses with one ply lexer and parser per engine, which keep the text
# being parsed in themselves: two threads parsing at once mix up each
# other's expressions ("unexpected '('" in a text the caller never wrote).
# Parsing is rare (results are cached), so one lock costs nothing.
_parse_lock = threading.Lock()
_engine: Any = None
_root_context: Any = None


def _options() -> tuple[dict[str, Any], dict[str, Any]]:
    settings = options.current()
    opts = settings.yaql
    engine_opts = {
        'yaql.limitIterators': opts.limit_iterators,
        # Unlimited upstream by default; bounded by [limits] here.
        'yaql.memoryQuota': opts.memory_quota if opts.memory_quota != -1
        else settings.max_expression_result_kb * 1024,
        'yaql.convertTuplesToLists': opts.convert_tuples_to_lists,
        'yaql.convertSetsToLists': opts.convert_sets_to_lists,
        'yaql.iterableDicts': opts.iterable_dicts,
        'yaql.convertOutputData': opts.convert_output_data,
        # Input conversion is done lazily by LazyFrozenMapping below, so
        # yaql itself must not walk the whole context.
        'yaql.convertInputData': False,
    }
    factory_opts = {
        'keyword_operator': opts.keyword_operator,
        'allow_delegates': opts.allow_delegates,
    }

    return engine_opts, factory_opts


def _engine_and_context() -> tuple[Any, Any]:
    global _engine, _root_context

    if _engine is None:
        with _lock:
            if _engine is None:
                engine_opts, factory_opts = _options()
                root = yaql.create_context(
                    delegates=factory_opts['allow_delegates'])
                _register_functions(root)
                _root_context = root
                _engine = yaql.YaqlFactory(**factory_opts).create(
                    options=engine_opts)

    return _engine, _root_context


def reset() -> None:
    """Forget the engine and caches (after changing [yaql] options)."""
    global _engine, _root_context

    with _lock:
        _engine = None
        _root_context = None
        _parse.cache_clear()


def to_plain(value: Any) -> Any:
    """YAQL's immutable input types back to dicts and lists."""
    if isinstance(value, str):
        return value
    if isinstance(value, LazyFrozenMapping) and type(value.raw) is dict:
        # The caller's own dict: no copy (functions only read it).
        return value.raw
    if isinstance(value, Mapping):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    if isinstance(value, frozenset):
        return {to_plain(v) for v in value}
    return value


def _yaql_function(func: Callable[..., Any], name: str) -> Any:
    """A yaql function definition calling ``func(data_context, ...)``."""
    params = list(inspect.signature(func).parameters)
    has_context = bool(params) and params[0] == 'context'

    fd = specs.get_function_definition(func, name=name)

    def call(*args: Any, **kwargs: Any) -> Any:
        args = tuple(to_plain(a) for a in args)
        kwargs = {k: to_plain(v) for k, v in kwargs.items()}

        if has_context:
            # yaql passes its own Context for a parameter named 'context';
            # our functions want the Mistral data context instead.
            if 'context' in kwargs:
                kwargs['context'] = da.current_context()
            elif args:
                args = (da.current_context(),) + args[1:]

        # Results enter yaql like input data (immutable, ordered views).
        return convert_input(func(*args, **kwargs))

    fd.payload = call

    return fd


def _interruptible(iterator: Any) -> Iterator[Any]:
    # Python bytecode per item: the expression deadline (an asynchronous
    # exception) can stop a consumer such as sum(), which would otherwise
    # loop in C over range() or itertools.count() for ever.
    for item in iterator:
        yield item


_F = TypeVar('_F', bound=Callable[..., Any])


def _parameter(name: str, kind: type) -> Callable[[_F], _F]:
    # yaql's decorators, typed (yaql has no type information).
    return cast('Callable[[_F], _F]', specs.parameter(name, kind))


def _name(name: str) -> Callable[[_F], _F]:
    return cast('Callable[[_F], _F]', specs.name(name))


@_parameter('stop', int)
@_name('range')
def _range_stop(stop: int) -> Iterator[int]:
    return _interruptible(range(stop))


@_parameter('start', int)
@_parameter('stop', int)
@_parameter('step', int)
@_name('range')
def _range(start: int, stop: int, step: int = 1) -> Iterator[int]:
    return _interruptible(range(start, stop, step))


@_parameter('start', int)
@_parameter('step', int)
@_name('sequence')
def _sequence(start: int = 0, step: int = 1) -> Iterator[int]:
    return _interruptible(itertools.count(start, step))


# The functions registered in the engine, by name (for fast paths that
# call one directly, see mistral.expressions).
_registered: dict[str, Callable[..., Any]] = {}


def registered_function(name: str) -> Callable[..., Any] | None:
    """The function yaql calls for ``name()`` (a plugin may replace ours)."""
    _engine_and_context()
    return _registered.get(name)


def _register_functions(context: Any) -> None:
    for name, func in custom_functions.load_functions().items():
        context.register_function(_yaql_function(func, name))
        _registered[name] = func
    # yaql's own generators, made interruptible (they hide the originals).
    for func in (_range_stop, _range, _sequence):
        context.register_function(func, exclusive=True)


class LazyFrozenMapping(collections.abc.Mapping):  # type: ignore[type-arg]
    """Read-only view that converts values to YAQL types on access.

    yaql's own input conversion copies the whole data context on every
    evaluation; the engine's contexts can be large and most expressions
    read a couple of keys. The view behaves like yaql's FrozenDict
    (hashable, immutable) while converting only what is touched.
    """

    __slots__ = ('_hash', 'raw')

    def __init__(self, raw: Mapping[Any, Any]) -> None:
        self.raw = raw
        self._hash: int | None = None

    def __getitem__(self, key: Any) -> Any:
        return convert_input(self.raw[key])

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return convert_input(self.raw[key])
        except KeyError:
            return default

    # Ordered tuples instead of set-like views: yaql would turn a keys
    # view into a set, losing order and JSON-ability.
    def keys(self) -> tuple[Any, ...]:  # type: ignore[override]
        return tuple(self.raw)

    def values(self) -> tuple[Any, ...]:  # type: ignore[override]
        return tuple(convert_input(v) for v in self.raw.values())

    def items(self) -> tuple[Any, ...]:  # type: ignore[override]
        return tuple((k, convert_input(v)) for k, v in self.raw.items())

    def __contains__(self, key: object) -> bool:
        return key in self.raw

    def __iter__(self) -> Iterator[Any]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self.items()) == dict(other.items())

    def __repr__(self) -> str:
        return repr(self.raw)


def convert_input(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        if isinstance(value, (LazyFrozenMapping, yaql_utils.FrozenDict)):
            return value
        return LazyFrozenMapping(value)
    if isinstance(value, (list, tuple)):
        return tuple(convert_input(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(convert_input(v) for v in value)
    return value


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse(expression: str) -> Any:
    engine, _ = _engine_and_context()

    with _parse_lock:
        return engine(expression)


def validate(expression: str) -> None:
    """Raise YaqlGrammarException if ``expression`` does not parse."""
    try:
        _parse(expression)
    except (yaql_exc.YaqlException, KeyError, ValueError, TypeError) as e:
        raise exc.YaqlGrammarException(
            'Invalid YAQL expression '
            f'[expression={expression.strip()}, error={e}]'
        ) from e


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """Evaluate one YAQL expression (without the ``<% %>`` brackets)."""
    try:
        parsed = _parse(expression)
    except (yaql_exc.YaqlException, KeyError, ValueError, TypeError) as e:
        raise exc.YaqlEvaluationException(
            'Can not evaluate YAQL expression '
            f'[expression={expression.strip()}, error={e}]'
        ) from e

    _, root = _engine_and_context()
    ctx = root.create_child_context()

    if options.current().yaql.convert_input_data:
        ctx['$'] = convert_input(context)
    else:
        ctx['$'] = context

    try:
        result = parsed.evaluate(context=ctx)
    except AttributeError:
        raise
    except Exception as e:
        raise exc.YaqlEvaluationException(
            'Can not evaluate YAQL expression '
            f'[expression={expression.strip()}, error={_describe(e)}]'
        ) from e

    if isinstance(result, LazyFrozenMapping):
        return to_plain(result)

    if isinstance(result, collections.abc.Iterator):
        # Only without output conversion: a lazy query result.
        return list(result)

    return result


_METHOD_ERRORS = (
    (yaql_exc.NoMethodRegisteredException, 'Unknown method {} for this '
                                           'receiver'),
    (yaql_exc.NoMatchingMethodException, 'No method {} matches the '
                                         'receiver and supplied arguments'),
    (yaql_exc.AmbiguousMethodException, 'Ambiguous method {} for this '
                                        'receiver'),
)


def _describe(e: Exception) -> str:
    if isinstance(e, KeyError) and len(e.args) == 1:
        return f'key {e.args[0]!r} not found'

    # yaql puts the receiver's repr into these messages; the receiver can
    # be the whole data context ('$.nosuch()'), which must not leak into
    # task state_info.
    for cls, template in _METHOD_ERRORS:
        if isinstance(e, cls):
            # 'Unknown method "x" for receiver ...' -> '"x"'
            name = str(e).split(' for receiver ', 1)[0].split(' ', 2)[-1]
            return template.format(name)

    text = str(e)

    return text if text else e.__class__.__name__
