"""Sandboxed Jinja evaluation with cached templates."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2 import sandbox

from mistral import exceptions as exc
from mistral.expressions import data_access as da
from mistral.expressions import functions as custom_functions
from mistral.expressions import options
from mistral.expressions import patterns

TEMPLATE_CACHE_SIZE = 4096

# Names besides '_' that upstream exposes at the top level of templates.
_TOP_LEVEL_KEYS = ('__env', '__execution', '__task_execution')


def _takes_context(func: Callable[..., Any]) -> bool:
    params = list(inspect.signature(func).parameters)
    return bool(params) and params[0] == 'context'


def _as_global(func: Callable[..., Any]) -> Callable[..., Any]:
    if not _takes_context(func):
        return func

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        return func(da.current_context(), *args, **kwargs)

    return call


def _as_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    if name in custom_functions.DATA_FILTERS:
        return _as_global(func)

    # Otherwise the piped value stands for the data context (or is the
    # first argument of a function that takes no context).
    return func


def _max_size() -> int:
    return options.current().max_expression_result_kb * 1024


def _too_large(what: str, size: float) -> None:
    limit = _max_size()
    if size > limit:
        raise jinja2.exceptions.SecurityError(
            f'{what} would be larger than the limit of {limit // 1024} KiB '
            '([limits] max_expression_result_kb)')


def _len(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) \
        else None


# Widths and precisions in printf-style and str.format() formats.
_PERCENT_WIDTHS = re.compile(r'%[-+ #0]*(\d*)(?:\.(\d+))?')
_BRACE_WIDTHS = re.compile(r'\{[^{}]*:[^{}\d]*(\d*)(?:\.(\d+))?')


def _check_format(fmt: Any) -> None:
    if not isinstance(fmt, str):
        return
    for regex in (_PERCENT_WIDTHS, _BRACE_WIDTHS):
        for match in regex.finditer(fmt):
            for number in match.groups():
                if number:
                    _too_large('The formatted value', int(number))


class _Sandbox(sandbox.SandboxedEnvironment):
    """Jinja's sandbox with allocation bounds: repeating a string or a
    list (``'a' * 10**10``), a power of huge integers, and widths of
    padding filters are checked before Python allocates the result."""

    intercepted_binops = frozenset(['*', '**', '%'])

    def wrap_str_format(self, value: Any) -> Any:
        # ``'{:>10000000000}'.format(x)``: the sandbox wraps str.format.
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(getattr(value, '__self__', None))
        return wrapped

    def call_binop(self, context: Any, operator: str, left: Any,
                   right: Any) -> Any:
        if operator == '*':
            for seq, count in ((left, right), (right, left)):
                size = _len(seq)
                if size is not None and isinstance(count, int):
                    _too_large('The repeated value', size * count)
        elif operator == '%':
            _check_format(left)
        elif operator == '**' and isinstance(left, int) and \
                isinstance(right, int) and right > 0 and abs(left) > 1:
            _too_large('The power', right * abs(left).bit_length() / 8)
        return super().call_binop(context, operator, left, right)


def _bounded_width(name: str, func: Callable[..., Any],
                   arg: int = 1) -> Callable[..., Any]:
    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        width = kwargs.get('width', args[arg] if len(args) > arg else 0)
        if isinstance(width, int):
            _too_large(f"The result of '{name}'", width)
        return func(*args, **kwargs)

    return call


@functools.cache
def environment() -> sandbox.SandboxedEnvironment:
    env = _Sandbox(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    for name, func in custom_functions.load_functions().items():
        env.globals[name] = _as_global(func)
        env.filters[name] = _as_filter(name, func)

    for name in ('center', 'indent', 'wordwrap'):
        if name in env.filters:
            env.filters[name] = _bounded_width(name, env.filters[name])

    format_filter = env.filters['format']

    @functools.wraps(format_filter)
    def bounded_format(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_format(value)
        return format_filter(value, *args, **kwargs)

    env.filters['format'] = bounded_format

    return env


@functools.lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _template(text: str) -> jinja2.Template:
    return environment().from_string(text)


@functools.lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _compiled_expression(text: str) -> Any:
    return environment().compile_expression(text, undefined_to_none=False)


def reset() -> None:
    _template.cache_clear()
    _compiled_expression.cache_clear()
    environment.cache_clear()


def validate(text: str) -> None:
    """Raise JinjaGrammarException if ``text`` is not a valid template."""
    try:
        environment().parse(text)
    except jinja2.TemplateError as e:
        raise exc.JinjaGrammarException(
            f'Invalid Jinja expression [expression={text.strip()}, error={e}]'
        ) from e


def _as_dict(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _as_dict(v) for k, v in value.items()}
    return value


def _variables(context: Mapping[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = {'_': context}

    for key in _TOP_LEVEL_KEYS:
        if key in context:
            variables[key] = context[key]

    return variables


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """Evaluate a string holding Jinja expressions or statements.

    A string that is exactly one ``{{ ... }}`` gives the native value;
    anything else is rendered as a template into a string.
    """
    whole = patterns.WHOLE_JINJA_RE.match(text)

    try:
        if whole and '{{' not in whole.group(1) \
                and '{%' not in text:
            result = _compiled_expression(whole.group(1))(
                **_variables(context))

            if isinstance(result, jinja2.Undefined):
                # Forces StrictUndefined to raise its explanation.
                str(result)

            if isinstance(result, Mapping) and type(result) is not dict:
                # e.g. '{{ _ }}' over a ChainMap view: give a real dict.
                return _as_dict(result)

            return result

        return _template(text).render(**_variables(context))
    except AttributeError:
        raise
    except Exception as e:
        error = str(e) or e.__class__.__name__

        raise exc.JinjaEvaluationException(
            'Can not evaluate Jinja expression '
            f'[expression={text.strip()}, error={error}]'
        ) from e
