"""Inline parameters written so that upstream reads them as we do.

Upstream 23.0.0 parses ``key=value`` after an action, workflow or ad-hoc
``base`` name with a fixed set of value forms (quoted strings,
expressions, ``[...]``, ``true``/``false``/``null`` and digits); a bare
word matches none and is dropped without a word, and ``0.5`` is read as
``0`` (the digits before the dot). We read a bare word as a string and a
number as a number (``doc/source/user/differences.rst``, "Bare words in
inline parameters are strings").

Many corpus cases use the short form for something else than inline
syntax (``action: std.echo output=b``); on upstream they would only show
that one difference again. So before a case is played, on both sides,
each such value is rewritten to the form both read alike: a bare word
``b`` becomes ``"b"``, a number with a fraction ``0.5`` becomes
``<% 0.5 %>``. Cases about the inline syntax itself keep their text
(:data:`KEEP`). A rewritten case says so in the report.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# Cases whose subject is the inline syntax: played as written.
KEEP = frozenset({'err_bare_word_inline_param',
                  'adhoc_base_bare_word_inline_param'})

_KEY = re.compile(r'\s*([-_\w]+)=')
_UPSTREAM_LITERAL = re.compile(r'(\d+|true|false|null)')
_NUMBER = re.compile(r'-?\d+(\.\d+)?([eE][-+]?\d+)?')
_CLOSERS = {'"': '"', "'": "'", '<%': '%>', '{{': '}}', '{%': '%}'}


def rewrite_command(cmd: str) -> str:
    """``cmd`` (``name k=v ...``) with bare and fractional values in
    forms upstream parses as we do; other values untouched."""
    m = re.match(r'\S+', cmd)
    if not m or ' ' not in cmd:
        return cmd
    out = [cmd[:m.end()]]
    pos = m.end()
    while pos < len(cmd):
        km = _KEY.match(cmd, pos)
        if not km:
            # Not a key=value list we understand: leave the rest alone.
            out.append(cmd[pos:])
            break
        out.append(cmd[pos:km.end()])
        pos = km.end()
        end = _value_end(cmd, pos)
        value = cmd[pos:end]
        out.append(_portable(value))
        pos = end
    return ''.join(out)


def _value_end(cmd: str, pos: int) -> int:
    for opener, closer in _CLOSERS.items():
        if cmd.startswith(opener, pos):
            close = cmd.find(closer, pos + len(opener))
            return len(cmd) if close < 0 else close + len(closer)
    if cmd.startswith('[', pos):
        depth = 0
        for i in range(pos, len(cmd)):
            depth += {'[': 1, ']': -1}.get(cmd[i], 0)
            if depth == 0:
                return i + 1
        return len(cmd)
    m = re.compile(r'\S*').match(cmd, pos)
    return m.end() if m else pos


def _portable(value: str) -> str:
    if not value or value[0] in '"\'[' or value.startswith(
            ('<%', '{{', '{%')):
        return value
    if _UPSTREAM_LITERAL.fullmatch(value):
        return value
    if _NUMBER.fullmatch(value):
        return '<% ' + value + ' %>'
    if '"' not in value:
        return '"%s"' % value
    if "'" not in value:
        return "'%s'" % value
    return value


def _walk(node: Any) -> bool:
    changed = False
    if isinstance(node, dict):
        for key, val in list(node.items()):
            if key in ('action', 'workflow', 'base') and \
                    isinstance(val, str):
                new = rewrite_command(val)
                if new != val:
                    node[key] = new
                    changed = True
            else:
                changed = _walk(val) or changed
    elif isinstance(node, list):
        for item in node:
            changed = _walk(item) or changed
    return changed


def rewrite_text(text: str) -> str:
    """A definition text with its inline parameters made portable; the
    text itself when nothing needed it (so most cases run verbatim)."""
    if not text:
        return text
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        # Not YAML: both servers get it as it is (and refuse it).
        return text
    if not _walk(doc):
        return text
    return yaml.safe_dump(doc, default_flow_style=False, sort_keys=False)


def rewrite_case(case: dict[str, Any]) -> bool:
    """Rewrite a case's definitions in place; whether anything changed."""
    if case['name'] in KEEP:
        return False
    changed = False
    specs = [case] + list(case.get('extra') or [])
    for spec in specs:
        for key in ('workflows', 'actions', 'workbook'):
            if spec.get(key):
                new = rewrite_text(spec[key])
                if new != spec[key]:
                    spec[key] = new
                    changed = True
    return changed
