"""The settings of expression evaluation, passed in by the service.

The service installs an :class:`ExpressionSettings` with :func:`configure`
when it starts (``[expressions]``, ``[yaql]`` and the expression limits of
``[limits]`` in the configuration); until then :data:`DEFAULT` applies,
whose values are the configuration's defaults. The settings are read when
they are used, so a changed value applies to the next evaluation; the YAQL
engine options apply to the next engine built (after
:func:`mistral.expressions.reset_caches`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol


class YaqlSettings(Protocol):
    """The YAQL engine options (``[yaql]``)."""

    @property
    def limit_iterators(self) -> int: ...

    @property
    def memory_quota(self) -> int: ...

    @property
    def convert_input_data(self) -> bool: ...

    @property
    def convert_output_data(self) -> bool: ...

    @property
    def convert_tuples_to_lists(self) -> bool: ...

    @property
    def convert_sets_to_lists(self) -> bool: ...

    @property
    def iterable_dicts(self) -> bool: ...

    @property
    def keyword_operator(self) -> str: ...

    @property
    def allow_delegates(self) -> bool: ...


class ExpressionSettings(Protocol):
    """Everything expression evaluation reads of the configuration."""

    @property
    def allowed_languages(self) -> Sequence[str]: ...

    @property
    def expression_timeout(self) -> float: ...

    @property
    def max_expression_result_kb(self) -> int: ...

    # yaml_parse() loads YAML under the limits of DSL documents.
    @property
    def max_definition_size_kb(self) -> int: ...

    @property
    def max_nesting_depth(self) -> int: ...

    @property
    def yaql(self) -> YaqlSettings: ...


@dataclasses.dataclass(frozen=True)
class YaqlOptions:
    """Fixed YAQL options; the defaults are those of ``[yaql]``."""

    limit_iterators: int = -1
    memory_quota: int = -1
    convert_input_data: bool = True
    convert_output_data: bool = True
    convert_tuples_to_lists: bool = True
    convert_sets_to_lists: bool = False
    iterable_dicts: bool = False
    keyword_operator: str = '=>'
    allow_delegates: bool = False


@dataclasses.dataclass(frozen=True)
class ExpressionOptions:
    """Fixed settings; the defaults are those of the configuration."""

    allowed_languages: Sequence[str] = ('yaql', 'jinja')
    expression_timeout: float = 30.0
    max_expression_result_kb: int = 10240
    max_definition_size_kb: int = 1024
    max_nesting_depth: int = 100
    yaql: YaqlSettings = YaqlOptions()


DEFAULT = ExpressionOptions()

_settings: ExpressionSettings = DEFAULT


def configure(settings: ExpressionSettings) -> None:
    """Use ``settings`` from now on (read when used, not copied).

    Call :func:`mistral.expressions.reset_caches` too after changing YAQL
    engine options of a running process.
    """
    global _settings
    _settings = settings


def current() -> ExpressionSettings:
    return _settings
