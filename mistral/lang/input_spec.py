"""Workflow/action ``input`` lists: ``['name', {'greeting': 'Hello'}]``."""

from __future__ import annotations

from typing import Any


def required_input(input_spec: list[Any] | None) -> list[str]:
    """Names without a default, in document order."""
    return [p for p in input_spec or [] if isinstance(p, str)]


def input_defaults(input_spec: list[Any] | None) -> dict[str, Any]:
    """Parameters with a default, in document order."""
    result: dict[str, Any] = {}
    for p in input_spec or []:
        if isinstance(p, dict):
            result.update(p)
    return result


def input_string(input_spec: list[Any] | None) -> str:
    """The API's ``input`` text: ``name, greeting="Hello"``.

    Defaults are written with ``str()`` inside double quotes, as upstream
    does: ``items="[1, 2, 3]"``, ``flag="True"``, ``x="None"``.
    """
    parts: list[str] = []
    for p in input_spec or []:
        if isinstance(p, dict):
            parts.extend(f'{k}="{v}"' for k, v in p.items())
        else:
            parts.append(str(p))
    return ', '.join(parts)
