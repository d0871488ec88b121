from mistral.lang import definition_cut

DOC = """---
version: '2.0'
name: wb
# top comment
workflows:
    "first":
        tasks:
            a:
                action: std.noop

    second: {tasks: {b: {action: std.noop}}}
actions:
  act:
    base: std.noop
    # trailing comment inside
  other:
    base: std.echo output=1
"""


def test_cut_quoted_key_with_wide_indentation():
    assert definition_cut.cut(DOC, 'workflows', 'first') == (
        '"first":\n    tasks:\n        a:\n            action: std.noop\n')


def test_cut_flow_style_item():
    assert definition_cut.cut(DOC, 'workflows', 'second') == \
        'second: {tasks: {b: {action: std.noop}}}\n'


def test_cut_keeps_inner_comments_and_stops_at_sibling():
    assert definition_cut.cut(DOC, 'actions', 'act') == (
        'act:\n  base: std.noop\n  # trailing comment inside\n')
    assert definition_cut.cut(DOC, 'actions', 'other') == (
        'other:\n  base: std.echo output=1\n')


def test_cut_does_not_cross_sections():
    assert definition_cut.cut(DOC, 'actions', 'first') is None
    assert definition_cut.cut(DOC, 'nosection', 'act') is None


def test_cut_nested_key_with_same_name_is_not_taken():
    doc = 'actions:\n  a:\n    base: std.noop\n    b: 1\n  b:\n    base: x\n'
    assert definition_cut.cut(doc, 'actions', 'b') == 'b:\n  base: x\n'
