import pytest

from mistral import exceptions as exc
from mistral import lang

WB = """version: '2.0'
name: wb1
description: my book
tags: [x]
workflows:
  w:
    tasks:
      a:
        action: act1

  w2:
    # a comment
    type: reverse
    tasks:
      b:
        action: std.noop
actions:
  act1:
    base: std.echo output=1
  act2:
    description: two
    base: std.http url="http://x" method=GET
    base-input:
      method: POST
      headers: <% $.h %>
    input:
      - h
      - timeout: 5
    output: <% $.content %>
"""


def test_workbook_structure():
    wb = lang.parse_workbook(WB)
    assert wb.name == 'wb1'
    assert wb.description == 'my book'
    assert wb.tags == ['x']
    assert list(wb.workflows) == ['w', 'w2']
    assert list(wb.actions) == ['act1', 'act2']
    assert wb.definition == WB
    assert wb.workflows['w2'].type == 'reverse'


def test_contained_definitions_are_cut_from_the_text():
    wb = lang.parse_workbook(WB)
    assert wb.actions['act1'].definition == \
        'act1:\n  base: std.echo output=1\n'
    assert wb.workflows['w'].definition == (
        'w:\n  tasks:\n    a:\n      action: act1\n')
    assert wb.workflows['w2'].definition.startswith('w2:\n  # a comment\n')
    assert lang.parse_yaml(wb.actions['act2'].definition)['act2'][
        'output'] == '<% $.content %>'


def test_adhoc_action_attributes():
    act = lang.parse_workbook(WB).actions['act2']
    assert act.name == 'act2'
    assert act.description == 'two'
    assert act.base == 'std.http'
    # The base's inline params win over base-input, as upstream.
    assert act.base_input == {'method': 'GET', 'headers': '<% $.h %>',
                              'url': 'http://x'}
    assert act.input_spec == ['h', {'timeout': 5}]
    assert act.required_input == ['h']
    assert act.input_defaults == {'timeout': 5}
    assert act.input_string == 'h, timeout="5"'
    assert act.output == '<% $.content %>'


def test_action_file():
    text = "version: '2.0'\nmy_echo:\n  base: std.echo output=<% $.x %>\n"
    [act] = lang.parse_actions(text)
    assert act.name == 'my_echo'
    assert act.base == 'std.echo'
    assert act.base_input == {'output': '<% $.x %>'}
    assert act.definition == text
    assert act.input_string == ''
    assert lang.action_spec_from_dict(act.to_dict()).base_input == \
        act.base_input


def test_several_actions_in_one_file():
    a, b = lang.parse_actions(
        "version: '2.0'\na:\n  base: std.noop\nb:\n  base: std.noop\n")
    assert lang.parse_yaml(a.definition) == {'a': {'base': 'std.noop'}}
    assert b.name == 'b'


@pytest.mark.parametrize('text, fragment', [
    ("version: '2.0'\na:\n  input: [x]\n", "'base'"),
    ("version: '2.0'\na:\n  base: std.noop\n  bsae: 1\n", "'bsae'"),
    ("version: '2.0'\na:\n  base: std.echo output=<% $.x + %>\n", "'a'"),
    ("version: '2.0'\na:\n  base: std.noop\n  output: <% $. %>\n",
     "keyword 'output'"),
])
def test_bad_actions(text, fragment):
    with pytest.raises(exc.DSLParsingException) as e:
        lang.parse_actions(text)
    assert fragment in str(e.value)


@pytest.mark.parametrize('text, fragment', [
    ("version: '2.0'\nworkflows: {}\n", 'name'),
    ("version: '2.0'\nname: wb\nextra: 1\n", "'extra'"),
    ("version: '2.0'\nname: wb\nworkflows:\n  version:\n    tasks:\n"
     "      a: {action: std.noop}\n", 'workflows'),
    ("version: '2.0'\nname: wb\nworkflows:\n  w:\n    tasks:\n"
     "      a: {action: std.noop, on-success: zz}\n", "Task 'zz' not found."),
    ("version: '3.0'\nname: wb\n", 'Unsupported DSL version'),
    ("version: abc\nname: wb\n", 'Unsupported DSL version'),
    ("version: true\nname: wb\n", 'Unsupported DSL version'),
    ("version: '2.0'\nname: wb\nactions:\n  version: '2'\n"
     "  a: {base: std.noop}\n", "'version' must be '2.0'"),
])
def test_bad_workbooks(text, fragment):
    with pytest.raises(exc.DSLParsingException) as e:
        lang.parse_workbook(text)
    assert fragment in str(e.value)


def test_workbook_versions_that_read_as_two():
    # As upstream: the workbook's version goes through float(); a
    # section's own version key must be '2.0' or the number 2.
    body = ("name: wb\nworkflows:\n  version: 2\n  w:\n    tasks:\n"
            "      a: {action: std.noop}\nactions:\n  version: '2.0'\n"
            "  ac: {base: std.noop}\n")
    for version in ("'2.0'", '2', '2.0', "'2'", "'2e0'"):
        wb = lang.parse_workbook(f'version: {version}\n' + body)
        assert list(wb.workflows) == ['w']
        assert list(wb.actions) == ['ac']


def test_flow_style_workbook_falls_back_to_dumped_definitions():
    wb = lang.parse_workbook(
        "{version: '2.0', name: wb, actions: {a: {base: std.noop}}}")
    assert lang.parse_yaml(wb.actions['a'].definition) == {
        'a': {'base': 'std.noop'}}
