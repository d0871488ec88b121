"""Regular expressions that find YAQL and Jinja expressions in strings."""

from __future__ import annotations

import re

# Non-greedy, so one string may hold several inline expressions. DOTALL
# because YAML block scalars put newlines inside expressions.
INLINE_YAQL = r'<%.*?%>'
JINJA_EXPRESSION = r'{{.*?}}'
JINJA_STATEMENT = r'{%.*?%}'
ANY_JINJA = JINJA_EXPRESSION + '|' + JINJA_STATEMENT

YAQL_RE = re.compile(INLINE_YAQL, re.DOTALL)
JINJA_RE = re.compile(ANY_JINJA, re.DOTALL)

# Whole-string forms: the evaluators return the native value for these.
WHOLE_YAQL_RE = re.compile(r'^<%(.*?)%>\Z', re.DOTALL)
# Exact match, as upstream: surrounding whitespace (e.g. the newline a YAML
# block scalar adds) makes it a template rendered to a string.
WHOLE_JINJA_RE = re.compile(r'^{{(.*?)}}\Z', re.DOTALL)

# Patterns other modules combine into bigger regular expressions (inline
# parameters, with-items, one-expression JSON-schema strings).
ALL = {
    'yaql': INLINE_YAQL,
    'jinja': ANY_JINJA,
}


def has_yaql(text: str) -> bool:
    return '<%' in text and YAQL_RE.search(text) is not None


def has_jinja(text: str) -> bool:
    return ('{{' in text or '{%' in text) and \
        JINJA_RE.search(text) is not None
