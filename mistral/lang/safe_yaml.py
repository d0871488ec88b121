"""YAML of DSL documents: the hardened loader under the language's limits.

:mod:`mistral.utils.hardened_yaml` does the loading (anchors, aliases and
timestamps refused, ``@`` plain scalars, ``{}`` for an empty document);
the size and nesting limits are ``[limits] max_definition_size_kb`` and
``max_nesting_depth`` as :mod:`mistral.lang.limits` has them.
"""

from __future__ import annotations

from typing import Any

from mistral.lang import limits
from mistral.utils import hardened_yaml


def load(text: str) -> Any:
    """Parse one YAML document; errors become DSLParsingException."""
    settings = limits.current()
    return hardened_yaml.load(text, settings.max_definition_size_kb,
                              settings.max_nesting_depth)


def dump(data: Any) -> str:
    """Block-style YAML that keeps key order."""
    return hardened_yaml.dump(data)
