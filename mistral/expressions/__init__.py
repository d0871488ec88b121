"""Expression evaluation: YAQL ``<% %>`` and sandboxed Jinja ``{{ }}``.

Public interface used by the engine and the DSL parser:

* :func:`evaluate` - one string; a string that is exactly one expression
  gives the expression's native value, otherwise the expressions are
  interpolated into the string.
* :func:`evaluate_recursively` - the same over nested dicts and lists.
* :func:`validate` - syntax check (YaqlGrammarException or
  JinjaGrammarException).
* :func:`has_expression` - whether a value holds any expression.

Stored data (tasks, executions, global variables) reaches the custom
functions through a :class:`DataAccess` passed to :func:`evaluate`.

Deliberate differences from upstream (for the documentation):

* YAQL reads the context lazily (no full copy per evaluation), and
  ``dict.keys()/values()/items()`` give ordered lists, not sets.
* A string of two Jinja expressions (``{{ a }} and {{ b }}``) is rendered
  as a template (upstream's greedy match tries to evaluate it as one).
* Expressions are evaluated even when the context is empty.
* Expressions may span lines (YAML ``|`` blocks); upstream's patterns do
  not match across a newline and leave such text unevaluated.
* In Jinja, ``json_dump``, ``json_parse``, ``yaml_dump``, ``yaml_parse``
  and ``global`` used as filters take the piped value as their data
  (``{{ _.x | json_dump }}``); the other functions treat it as the
  context, as upstream does for all of them.
* Failures inside a DataAccess that are not Mistral errors (e.g.
  database errors) propagate unchanged so the engine can retry; Mistral
  errors become evaluation errors.
* Error messages never include the data context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mistral import exceptions as exc
from mistral.expressions import data_access as _da
from mistral.expressions import deadline as _deadline
from mistral.expressions import jinja_engine as _jinja
from mistral.expressions import options as _options
from mistral.expressions import patterns as _patterns
from mistral.expressions import shortcuts as _shortcuts
from mistral.expressions import yaql_engine as _yaql
from mistral.expressions.data_access import DataAccess
from mistral.expressions.options import ExpressionOptions
from mistral.expressions.options import ExpressionSettings
from mistral.expressions.options import YaqlOptions
from mistral.expressions.options import configure

__all__ = [
    'MIXING_ERROR',
    'DataAccess',
    'ExpressionOptions',
    'ExpressionSettings',
    'YaqlOptions',
    'configure',
    'evaluate',
    'evaluate_recursively',
    'has_expression',
    'patterns',
    'reset_caches',
    'validate',
    'warm_up',
]

patterns = _patterns.ALL

MIXING_ERROR = 'Mixing expression types in a single line is not allowed.'


def _allowed_languages() -> Sequence[str]:
    # Read on every call: the settings may change (tests, configure()).
    return _options.current().allowed_languages


def _language(text: str) -> str | None:
    """'yaql', 'jinja' or None; raises on a mix of both."""
    yaql_found = _patterns.has_yaql(text)
    jinja_found = _patterns.has_jinja(text)

    if yaql_found and jinja_found:
        raise exc.ExpressionException(MIXING_ERROR)

    if yaql_found:
        return 'yaql'
    if jinja_found:
        return 'jinja'
    return None


def _not_allowed(language: str) -> str:
    label = 'YAQL' if language == 'yaql' else 'Jinja'
    allowed = ','.join(_allowed_languages())

    return (f'{label} expressions are disabled by the operator '
            f'([expressions] allowed_languages={allowed}).')


def validate(expression: str) -> None:
    """Check the syntax of every expression in ``expression``."""
    if not isinstance(expression, str):
        return

    yaql_found = _patterns.has_yaql(expression)
    jinja_found = _patterns.has_jinja(expression)

    if yaql_found and jinja_found:
        raise exc.JinjaGrammarException(MIXING_ERROR)

    if yaql_found:
        if 'yaql' not in _allowed_languages():
            raise exc.YaqlGrammarException(_not_allowed('yaql'))

        for match in _patterns.YAQL_RE.finditer(expression):
            _yaql.validate(match.group()[2:-2])
    elif jinja_found:
        if 'jinja' not in _allowed_languages():
            raise exc.JinjaGrammarException(_not_allowed('jinja'))

        _jinja.validate(expression)


def has_expression(value: Any) -> bool:
    """True if ``value`` (a string, or nested in dicts/lists) has one."""
    if isinstance(value, str):
        return _patterns.has_yaql(value) or _patterns.has_jinja(value)
    if isinstance(value, Mapping):
        return any(has_expression(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_expression(v) for v in value)
    return False


def _yaql_value(expression: str, context: Mapping[str, Any]) -> Any:
    # The commonest shapes (paths, task().result, select, string chains)
    # are answered directly when the answer is certain (see shortcuts).
    found = _shortcuts.evaluate(expression, context)
    if found is not _shortcuts.MISSING:
        return found
    return _yaql.evaluate(expression, context)


def _evaluate_yaql(text: str, context: Mapping[str, Any]) -> Any:
    whole = _patterns.WHOLE_YAQL_RE.match(text)

    if whole and '<%' not in whole.group(1):
        return _yaql_value(whole.group(1), context)

    def substitute(match: Any) -> str:
        return str(_yaql_value(match.group()[2:-2], context))

    return _patterns.YAQL_RE.sub(substitute, text)


def _evaluate_string(text: str, context: Mapping[str, Any]) -> Any:
    try:
        language = _language(text)
    except exc.ExpressionException:
        raise exc.YaqlEvaluationException(MIXING_ERROR) from None

    if language is None:
        return text

    if language not in _allowed_languages():
        if language == 'yaql':
            raise exc.YaqlEvaluationException(_not_allowed(language))
        raise exc.JinjaEvaluationException(_not_allowed(language))

    timeout = _options.current().expression_timeout
    try:
        with _deadline.bounded(timeout):
            if language == 'yaql':
                return _evaluate_yaql(text, context)
            return _jinja.evaluate(text, context)
    except _deadline.ExpressionTimeout:
        error = (exc.YaqlEvaluationException if language == 'yaql'
                 else exc.JinjaEvaluationException)
        raise error(
            f'Expression evaluation took longer than the limit of '
            f'{timeout:g} s ([limits] '
            f'expression_timeout) [expression={text.strip()[:200]}]'
        ) from None
    except AttributeError:
        # Upstream leaves a string whose evaluation hits an
        # AttributeError untouched; workflows rely on that.
        return text


def evaluate(expression: str, context: Mapping[str, Any],
             data_access: DataAccess | None = None) -> Any:
    """Evaluate a string that may hold YAQL or Jinja expressions.

    Non-strings are returned unchanged. ``context`` may be any Mapping
    (a ChainMap of the engine's scopes works and is not copied).
    """
    if not isinstance(expression, str):
        return expression

    if context is None:
        context = {}

    try:
        with _da.evaluation_frame(context, data_access):
            return _evaluate_string(expression, context)
    except _da.PassThrough as p:
        raise p.error from None


def _recursive(data: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(data, str):
        return _evaluate_string(data, context)
    if isinstance(data, dict):
        return {k: _recursive(v, context) for k, v in data.items()}
    if isinstance(data, list):
        return [_recursive(v, context) for v in data]
    if isinstance(data, tuple):
        return tuple(_recursive(v, context) for v in data)
    return data


def evaluate_recursively(data: Any, context: Mapping[str, Any],
                         data_access: DataAccess | None = None) -> Any:
    """Evaluate every string inside nested dicts/lists; returns a copy.

    Dict keys are not evaluated (as upstream).
    """
    if context is None:
        context = {}

    try:
        with _da.evaluation_frame(context, data_access):
            return _recursive(data, context)
    except _da.PassThrough as p:
        raise p.error from None


def warm_up() -> None:
    """Build the YAQL engine and Jinja environment now.

    The first YAQL evaluation otherwise pays for building yaql's parser
    (a few hundred milliseconds); servers call this at start-up.
    """
    _yaql.validate('$')
    _jinja.validate('{{ _ }}')


def reset_caches() -> None:
    """Drop engines and compiled-expression caches (tests, config)."""
    _yaql.reset()
    _jinja.reset()
