"""Access to the DSL parser (a seam the unit tests replace)."""

from __future__ import annotations

from typing import Any


def parser() -> Any:
    from mistral.lang import parser as lang_parser

    return lang_parser
