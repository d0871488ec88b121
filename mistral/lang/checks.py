"""Validation helpers shared by the spec modules."""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from mistral import exceptions as exc
from mistral import expressions
from mistral.lang import inline_params
from mistral.lang import limits

COMMANDS = ('noop', 'fail', 'succeed', 'pause')

MAX_TASK_NAME = 255
# A join task's name is part of a 255-character lock/unique key together
# with a "join-task-" prefix, an execution id and a dash.
MAX_JOIN_TASK_NAME = MAX_TASK_NAME - 47

_WHITESPACE = re.compile(r'\s')


def where(**parts: str | None) -> str:
    """``workflow 'wf', task 't', keyword 'publish'`` for messages."""
    return ', '.join(f"{k} '{v}'" for k, v in parts.items() if v)


# Compiled validators, keyed by the id of a module-level schema constant.
_VALIDATORS: dict[int, Any] = {}


def _validator(schema: dict[str, Any]) -> Any:
    validator = _VALIDATORS.get(id(schema))

    if validator is None:
        validator = jsonschema.Draft7Validator(schema)
        _VALIDATORS[id(schema)] = validator

    return validator


def check_schema(data: Any, schema: dict[str, Any], place: str) -> None:
    """Raise InvalidModelException naming the offending keyword."""
    validator = _validator(schema)
    errors = list(validator.iter_errors(data))

    if not errors:
        return

    # Prefer our own description of a combined type ("an expression or an
    # integer >= 0") over the sub-error jsonschema would pick.
    error = max(errors, key=jsonschema.exceptions.relevance)
    if 'description' not in error.schema:
        error = jsonschema.exceptions.best_match(errors)

    path = '.'.join(str(p) for p in error.absolute_path)
    location = place + (f", keyword '{path}'" if path else '')

    if error.validator == 'additionalProperties':
        extra = sorted(
            set(error.instance) - set(error.schema.get('properties', {})))
        message = 'unknown keyword(s): ' + ', '.join(
            repr(k) for k in extra)
    elif 'description' in error.schema:
        message = f"{error.instance!r} is not {error.schema['description']}"
    else:
        message = error.message

    raise exc.InvalidModelException(f'Invalid DSL ({location}): {message}')


def check_expressions(value: Any, place: str) -> None:
    """Syntax-check every expression inside ``value`` (recursively)."""
    if isinstance(value, str):
        try:
            expressions.validate(value)
        except (exc.YaqlGrammarException, exc.JinjaGrammarException) as e:
            raise type(e)(f'{e} ({place})') from e
    elif isinstance(value, dict):
        for v in value.values():
            check_expressions(v, place)
    elif isinstance(value, (list, tuple)):
        for v in value:
            check_expressions(v, place)


def check_inline_params(text: str, place: str) -> None:
    """Reject inline parameters whose value is never closed."""
    bad = inline_params.unterminated(text)

    if bad:
        names = ', '.join(repr(b) for b in bad)
        raise exc.InvalidModelException(
            f'Invalid DSL ({place}): the value of parameter(s) {names} in '
            f'{text!r} is not closed (a quote, bracket or expression '
            'is missing its end).')


def check_name(name: Any, kind: str, place: str) -> None:
    if not isinstance(name, str) or not name:
        raise exc.InvalidModelException(
            f'{kind} name must be a non-empty string ({place}).')

    if _WHITESPACE.search(name):
        raise exc.InvalidModelException(
            f"{kind} name '{name}' must not contain spaces ({place}).")

    limit = limits.current().max_name_length
    if len(name) > limit:
        raise exc.InvalidModelException(
            f"{kind} name '{name[:40]}...' is {len(name)} characters long; "
            f'the limit is {limit} ([limits] max_name_length) ({place}).')


def check_fan_out(task: str, clause: str, count: int, place: str) -> None:
    """A transition names at most ``[limits] max_fan_out`` tasks."""
    limit = limits.current().max_fan_out
    if count > limit:
        raise exc.InvalidModelException(
            f"Task '{task}' names {count} tasks in '{clause}'; the limit is "
            f'{limit} ([limits] max_fan_out) ({place}).')
