"""Sandboxed Jinja evaluation with cached templates."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2 import sandbox

from mistral import exceptions as exc
from mistral.expressions import data_access as da
from mistral.expressions import functions as custom_functions
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


@functools.cache
def environment() -> sandbox.SandboxedEnvironment:
    env = sandbox.SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    for name, func in custom_functions.load_functions().items():
        env.globals[name] = _as_global(func)
        env.filters[name] = _as_filter(name, func)

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
