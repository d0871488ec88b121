"""Cut one item's text out of a YAML document by indentation.

Workbook-contained workflows and actions store their own part of the
workbook text as their definition (``act1:\n  base: ...\n``).
"""

from __future__ import annotations

import re


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(' '))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith('#')


def cut(text: str, section: str | None, name: str) -> str | None:
    """Text of key ``name`` (under top-level ``section``), dedented.

    None when the layout is not plain block style (the caller then dumps
    the parsed data instead).
    """
    lines = text.splitlines()
    start = 0
    limit = len(lines)

    if section is not None:
        header = re.compile(r'^["\']?%s["\']?\s*:\s*(#.*)?$'
                            % re.escape(section))
        for i, line in enumerate(lines):
            if header.match(line):
                start = i + 1
                break
        else:
            return None
        for j in range(start, len(lines)):
            if _is_content(lines[j]) and _indent(lines[j]) == 0:
                limit = j
                break

    key = re.compile(r'^(\s*)["\']?%s["\']?\s*:(\s|$)' % re.escape(name))
    section_indent = None

    for i in range(start, limit):
        line = lines[i]
        if not _is_content(line):
            continue
        if section_indent is None:
            section_indent = _indent(line)
        match = key.match(line)
        if not match or _indent(line) != section_indent:
            continue

        own = _indent(line)
        end = i + 1
        while end < limit and (not _is_content(lines[end]) or
                               _indent(lines[end]) > own):
            end += 1
        body = lines[i:end]
        while body and not body[-1].strip():
            body.pop()
        return '\n'.join(item[own:] for item in body) + '\n'

    return None
