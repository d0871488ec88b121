import pytest

from mistral import exceptions as exc
from mistral.lang import parse_yaml


def test_empty_document_is_empty_dict():
    assert parse_yaml('') == {}
    assert parse_yaml('# only a comment\n') == {}


def test_at_sign_is_a_plain_scalar():
    assert parse_yaml('a: @foo') == {'a': '@foo'}


def test_timestamps_stay_strings():
    assert parse_yaml('d: 2026-01-01') == {'d': '2026-01-01'}


@pytest.mark.parametrize('text', [
    'a: &x 1\nb: *x',
    'a: &x [1]\n',
])
def test_anchors_and_aliases_are_refused(text):
    with pytest.raises(exc.DSLParsingException) as e:
        parse_yaml(text)
    assert 'not allowed' in str(e.value)


def test_syntax_error_reports_line_and_column():
    with pytest.raises(exc.DSLParsingException) as e:
        parse_yaml('a: 1\nb: [1\n')
    assert 'line' in str(e.value) and 'column' in str(e.value)


def test_python_tags_are_refused():
    with pytest.raises(exc.DSLParsingException):
        parse_yaml('a: !!python/object/apply:os.system ["true"]')


@pytest.mark.parametrize('text, expected', [
    ("a: 'x & y'\nb: '*'\n", {'a': 'x & y', 'b': '*'}),
    ('a: b*c\n', {'a': 'b*c'}),
    ('a: [1, 2]\nb: {c: null}\n', {'a': [1, 2], 'b': {'c': None}}),
])
def test_ampersand_and_star_in_plain_text(text, expected):
    assert parse_yaml(text) == expected


def test_both_loaders_agree_on_types():
    text = 'i: 1\nf: 1.5\nb: true\nn: ~\ns: "2"\nd: 2026-01-01\n'
    fast = parse_yaml(text)
    slow = parse_yaml(text + '# & forces the hardened loader\n')
    assert fast == slow == {'i': 1, 'f': 1.5, 'b': True, 'n': None,
                            's': '2', 'd': '2026-01-01'}
