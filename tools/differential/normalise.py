"""The three normalisations of a differential run (see the package
docstring for why each exists): ids, timestamps and error wording.
"""

from __future__ import annotations

import re
from typing import Any

ID = '<id>'
TIME = '<time>'

_UUID = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                   r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')
_TIME = re.compile(r'\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?'
                   r'(Z|[+-]\d{2}:?\d{2})?'
                   # RFC 1123, as in an HTTP Date header std.http returns
                   r'|(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} '
                   r'\d{4} \d{2}:\d{2}:\d{2} GMT')

# A text is an error message when it holds one of these (lower-cased).
ERROR_WORDS = ('error', 'fail', 'exception', 'invalid', 'not found',
               'traceback', 'cannot', "can't", 'unexpected', 'missing',
               'required', 'not allowed', 'refused', 'unknown', 'timeout',
               'timed out', 'cancel', 'must ', 'expected', 'not defined',
               'no such', 'unsupported', 'violat', 'does not')

# Words of the case's YAML that say nothing about what an error refers
# to: the language's keywords, the standard actions, expression
# functions and a few common English words that messages of either side
# use freely.
KEYWORDS = frozenset('''
version tasks task action actions workflow workflows workbook input output
publish publish-on-error on-success on-error on-complete success error
complete next type direct reverse requires join all with-items with items
concurrency retry count delay break-on continue-on timeout wait-before
wait-after pause-before keep-result safe-rerun target fail succeed pause
message msg std echo noop async_noop sleep http mistral_http ssh javascript
js email true false null none result results state state_info info
execution executions env vars var params param base base-input base_input
output-on-error description tags name names namespace yaql jinja len list
dict str int float bool json_parse json_dump let zip range this the and or
not for from to in is of by on at as be it its if else then than when was
were has have had can may will would could should expression expressions
value values key keys data index idx default defaults run runs ran started
start stop stopped running idle waiting paused cancelled skipped failed
succeeded id ids time from_json to_json task_ex_id action_ex_id wf_ex_id
caused failure failures exception exceptions unexpected got given workflow_
'''.split())

_WORD = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')


def ids_and_times(value: Any) -> Any:
    """``value`` with every UUID and timestamp replaced (recursively,
    dict keys included)."""
    if isinstance(value, str):
        return _TIME.sub(TIME, _UUID.sub(ID, value))
    if isinstance(value, list):
        return [ids_and_times(v) for v in value]
    if isinstance(value, dict):
        return {ids_and_times(k): ids_and_times(v)
                for k, v in value.items()}
    return value


def case_words(texts: list[str]) -> frozenset[str]:
    """The identifiers of a case's own texts that may name something an
    error refers to (keywords and short words left out)."""
    words: set[str] = set()
    for text in texts:
        for w in _WORD.findall(text or ''):
            if len(w) >= 2 and w.lower() not in KEYWORDS:
                words.add(w)
    return frozenset(words)


def is_error_text(text: Any) -> bool:
    if not isinstance(text, str):
        return False
    low = text.lower()
    return any(w in low for w in ERROR_WORDS)


def referents(text: str, words: frozenset[str]) -> frozenset[str]:
    """What an error message names among the case's words."""
    return frozenset(w for w in _WORD.findall(text) if w in words)


def same_error(a: str, b: str, words: frozenset[str]) -> bool:
    """Two error texts that differ only in wording: both are error
    messages and what one names of the case, the other names too or
    names more (a message may add the workflow's name, or the task's to
    the action's); two that name different things, such as two
    different tasks, are two different errors."""
    if not (is_error_text(a) and is_error_text(b)):
        return False
    ra, rb = referents(a, words), referents(b, words)
    return ra <= rb or rb <= ra
