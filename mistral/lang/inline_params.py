"""Inline parameters: ``std.http url="..." method=GET`` style strings.

Used by task ``action``/``workflow``, ad-hoc action ``base``, on-clause
engine commands (``fail msg="..."``, ``fail(msg=<% ... %>)``) and the
one-line ``retry: count=3 delay=1``.

Accepted value forms: ``"double"`` or ``'single'`` quoted text (quotes
removed, no escapes), ``<% yaql %>``, ``{{ jinja }}``, ``{% jinja %}``
(kept as strings for later evaluation), ``[json array]``, ``{json
object}``, ``true``/``false``/``null`` and numbers (JSON values).

DEVIATION from upstream: upstream silently drops a bare word such as
``output=A`` (no parameter at all, so the action then fails for a missing
input). Here a bare word is taken as the plain string ``'A'``.
"""

from __future__ import annotations

import json
import re
from typing import Any

_KEY_RE = re.compile(r'([-\w]+)=')
_NUMBER_RE = re.compile(r'-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?=$|[\s,)])')
_LITERAL_RE = re.compile(r'(true|false|null)(?=$|[\s,)])')
_COMMAND_RE = re.compile(r'[\w.\-]+[^=(\s"]*')
_BARE_RE = re.compile(r'[^\s,)]*')

_EXPRESSION_BRACKETS = (('<%', '%>'), ('{{', '}}'), ('{%', '%}'))


def _skip_expression(text: str, pos: int) -> int | None:
    """End index (exclusive) of an expression starting at ``pos``."""
    for opening, closing in _EXPRESSION_BRACKETS:
        if text.startswith(opening, pos):
            end = text.find(closing, pos + 2)
            return None if end < 0 else end + 2
    return None


def _skip_brackets(text: str, pos: int) -> int | None:
    """End of a balanced [...] / {...} starting at ``pos`` (quote-aware)."""
    depth = 0
    quote = None
    i = pos

    while i < len(text):
        ch = text[i]

        if quote:
            if ch == '\\':
                i += 1
            elif ch == quote:
                quote = None
        elif ch in '"\'':
            quote = ch
        elif ch in '[{':
            depth += 1
        elif ch in ']}':
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1

    return None


def _read_value(text: str, pos: int) -> tuple[Any, int, bool]:
    """Value starting at ``pos``: (value, end, complete).

    ``complete`` is False when a quote, bracket or expression opened at
    ``pos`` never closes; the value is then read as a bare word.
    """
    ch = text[pos] if pos < len(text) else ''
    opened = False

    if ch and ch in '"\'':
        end = text.find(ch, pos + 1)
        if end >= 0:
            return text[pos + 1:end], end + 1, True
        opened = True

    if text.startswith(('<%', '{{', '{%'), pos):
        closed = _skip_expression(text, pos)
        if closed is not None:
            return text[pos:closed], closed, True
        opened = True
    elif ch and ch in '[{':
        closed = _skip_brackets(text, pos)
        if closed is not None:
            raw = text[pos:closed]
            try:
                return json.loads(raw), closed, True
            except ValueError:
                return raw, closed, True
        opened = True

    for regexp in (_LITERAL_RE, _NUMBER_RE):
        match = regexp.match(text, pos)
        if match:
            return json.loads(match.group()), match.end(), True

    # Bare word (see the module docstring for the deviation).
    # _BARE_RE matches the empty string too, so it always matches.
    bare = _BARE_RE.match(text, pos)
    assert bare is not None
    return bare.group(), bare.end(), not opened


def _command(text: str) -> tuple[str, int]:
    end = _skip_expression(text, 0)
    if end is not None:
        return text[:end], end

    match = _COMMAND_RE.match(text)
    if not match:
        return '', 0

    return match.group(), match.end()


def _split(text: str) -> tuple[str, str]:
    """(command, parameter text); the call form's parentheses removed."""
    text = text.strip()
    command, pos = _command(text)

    if not command:
        return text, ''

    rest = text[pos:].strip()

    # Function-call form: fail(msg="...").
    if rest.startswith('(') and rest.endswith(')'):
        rest = rest[1:-1]

    return command, rest


def parse_inline_params(text: str) -> tuple[str, dict[str, Any]]:
    """Split ``'std.echo output="x" n=1'`` into name and parameters."""
    command, rest = _split(text)

    return command, parse_params(rest)


def unterminated(text: str) -> list[str]:
    """Parameters whose quoted, bracketed or expression value never ends.

    Parsing is lenient (such a value is read as a bare word); validation
    uses this to reject e.g. ``output=<% $.x`` with a clear message.
    """
    bad: list[str] = []
    parse_params(_split(text)[1], bad)
    return bad


def parse_params(text: str,
                 incomplete: list[str] | None = None) -> dict[str, Any]:
    """``key=value`` pairs only (the one-line ``retry`` form).

    Names of parameters with an unterminated value are appended to
    ``incomplete`` when it is given.
    """
    params: dict[str, Any] = {}
    i = 0

    while i < len(text):
        if text[i].isspace() or text[i] == ',':
            i += 1
            continue

        match = _KEY_RE.match(text, i)
        if not match:
            # Not a key=value pair: skip this token, as upstream does.
            while i < len(text) and not text[i].isspace():
                i += 1
            continue

        value, i, complete = _read_value(text, match.end())
        params[match.group(1)] = value
        if not complete and incomplete is not None:
            incomplete.append(match.group(1))

    return params
