"""Every list and GET of the v2 API, ours against upstream's, field by field.

:func:`compare` walks both APIs over the same data (upstream on its own
database, ours on the copy the import made): every collection, every
item of it by id (and by name where the API takes names), and the
collections under an item (an execution's tasks and report, a task's
action and workflow executions). Items are compared field by field, in
order; fields that carry JSON text are compared parsed.

Differences that are expected are listed in :data:`ALLOWED`, each with its
reason (all are differences of the API itself, seen on our own data too,
not of the import); anything else is returned as a difference.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Callable, Sequence

import requests

# Fields whose value is JSON text on the wire (compared parsed).
JSON_FIELDS = frozenset((
    'input', 'output', 'params', 'published', 'published_global',
    'variables', 'workflow_input', 'workflow_params', 'result',
    'runtime_context'))



@dataclasses.dataclass(frozen=True)
class Allowance:
    """A difference that is expected, and why."""

    reason: str
    path: str                         # regular expression on the path
    fields: tuple[str, ...]           # '<status>': the HTTP status
    when: Callable[[Any, Any], bool] = lambda mine, theirs: True

    def matches(self, path: str, field: str, mine: Any, theirs: Any
                ) -> bool:
        return field in self.fields and re.search(self.path, path) \
            is not None and self.when(mine, theirs)


# The documented list (doc/source/admin/upstream-migration.rst, "What the
# comparison allows"): each is a difference of the API itself, not of the
# imported data.
ALLOWED: tuple[Allowance, ...] = (
    Allowance('System actions: our descriptions are our own text; '
              "upstream's are its classes' docstrings.",
              r'^/actions(\[std\.[^\]]+\]|/std\.)', ('description',)),
    Allowance('GET /v2/actions/<id of an ad-hoc action>: upstream looks '
              'actions up by name only and answers 404; ours finds it.',
              r'^/actions/[0-9a-f-]{36}$', ('<status>',),
              lambda mine, theirs: (mine, theirs) == (200, 404)),
    Allowance('GET /v2/tasks/<id> of a task with a global publish: '
              'upstream answers 400 (its published_global evaluation '
              'fails on a detached row); ours answers the task.',
              r'^/tasks/[0-9a-f-]{36}$', ('<status>',),
              lambda mine, theirs: (mine, theirs) == (200, 400)),
    Allowance('The result of a task that ran no action (it failed before '
              'one started): upstream [], ours null.',
              r'^/tasks(/[0-9a-f-]{36}|/?\[[0-9a-f-]{36}\])$', ('result',),
              lambda mine, theirs: mine is None and theirs == []),
)

# Execution reports list children without an order upstream (the
# database's physical order: of last update on PostgreSQL, primary key on
# MariaDB, insertion on SQLite; it changes as rows change). Ours lists
# them by (created_at, id), as both list them in /tasks and
# /action_executions. Reports are compared with children in that order.
_REPORT_CHILDREN = ('task_executions', 'action_executions',
                    'workflow_executions')


def sort_report(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            value = sort_report(value)
            if key in _REPORT_CHILDREN and isinstance(value, list):
                value = sorted(value, key=lambda c: (
                    str(c.get('created_at')), str(c.get('id'))))
            out[key] = value
        return out
    if isinstance(node, list):
        return [sort_report(v) for v in node]
    return node


class Api:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip('/')
        self.http = requests.Session()

    def get(self, path: str, **params: Any) -> tuple[int, Any]:
        r = self.http.get(self.url + path, params=params, timeout=60)
        try:
            body = r.json()
        except ValueError:
            body = r.text
        return r.status_code, body


def _pattern(path: str, ids: set[str]) -> str:
    return '/'.join('*' if part in ids else part
                    for part in path.split('/'))


def _parsed(field: str, value: Any) -> Any:
    if field in JSON_FIELDS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class Comparison:
    def __init__(self, ours: str, upstream: str,
                 allowed: Sequence[Allowance] | None = None) -> None:
        self.ours = Api(ours)
        self.up = Api(upstream)
        self.allowed = ALLOWED if allowed is None else tuple(allowed)
        self.ids: set[str] = set()
        self.differences: list[str] = []
        self.compared: dict[str, int] = {}
        self.used: dict[str, int] = {}

    def diff(self, path: str, what: str, mine: Any, theirs: Any) -> None:
        self.differences.append('%s %s: ours %s, upstream %s' % (
            path, what, json.dumps(mine, sort_keys=True)[:300],
            json.dumps(theirs, sort_keys=True)[:300]))

    def _allowed(self, path: str, field: str, mine: Any = None,
                 theirs: Any = None) -> bool:
        for allowance in self.allowed:
            if allowance.matches(path, field, mine, theirs):
                self.used[allowance.reason] = self.used.get(
                    allowance.reason, 0) + 1
                return True
        return False

    def item(self, path: str, mine: Any, theirs: Any) -> None:
        if isinstance(mine, dict) and isinstance(theirs, dict):
            for field in sorted(set(mine) | set(theirs)):
                a = _parsed(field, mine.get(field))
                b = _parsed(field, theirs.get(field))
                if a == b or self._allowed(path, field, a, b):
                    continue
                if field not in mine or field not in theirs:
                    self.diff(path, 'field %s present only in %s' % (
                        field, 'ours' if field in mine else 'upstream'),
                        a, b)
                elif isinstance(a, dict) and isinstance(b, dict) and \
                        not isinstance(mine.get(field), str):
                    self.item('%s.%s' % (path, field), a, b)
                elif isinstance(a, list) and isinstance(b, list) and \
                        len(a) == len(b) and all(isinstance(x, dict)
                                                 for x in a + b):
                    for i, (x, y) in enumerate(zip(a, b, strict=True)):
                        self.item('%s.%s[%d]' % (path, field, i), x, y)
                else:
                    self.diff(path, 'field %s' % field, a, b)
            return
        if _parsed('', mine) != _parsed('', theirs):
            self.diff(path, 'body', mine, theirs)

    def get(self, path: str, **params: Any) -> tuple[Any, Any] | None:
        code_a, mine = self.ours.get(path, **params)
        code_b, theirs = self.up.get(path, **params)
        self.compared[_pattern(path, self.ids)] = self.compared.get(
            _pattern(path, self.ids), 0) + 1
        if code_a != code_b:
            if not self._allowed(path, '<status>', code_a, code_b):
                self.diff(path, 'status', code_a, code_b)
            return None
        if code_a != 200:
            return None
        return mine, theirs

    def collection(self, path: str, key: str,
                   id_field: str = 'id', **params: Any) -> list[dict]:
        """Compare a list (same items, same order); returns upstream's
        items."""
        got = self.get(path, **params)
        if got is None:
            return []
        mine, theirs = got
        a, b = mine.get(key, []), theirs.get(key, [])
        for x in a + b:
            if isinstance(x, dict) and x.get(id_field):
                self.ids.add(str(x[id_field]))
        ids_a = [x.get(id_field) for x in a]
        ids_b = [x.get(id_field) for x in b]
        if ids_a != ids_b:
            if sorted(map(str, ids_a)) == sorted(map(str, ids_b)):
                self.diff(path, 'order', ids_a, ids_b)
            else:
                self.diff(path, 'items', sorted(set(map(str, ids_a)) -
                                                set(map(str, ids_b))),
                          sorted(set(map(str, ids_b)) -
                                 set(map(str, ids_a))))
        by_id = {x.get(id_field): x for x in a}
        for y in b:
            x = by_id.get(y.get(id_field))
            if x is not None:
                self.item('%s[%s]' % (path, y.get(id_field)), x, y)
        for k in set(mine) | set(theirs):
            if k != key and mine.get(k) != theirs.get(k):
                if not self._allowed(path, k, mine.get(k), theirs.get(k)):
                    self.diff(path, 'field %s' % k, mine.get(k),
                              theirs.get(k))
        return b

    def one(self, path: str, **params: Any) -> Any:
        got = self.get(path, **params)
        if got is None:
            return None
        mine, theirs = got
        if path.endswith('/report'):
            mine, theirs = sort_report(mine), sort_report(theirs)
        self.item(path, mine, theirs)
        return theirs


def compare(ours: str, upstream: str,
            allowed: Sequence[Allowance] | None = None,
            extra: Callable[[Comparison], None] | None = None
            ) -> Comparison:
    """Walk both APIs; returns the :class:`Comparison` (``differences``
    empty when they agree)."""
    c = Comparison(ours, upstream, allowed)
    for wb in c.collection('/workbooks', 'workbooks'):
        c.one('/workbooks/%s' % wb['name'],
              namespace=wb.get('namespace') or '')
    for wf in c.collection('/workflows', 'workflows'):
        c.one('/workflows/%s' % wf['id'])
        c.one('/workflows/%s' % wf['name'],
              namespace=wf.get('namespace') or '')
    for action in c.collection('/actions', 'actions', id_field='name'):
        if action.get('id'):
            c.one('/actions/%s' % action['id'])
    for env in c.collection('/environments', 'environments'):
        c.one('/environments/%s' % env['name'])
    for cs in c.collection('/code_sources', 'code_sources'):
        c.one('/code_sources/%s' % cs['id'])
    for da in c.collection('/dynamic_actions', 'dynamic_actions'):
        c.one('/dynamic_actions/%s' % da['id'])
    for ct in c.collection('/cron_triggers', 'cron_triggers'):
        c.one('/cron_triggers/%s' % ct['name'])
        c.one('/cron_triggers/%s' % ct['id'])
    for et in c.collection('/event_triggers', 'event_triggers'):
        c.one('/event_triggers/%s' % et['id'])
    c.one('/maintenance')
    for ex in c.collection('/executions', 'executions'):
        c.one('/executions/%s' % ex['id'])
        for task in c.collection('/executions/%s/tasks' % ex['id'],
                                 'tasks'):
            c.ids.add(task['id'])
        c.one('/executions/%s/report' % ex['id'])
    for task in c.collection('/tasks', 'tasks'):
        c.one('/tasks/%s' % task['id'])
        c.collection('/tasks/%s/action_executions' % task['id'],
                     'action_executions')
        c.collection('/tasks/%s/workflow_executions' % task['id'],
                     'executions')
    for aex in c.collection('/action_executions', 'action_executions'):
        c.one('/action_executions/%s' % aex['id'])
    if extra is not None:
        extra(c)
    return c
