"""Hands the configuration to the pure core (lang, workflow, expressions).

The core never reads ``oslo.config``: it reads its limits and expression
settings through the small interfaces it owns
(:class:`mistral.lang.limits.LimitSettings` and
:class:`mistral.expressions.options.ExpressionSettings`). :func:`install`,
called by :func:`mistral.config.parse_args` in every process, gives it
views of the configuration that read each option when the core uses it,
so an option changed at run time (``set_override`` in tests, a reload)
applies as it did when the core read the configuration itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oslo_config import cfg

from mistral.expressions import options as expression_options
from mistral.lang import limits as lang_limits


class _DefinitionLimits:
    """The ``[limits]`` on definitions both views share."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._conf = conf

    @property
    def max_definition_size_kb(self) -> int:
        return self._conf.limits.max_definition_size_kb

    @property
    def max_nesting_depth(self) -> int:
        return self._conf.limits.max_nesting_depth


class ConfLimits(_DefinitionLimits):
    """``[limits]`` as the core's :class:`LimitSettings`."""

    @property
    def max_with_items_length(self) -> int:
        return self._conf.limits.max_with_items_length

    @property
    def max_fan_out(self) -> int:
        return self._conf.limits.max_fan_out

    @property
    def max_name_length(self) -> int:
        return self._conf.limits.max_name_length


class ConfExpressionSettings(_DefinitionLimits):
    """``[expressions]``, ``[yaql]`` and the expression limits as the
    core's :class:`ExpressionSettings`."""

    @property
    def allowed_languages(self) -> Sequence[str]:
        return self._conf.expressions.allowed_languages

    @property
    def expression_timeout(self) -> float:
        return self._conf.limits.expression_timeout

    @property
    def max_expression_result_kb(self) -> int:
        return self._conf.limits.max_expression_result_kb

    @property
    def yaql(self) -> Any:
        # The [yaql] group has exactly the attributes of YaqlSettings.
        return self._conf.yaql


def install(conf: cfg.ConfigOpts = cfg.CONF) -> None:
    """Make the core read its settings from ``conf`` from now on."""
    lang_limits.configure(ConfLimits(conf))
    expression_options.configure(ConfExpressionSettings(conf))

