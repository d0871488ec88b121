import pytest

from mistral.lang import parse_inline_params


@pytest.mark.parametrize('text, expected', [
    ('std.echo', ('std.echo', {})),
    ('std.echo output="x" n=1', ('std.echo', {'output': 'x', 'n': 1})),
    ("std.echo output='a b'", ('std.echo', {'output': 'a b'})),
    ('std.echo output="<% $.a %>, <% $.b %>"',
     ('std.echo', {'output': '<% $.a %>, <% $.b %>'})),
    ('std.echo output=<% $.a + 1 %>',
     ('std.echo', {'output': '<% $.a + 1 %>'})),
    ('std.echo output={{ _.a }}', ('std.echo', {'output': '{{ _.a }}'})),
    ('std.echo output=[1, 2, "x"]', ('std.echo', {'output': [1, 2, 'x']})),
    ('std.echo output={"a": [1]}', ('std.echo', {'output': {'a': [1]}})),
    ('std.echo a=true b=false c=null', ('std.echo', {'a': True, 'b': False,
                                                     'c': None})),
    ('std.echo delay=1.5 n=-2', ('std.echo', {'delay': 1.5, 'n': -2})),
    ('fail msg="boom now"', ('fail', {'msg': 'boom now'})),
    ('fail(msg=<% $.x %>)', ('fail', {'msg': '<% $.x %>'})),
    ('fail(msg="a", code=2)', ('fail', {'msg': 'a', 'code': 2})),
    ('<% $.action %> x=1', ('<% $.action %>', {'x': 1})),
    ('wb1.my_action key-with-dash="v"', ('wb1.my_action',
                                          {'key-with-dash': 'v'})),
])
def test_value_forms(text, expected):
    assert parse_inline_params(text) == expected


def test_bare_word_is_a_plain_string_deviation_from_upstream():
    # Upstream drops output=A entirely; we keep it as the string 'A'.
    assert parse_inline_params('std.echo output=A') == \
        ('std.echo', {'output': 'A'})


def test_tokens_without_equals_are_ignored():
    assert parse_inline_params('std.echo hello output=1') == \
        ('std.echo', {'output': 1})


@pytest.mark.parametrize('text, bad', [
    ('std.echo output="x', ['output']),
    ('std.echo a=1 b=<% $.x', ['b']),
    ('fail(msg=[1)', ['msg']),
    ('std.echo output="x" l=[1] e={{ 1 }}', []),
])
def test_unterminated_values_are_reported(text, bad):
    from mistral.lang.inline_params import unterminated

    assert unterminated(text) == bad
