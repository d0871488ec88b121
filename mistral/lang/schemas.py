"""JSON schemas of the v2 DSL (structure only; semantics live in specs)."""

from __future__ import annotations

from typing import Any

_EXPR_BODY = r'(<%[\s\S]*%>|{{[\s\S]*}}|{%[\s\S]*%})'

NONEMPTY_STRING = {'type': 'string', 'minLength': 1}
UNIQUE_STRING_LIST = {
    'type': 'array', 'items': NONEMPTY_STRING, 'uniqueItems': True,
    'minItems': 1,
}
POSITIVE_INTEGER = {'type': 'integer', 'minimum': 0}
EXPRESSION = {
    'type': 'string',
    'pattern': r'^\s*' + _EXPR_BODY + r'\s*$',
    'description': 'an expression (<% %>, {{ }} or {% %})',
}
ANY_NULLABLE: dict[str, Any] = {}
NONEMPTY_DICT = {'type': 'object', 'minProperties': 1}
EXPRESSION_OR_POSITIVE_INTEGER = {
    'oneOf': [EXPRESSION, POSITIVE_INTEGER],
    'description': 'an expression or an integer >= 0',
}
EXPRESSION_OR_BOOLEAN = {
    'oneOf': [EXPRESSION, {'type': 'boolean'}],
    'description': 'an expression or a boolean',
}
ONE_KEY_DICT = {'type': 'object', 'minProperties': 1, 'maxProperties': 1}
INPUT_LIST = {
    'type': 'array',
    'items': {
        'oneOf': [NONEMPTY_STRING, ONE_KEY_DICT],
        'description': 'a name or a one-key mapping {name: default}',
    },
    'uniqueItems': True,
    'minItems': 1,
}
VERSION = {'anyOf': [NONEMPTY_STRING, POSITIVE_INTEGER, {'type': 'number'}]}

META = {
    'name': NONEMPTY_STRING,
    'version': VERSION,
    'description': NONEMPTY_STRING,
    'tags': UNIQUE_STRING_LIST,
}

RETRY_DICT = {
    'type': 'object',
    'properties': {
        'count': EXPRESSION_OR_POSITIVE_INTEGER,
        'delay': EXPRESSION_OR_POSITIVE_INTEGER,
        'break-on': EXPRESSION,
        'continue-on': EXPRESSION,
    },
    'required': ['delay', 'count'],
    'additionalProperties': False,
}

POLICIES = {
    'retry': {
        'oneOf': [RETRY_DICT, NONEMPTY_STRING],
        'description': 'a mapping with count and delay, or a one-line '
                       '"count=N delay=N" string',
    },
    'wait-before': EXPRESSION_OR_POSITIVE_INTEGER,
    'wait-after': EXPRESSION_OR_POSITIVE_INTEGER,
    'timeout': EXPRESSION_OR_POSITIVE_INTEGER,
    'pause-before': EXPRESSION_OR_BOOLEAN,
    'concurrency': EXPRESSION_OR_POSITIVE_INTEGER,
    'fail-on': EXPRESSION_OR_BOOLEAN,
}

# On-clauses are checked by hand (specs.on_clause) for clearer messages;
# the schema only admits the possible top-level shapes.
ON_CLAUSE = {'type': ['string', 'array', 'object']}

DIRECT_ONLY = {
    'join': {
        'oneOf': [{'enum': ['all', 'one']}, POSITIVE_INTEGER],
        'description': "'all', 'one' or an integer >= 0",
    },
    'on-complete': ON_CLAUSE,
    'on-success': ON_CLAUSE,
    'on-error': ON_CLAUSE,
    'on-skip': ON_CLAUSE,
}

REVERSE_ONLY = {
    'requires': {
        'oneOf': [NONEMPTY_STRING, UNIQUE_STRING_LIST],
        'description': 'a task name or a list of unique task names',
    },
}

_TASK_COMMON = {
    **META,
    'type': {'enum': ['direct', 'reverse']},
    'action': NONEMPTY_STRING,
    'workflow': NONEMPTY_STRING,
    'input': {
        'oneOf': [NONEMPTY_DICT, NONEMPTY_STRING],
        'description': 'a non-empty mapping or an expression',
    },
    'with-items': {
        'oneOf': [NONEMPTY_STRING, UNIQUE_STRING_LIST],
        'description': 'a "var in <list>" string or a list of them',
    },
    'publish': NONEMPTY_DICT,
    'publish-on-error': NONEMPTY_DICT,
    'publish-on-skip': NONEMPTY_DICT,
    'target': NONEMPTY_STRING,
    'keep-result': EXPRESSION_OR_BOOLEAN,
    'safe-rerun': EXPRESSION_OR_BOOLEAN,
    **POLICIES,
}

DIRECT_TASK = {
    'type': 'object',
    'properties': {**_TASK_COMMON, **DIRECT_ONLY},
    'additionalProperties': False,
}

REVERSE_TASK = {
    'type': 'object',
    'properties': {**_TASK_COMMON, **REVERSE_ONLY},
    'additionalProperties': False,
}

_DEFAULTS_COMMON = {**POLICIES, 'safe-rerun': EXPRESSION_OR_BOOLEAN}

DIRECT_TASK_DEFAULTS = {
    'type': 'object',
    'properties': {
        **_DEFAULTS_COMMON,
        **{k: v for k, v in DIRECT_ONLY.items() if k != 'join'},
    },
    'additionalProperties': False,
}

REVERSE_TASK_DEFAULTS = {
    'type': 'object',
    'properties': {**_DEFAULTS_COMMON, **REVERSE_ONLY},
    'additionalProperties': False,
}

WORKFLOW = {
    'type': 'object',
    'properties': {
        **META,
        'type': {'enum': ['direct', 'reverse']},
        'task-defaults': {'type': 'object'},
        'input': INPUT_LIST,
        'output': NONEMPTY_DICT,
        'output-on-error': NONEMPTY_DICT,
        'vars': NONEMPTY_DICT,
        'tasks': {'type': 'object', 'minProperties': 1},
    },
    'required': ['tasks'],
    'additionalProperties': False,
}

ACTION = {
    'type': 'object',
    'properties': {
        **META,
        'base': NONEMPTY_STRING,
        'base-input': NONEMPTY_DICT,
        'input': INPUT_LIST,
        'output': ANY_NULLABLE,
    },
    'required': ['base'],
    'additionalProperties': False,
}

# 'version' is allowed too (checked by the parser: it must be 2.0).
_WB_ITEM_NAMES = r'^[\w-]+$'

WORKBOOK = {
    'type': 'object',
    'properties': {
        'version': VERSION,
        'name': NONEMPTY_STRING,
        'description': NONEMPTY_STRING,
        'tags': UNIQUE_STRING_LIST,
        'workflows': {
            'type': 'object',
            'propertyNames': {'pattern': _WB_ITEM_NAMES},
        },
        'actions': {
            'type': 'object',
            'propertyNames': {'pattern': _WB_ITEM_NAMES},
        },
    },
    'required': ['name'],
    'additionalProperties': False,
}
