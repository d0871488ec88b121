"""Task specifications: transitions, publish, policies, with-items."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from mistral import exceptions as exc
from mistral import expressions
from mistral.lang import checks
from mistral.lang import inline_params
from mistral.lang import limits
from mistral.utils import dicts

# The states get_publish() chooses a clause by: the values of SUCCESS,
# ERROR and SKIPPED in mistral.workflow.states, spelt here because the
# workflow core builds on the language, not the other way round
# (tests/unit/lang/test_publish_states.py checks that they agree).
PUBLISH_STATES = ('SUCCESS', 'ERROR', 'SKIPPED')
_SUCCESS, _ERROR, _SKIPPED = PUBLISH_STATES

ACTION_TASK = 'ACTION'
WORKFLOW_TASK = 'WORKFLOW'

ON_CLAUSES = ('on-success', 'on-error', 'on-complete', 'on-skip')
POLICY_KEYS = ('retry', 'wait-before', 'wait-after', 'timeout',
               'pause-before', 'concurrency', 'fail-on')

_WITH_ITEMS_RE = re.compile(
    r'^\s*([\w\-]+)\s+in\s+(\[[\s\S]*\]|<%[\s\S]*%>|{{[\s\S]*}})\s*$')
_PUBLISH_KEYS = ('branch', 'global', 'atomic')


@dataclass
class PublishSpec:
    """Advanced publish: branch (task), global (workflow) and atomic."""

    branch: dict[str, Any] | None = None
    global_: dict[str, Any] | None = None
    atomic: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        result = {}
        for key, value in (('branch', self.branch),
                           ('global', self.global_),
                           ('atomic', self.atomic)):
            if value is not None:
                result[key] = value
        return result


@dataclass
class Transition:
    """One target of an on-* clause."""

    name: str
    condition: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    is_engine_command: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {'name': self.name, 'condition': self.condition,
                'params': self.params,
                'is_engine_command': self.is_engine_command}


@dataclass
class OnClause:
    next: list[Transition]
    publish: PublishSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        return {'next': [t.to_dict() for t in self.next],
                'publish': self.publish.to_dict() if self.publish else None}


@dataclass
class RetrySpec:
    count: Any
    delay: Any
    break_on: str | None = None
    continue_on: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {'count': self.count, 'delay': self.delay,
                'break-on': self.break_on, 'continue-on': self.continue_on}


@dataclass
class Policies:
    """Task policies with task-defaults applied (task value wins)."""

    retry: RetrySpec | None = None
    wait_before: Any = None
    wait_after: Any = None
    timeout: Any = None
    pause_before: Any = None
    concurrency: Any = None
    fail_on: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            'retry': self.retry.to_dict() if self.retry else None,
            'wait-before': self.wait_before,
            'wait-after': self.wait_after,
            'timeout': self.timeout,
            'pause-before': self.pause_before,
            'concurrency': self.concurrency,
            'fail-on': self.fail_on,
        }


# ---------------------------------------------------------------- parsing


def _transition_items(raw: Any, place: str,
                      validate: bool) -> list[tuple[str, str | None]]:
    if raw is None:
        return []
    if isinstance(raw, (str, dict, int, float)):
        raw = [raw]
    if isinstance(raw, list) and not raw and validate:
        raise exc.InvalidModelException(
            f'Invalid DSL ({place}): the list of transitions is empty.')
    if not isinstance(raw, list):
        raise exc.InvalidModelException(
            f'Invalid DSL ({place}): expected a task name, a '
            '"task: <condition>" mapping or a list of them.')

    items: list[tuple[str, str | None]] = []

    for item in raw:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            item = str(item)

        if isinstance(item, str) and item:
            items.append((item, None))
        elif isinstance(item, dict) and len(item) == 1:
            name, cond = next(iter(item.items()))
            if validate and not (isinstance(cond, str) and
                                 expressions.has_expression(cond)):
                raise exc.InvalidModelException(
                    f"Invalid DSL ({place}): the condition of '{name}' "
                    'must be an expression.')
            items.append((str(name), cond))
        else:
            raise exc.InvalidModelException(
                f'Invalid DSL ({place}): {item!r} is not a task name or a '
                'one-key "task: <condition>" mapping.')

    if validate and len(set(map(repr, raw))) != len(raw):
        raise exc.InvalidModelException(
            f'Invalid DSL ({place}): duplicate transitions.')

    return items


def _publish_spec(raw: Any, place: str, validate: bool) -> PublishSpec:
    if validate:
        if not isinstance(raw, dict) or not raw:
            raise exc.InvalidModelException(
                f"Invalid DSL ({place}): 'publish' must be a mapping with "
                "'branch', 'global' or 'atomic'.")
        unknown = set(raw) - set(_PUBLISH_KEYS)
        if unknown:
            raise exc.InvalidModelException(
                f"Invalid DSL ({place}): unknown keyword(s) in 'publish': "
                + ', '.join(sorted(map(repr, unknown))))
        for key in _PUBLISH_KEYS:
            value = raw.get(key)
            if value is not None and not (isinstance(value, dict) and value):
                raise exc.InvalidModelException(
                    f"Invalid DSL ({place}): 'publish.{key}' must be a "
                    'non-empty mapping.')
        checks.check_expressions(raw, place)

    return PublishSpec(branch=raw.get('branch'), global_=raw.get('global'),
                       atomic=raw.get('atomic'))


def _is_advanced(raw: Any) -> bool:
    """``{publish: ..., next: ...}`` rather than ``{task: <condition>}``.

    A one-key ``{next: <% cond %>}`` or ``{publish: <% cond %>}`` is a
    conditional transition to a task named 'next' or 'publish'.
    """
    if not isinstance(raw, dict) or not raw or \
            not set(raw) <= {'publish', 'next'}:
        return False

    if len(raw) == 2:
        return True

    (key, value), = raw.items()

    if key == 'publish':
        return isinstance(value, dict)

    return not (isinstance(value, str) and expressions.has_expression(value))


def parse_on_clause(raw: Any, place: str, validate: bool) -> OnClause | None:
    if raw is None:
        return None

    publish = None

    if _is_advanced(raw):
        if 'publish' in raw:
            publish = _publish_spec(raw['publish'], place, validate)
        raw = raw.get('next')

    transitions = []

    for text, cond in _transition_items(raw, place, validate):
        name, params = inline_params.parse_inline_params(text)
        if validate:
            checks.check_inline_params(text, place)
            checks.check_expressions(cond, place)
            checks.check_expressions(params, place)
        transitions.append(Transition(name, cond, params))

    return OnClause(transitions, publish)


def parse_retry(raw: Any, place: str, validate: bool) -> RetrySpec | None:
    if raw is None:
        return None

    if isinstance(raw, str):
        if validate:
            checks.check_inline_params('retry ' + raw,
                                       place + ", keyword 'retry'")
        raw = inline_params.parse_params(raw)

    if validate:
        from mistral.lang import schemas

        checks.check_schema(raw, schemas.RETRY_DICT,
                            place + ", keyword 'retry'")
        checks.check_expressions(raw, place)

    return RetrySpec(count=raw.get('count'), delay=raw.get('delay'),
                     break_on=raw.get('break-on'),
                     continue_on=raw.get('continue-on'))


def parse_with_items(raw: Any, place: str,
                     validate: bool) -> list[tuple[str, Any]] | None:
    if raw is None:
        return None

    result = []

    for item in [raw] if isinstance(raw, str) else raw:
        match = _WITH_ITEMS_RE.match(item) if isinstance(item, str) else None

        if not match:
            raise exc.InvalidModelException(
                f"Invalid DSL ({place}): wrong 'with-items' element "
                f"{item!r}; use 'var in <% $.list %>' or 'var in [1, 2]'.")

        var, array = match.groups()

        if array.startswith('['):
            try:
                array = json.loads(array)
            except (ValueError, RecursionError) as e:
                raise exc.InvalidModelException(
                    f"Invalid DSL ({place}): the list in 'with-items' is "
                    f'not valid JSON: {array[:200]} ({e})') from e
            limit = limits.current().max_with_items_length
            if len(array) > limit:
                raise exc.InvalidModelException(
                    f"Invalid DSL ({place}): the list in 'with-items' has "
                    f'{len(array)} items; the limit is {limit} ([limits] '
                    'max_with_items_length).')
        elif validate:
            checks.check_expressions(array, place)

        result.append((var, array))

    return result


class TaskSpec:
    """One task, with task-defaults already applied."""

    def __init__(self, data: dict[str, Any], workflow_type: str,
                 defaults: dict[str, Any] | None, workflow_name: str,
                 validate: bool) -> None:
        self._data = data
        name = data['name']
        place = checks.where(workflow=workflow_name, task=name)
        defaults = defaults or {}

        self.name: str = name
        self.description: str | None = data.get('description')
        self.tags: list[str] = list(data.get('tags') or [])
        self.workflow_type = workflow_type

        action = data.get('action')
        workflow = data.get('workflow')
        params: dict[str, Any] = {}

        if validate and action and workflow:
            raise exc.InvalidModelException(
                f"Task '{name}' has both 'action' and 'workflow'; a task "
                f"runs one of them ({place}).")

        if workflow:
            workflow, params = inline_params.parse_inline_params(workflow)
            action = None
        elif action:
            action, params = inline_params.parse_inline_params(action)
        else:
            action = 'std.noop'

        self.action: str | None = action
        self.workflow: str | None = workflow

        raw_input = data.get('input')
        # Inline parameters win over ``input`` (nested dicts merged key by
        # key), as upstream merges them into the task's input.
        if isinstance(raw_input, str):
            # An expression yielding a dict; the engine merges the inline
            # parameters into what it gives.
            self.input: dict[str, Any] | str = raw_input
            self.inline_input: dict[str, Any] = params
        else:
            self.input = dicts.deep_merged(raw_input or {}, params)
            self.inline_input = params

        self.publish: dict[str, Any] | None = data.get('publish')
        self.publish_on_error: dict[str, Any] | None = \
            data.get('publish-on-error')
        self.publish_on_skip: dict[str, Any] | None = \
            data.get('publish-on-skip')

        def pick(key: str) -> Any:
            return data[key] if key in data else defaults.get(key)

        self.keep_result: bool | str = data.get('keep-result', True)
        self.safe_rerun: bool | str | None = pick('safe-rerun')
        self.target: str | None = data.get('target')
        self.with_items = parse_with_items(
            data.get('with-items'), place, validate)

        self.policies = Policies(
            retry=parse_retry(pick('retry'), place, validate),
            wait_before=pick('wait-before'),
            wait_after=pick('wait-after'),
            timeout=pick('timeout'),
            pause_before=pick('pause-before'),
            concurrency=pick('concurrency'),
            fail_on=pick('fail-on'),
        )

        join = data.get('join')
        # 'one' means 1; 0 means no join at all, as upstream treats it.
        self.join: str | int | None = 1 if join == 'one' else (join or None)

        self.on_success = self._on_clause('on-success', defaults, place,
                                          validate)
        self.on_error = self._on_clause('on-error', defaults, place,
                                        validate)
        self.on_complete = self._on_clause('on-complete', defaults, place,
                                           validate)
        self.on_skip = self._on_clause('on-skip', defaults, place, validate)

        requires = _as_list(data.get('requires')) + \
            _as_list(defaults.get('requires'))
        self.requires: list[str] = [
            r for i, r in enumerate(requires)
            if r != name and r not in requires[:i]
        ]

        if validate:
            self._validate(place)

    @property
    def type(self) -> str:
        return WORKFLOW_TASK if self.workflow else ACTION_TASK

    def _on_clause(self, key: str, defaults: dict[str, Any], place: str,
                   validate: bool) -> OnClause | None:
        own = parse_on_clause(self._data.get(key), f"{place}, '{key}'",
                              validate)

        if own is not None and own.next:
            return own

        default = parse_on_clause(
            defaults.get(key), f"task-defaults, '{key}'", False)

        if default is None:
            return own

        # Task-defaults transitions never point a task at itself.
        targets = [t for t in default.next if t.name != self.name]

        if own is not None:
            return OnClause(targets, own.publish)

        return OnClause(targets, None) if targets else None

    def _validate(self, place: str) -> None:
        if len(self.name) > checks.MAX_TASK_NAME:
            raise exc.InvalidModelException(
                f"Task name '{self.name}' is longer than "
                f'{checks.MAX_TASK_NAME} characters.')

        if self.join is not None and \
                len(self.name) > checks.MAX_JOIN_TASK_NAME:
            raise exc.InvalidModelException(
                f"Join task name '{self.name}' is longer than "
                f'{checks.MAX_JOIN_TASK_NAME} characters.')

        data = self._data

        for key in ('action', 'workflow'):
            if data.get(key):
                checks.check_inline_params(
                    data[key], f"{place}, keyword '{key}'")
                checks.check_expressions(
                    data[key], f"{place}, keyword '{key}'")

        for key in ('input', 'publish', 'publish-on-error',
                    'publish-on-skip', 'keep-result', 'safe-rerun',
                    'target', 'wait-before', 'wait-after', 'timeout',
                    'pause-before', 'concurrency', 'fail-on'):
            if key in data:
                checks.check_expressions(
                    data[key], f"{place}, keyword '{key}'")

    def all_transitions(self) -> list[Transition]:
        result = []
        for clause in (self.on_success, self.on_error, self.on_complete,
                       self.on_skip):
            if clause is not None:
                result.extend(clause.next)
        return result

    def get_publish(self, state: str) -> PublishSpec | None:
        """What to publish when the task ends in ``state``.

        The task-level ``publish`` (or ``publish-on-error``/``-on-skip``)
        and the matching on-clause's advanced ``publish`` are merged;
        ``on-complete``'s publish applies on SUCCESS and ERROR. Upstream
        drops the task-level publish when the on-clause has no ``branch``
        part; we merge instead (task-level values win on a key clash, as
        upstream's merge order gives).
        """
        clauses: tuple[OnClause | None, ...]
        if state == _SUCCESS:
            plain, clauses = self.publish, (self.on_success,
                                            self.on_complete)
        elif state == _ERROR:
            plain, clauses = self.publish_on_error, (self.on_error,
                                                     self.on_complete)
        elif state == _SKIPPED:
            plain, clauses = self.publish_on_skip, (self.on_skip,)
        else:
            return None

        branch: dict[str, Any] = {}
        global_: dict[str, Any] = {}
        atomic: dict[str, Any] = {}

        for clause in clauses:
            if clause is not None and clause.publish is not None:
                branch.update(clause.publish.branch or {})
                global_.update(clause.publish.global_ or {})
                atomic.update(clause.publish.atomic or {})

        branch.update(plain or {})

        if not (branch or global_ or atomic):
            return None

        return PublishSpec(branch or None, global_ or None, atomic or None)

    def to_dict(self) -> dict[str, Any]:
        """The task's DSL data (with name, version and type injected)."""
        return self._data

    def __repr__(self) -> str:
        target = f'workflow={self.workflow!r}' if self.workflow \
            else f'action={self.action!r}'
        return f'TaskSpec({self.name!r}, {target})'


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)
