"""The configuration reaches the pure core through core_settings.

The core (lang, workflow, expressions) reads no configuration itself: it
has defaults equal to the options' defaults, and parse_args installs views
of the configuration that it reads when it checks a limit or evaluates an
expression.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import pytest
from oslo_config import cfg

from mistral import config
from mistral import exceptions as exc
from mistral import expressions
from mistral.config import core_settings
from mistral.expressions import options as expression_options
from mistral.lang import limits as lang_limits
from mistral.lang import parser
from mistral.workflow import task_plan

CONF = cfg.CONF

FAN_OUT = """
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      on-success: [b, c, d]
    b:
      action: std.noop
    c:
      action: std.noop
    d:
      action: std.noop
"""


@pytest.fixture
def installed() -> Iterator[None]:
    """Put the configuration views back after a test that replaces them."""
    yield
    core_settings.install(CONF)


def test_parse_args_installed_the_configuration_views():
    assert isinstance(lang_limits.current(), core_settings.ConfLimits)
    assert isinstance(expression_options.current(),
                      core_settings.ConfExpressionSettings)


def test_a_changed_limit_reaches_the_parser(conf):
    assert parser.parse_workflows(FAN_OUT)[0].name == 'wf'

    conf('max_fan_out', 2, group='limits')

    with pytest.raises(exc.InvalidModelException,
                       match=r'names 3 tasks .*limit is 2'):
        parser.parse_workflows(FAN_OUT)


def test_a_changed_definition_size_reaches_safe_yaml(conf):
    conf('max_definition_size_kb', 1, group='limits')

    with pytest.raises(exc.DSLParsingException, match='> 1 KiB'):
        parser.parse_workflows(FAN_OUT + '#' * 2048)


def test_a_changed_with_items_length_reaches_the_task_planner(conf):
    spec = parser.parse_workflows("""
version: '2.0'
wf:
  tasks:
    t:
      with-items: x in <% $.xs %>
      action: std.echo output=<% $.x %>
""")[0].tasks['t']
    assert len(task_plan.with_items_values(spec, {'xs': [1, 2, 3]})) == 3

    conf('max_with_items_length', 2, group='limits')

    with pytest.raises(exc.InputException, match='3 items, the limit is 2'):
        task_plan.with_items_values(spec, {'xs': [1, 2, 3]})


def test_changed_expression_settings_reach_the_evaluator(conf):
    assert expressions.evaluate('<% 1 + 1 %>', {}) == 2

    conf('allowed_languages', ['jinja'], group='expressions')
    conf('expression_timeout', 12.5, group='limits')
    conf('max_expression_result_kb', 3, group='limits')

    with pytest.raises(exc.YaqlEvaluationException, match='disabled'):
        expressions.evaluate('<% 1 + 1 %>', {})
    settings = expression_options.current()
    assert settings.expression_timeout == 12.5
    assert settings.max_expression_result_kb == 3
    with pytest.raises(exc.JinjaEvaluationException, match='3 KiB'):
        expressions.evaluate("{{ 'x' * 4096 }}", {})


def test_yaml_parse_applies_the_document_limits(conf):
    # yaml_parse() gets [limits] through the expressions' own settings
    # (the expressions do not import the language).
    deep = {'t': 'a: ' + '[' * 12 + '1' + ']' * 12}
    assert expressions.evaluate('<% yaml_parse($.t) %>', deep)['a']

    conf('max_nesting_depth', 10, group='limits')
    assert expression_options.current().max_nesting_depth == 10
    with pytest.raises(exc.ExpressionException, match='max_nesting_depth'):
        expressions.evaluate('<% yaml_parse($.t) %>', deep)

    conf('max_definition_size_kb', 1, group='limits')
    with pytest.raises(exc.ExpressionException,
                       match='max_definition_size_kb'):
        expressions.evaluate('<% yaml_parse($.t) %>', {'t': 'x' * 2048})


@pytest.fixture
def fresh_yaql() -> Iterator[None]:
    """Drop the YAQL engine built with this test's options."""
    yield
    expressions.reset_caches()


def test_a_changed_yaql_option_reaches_the_yaql_engine(conf, fresh_yaql):
    assert expressions.evaluate('<% list(1, 2) %>', {}) == [1, 2]

    conf('convert_tuples_to_lists', False, group='yaql')
    conf('convert_input_data', False, group='yaql')
    expressions.reset_caches()

    assert expressions.evaluate('<% list(1, 2) %>', {}) == (1, 2)
    assert expression_options.current().yaql.convert_input_data is False


def test_the_core_defaults_are_the_option_defaults():
    opts = dict(config.list_opts())

    def defaults(group: str) -> dict[str, object]:
        return {o.dest: o.default for o in opts[group]}

    limits = defaults('limits')
    for field in dataclasses.fields(lang_limits.Limits):
        assert getattr(lang_limits.DEFAULT, field.name) == limits[field.name]

    core = expression_options.DEFAULT
    assert list(core.allowed_languages) == \
        defaults('expressions')['allowed_languages']
    assert core.expression_timeout == limits['expression_timeout']
    assert core.max_expression_result_kb == \
        limits['max_expression_result_kb']
    assert core.max_definition_size_kb == limits['max_definition_size_kb']
    assert core.max_nesting_depth == limits['max_nesting_depth']
    yaql = defaults('yaql')
    for field in dataclasses.fields(expression_options.YaqlOptions):
        assert getattr(core.yaql, field.name) == yaql[field.name], field.name


def test_the_core_reads_only_what_it_is_given(conf, installed):
    conf('max_fan_out', 2, group='limits')
    conf('allowed_languages', ['jinja'], group='expressions')

    lang_limits.configure(lang_limits.Limits(max_fan_out=3))
    expressions.configure(expressions.ExpressionOptions())

    assert parser.parse_workflows(FAN_OUT)[0].name == 'wf'
    assert expressions.evaluate('<% 1 + 1 %>', {}) == 2

    lang_limits.configure(lang_limits.Limits(max_fan_out=2))
    with pytest.raises(exc.InvalidModelException, match='limit is 2'):
        parser.parse_workflows(FAN_OUT)
