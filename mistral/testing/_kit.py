"""Rehearsals: a workflow run in memory with mocked actions and fake time."""

from __future__ import annotations

import dataclasses
import datetime
import os
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
import yaml

from mistral.testing import _harness
from mistral.workflow import states

TERMINAL = (states.SUCCESS, states.ERROR, states.CANCELLED)


class Error:
    """A mocked action result that is an error (``{'error': value}``)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return 'error(%r)' % (self.value,)


def error(value: Any = 'mocked error') -> Error:
    """Mock a task's action as failing with ``value`` (its error
    result: ``task().result`` in on-error, the task's state_info)."""
    return Error(value)


class Sequence_:
    """Mocked results consumed one per action run, in order (with-items
    elements, retry attempts, reruns); the last one repeats."""

    def __init__(self, values: Sequence[Any]) -> None:
        if not values:
            raise ValueError('sequence() needs at least one result')
        self.values = list(values)

    def __repr__(self) -> str:
        return 'sequence(%s)' % ', '.join(repr(v) for v in self.values)


def sequence(*values: Any) -> Sequence_:
    """One mocked result per action run of the task, in order: with-items
    elements, retry attempts and reruns each take the next; after the last
    one it repeats. Elements may be values, :func:`error`, :data:`PENDING`
    or :data:`REAL`."""
    return Sequence_(values)


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: The action is asynchronous and does not answer: the task stays RUNNING
#: until :meth:`Rehearsal.complete` gives its result (or its timeout
#: policy fires).
PENDING = _Marker('PENDING')
#: Run the real action (the default for a task without a mock).
REAL = _Marker('REAL')

ActionCall = _harness.ActionCall
FakeClock = _harness.FakeClock
Mock = Any  # value | Error | Sequence_ | PENDING | REAL | callable


def _answer_of(spec: Any, call: ActionCall) -> Any:
    """A mock spec as the harness's answer."""
    if isinstance(spec, Sequence_):
        spec = spec.values[min(call.call, len(spec.values) - 1)]
    if callable(spec) and not isinstance(spec, (Error, _Marker)):
        spec = spec(call)
        if isinstance(spec, Sequence_):
            raise TypeError('a mock function returned sequence(); return '
                            'one result per call')
    if spec is REAL:
        return _harness.RUN
    if spec is PENDING:
        return None
    if isinstance(spec, Error):
        return {'error': spec.value}
    return {'data': spec}


def _lookup(mocks: Mapping[str, Mock], call: ActionCall) -> Any:
    keys = []
    if call.task is not None:
        if call.workflow:
            keys.append('%s.%s' % (call.workflow, call.task))
        keys.append(call.task)
    keys.append('action:' + call.action)
    for key in keys:
        if key in mocks:
            return _answer_of(mocks[key], call)
    return _harness.RUN


def mock_answers(mocks: Mapping[str, Mock]) -> Callable[[ActionCall], Any]:
    """The ``answer`` function of a :class:`Harness` that answers actions
    as :class:`Rehearsal` does with ``mocks`` (for driving the harness
    directly)."""
    frozen = dict(mocks)
    return lambda call: _lookup(frozen, call)


@dataclasses.dataclass(frozen=True)
class TaskRun:
    """One run of a task, as the engine stored it."""

    name: str
    workflow: str
    state: str
    state_info: str | None
    published: dict[str, Any]
    started_at: str | None
    finished_at: str | None
    id: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a rehearsed execution did (a snapshot taken after it ran).

    ``tasks`` are the runs of the started workflow's tasks in the order
    the engine created them; ``all_tasks`` adds those of its
    sub-workflows. ``elapsed``: fake seconds from the start of the clock
    to the snapshot (to the millisecond). ``errors`` are failures of the
    engine's own message handling (empty unless the engine has a bug).
    """

    id: str
    workflow: str
    state: str
    state_info: str | None
    input: dict[str, Any]
    output: dict[str, Any]
    tasks: list[TaskRun]
    all_tasks: list[TaskRun]
    clock: datetime.datetime
    elapsed: float
    errors: list[str]

    @property
    def task_names(self) -> list[str]:
        """The task sequence: names of the task runs, in order."""
        return [t.name for t in self.tasks]

    @property
    def published(self) -> dict[str, Any]:
        """Every variable the workflow's tasks published, merged in task
        order (a later task's value wins)."""
        merged: dict[str, Any] = {}
        for t in self.tasks:
            merged.update(t.published)
        return merged

    def runs(self, name: str) -> list[TaskRun]:
        return [t for t in self.tasks if t.name == name]

    def task(self, name: str) -> TaskRun:
        """The last run of task ``name``."""
        found = self.runs(name)
        if not found:
            raise KeyError('task %s did not run (ran: %s)'
                           % (name, ', '.join(self.task_names) or 'none'))
        return found[-1]

    def to_dict(self) -> dict[str, Any]:
        return {'id': self.id, 'workflow': self.workflow,
                'state': self.state, 'state_info': self.state_info,
                'input': self.input, 'output': self.output,
                'tasks': [t.to_dict() for t in self.tasks],
                'task_names': self.task_names,
                'published': self.published,
                'elapsed': self.elapsed,
                'errors': self.errors}

    def summary(self) -> str:
        """A readable account (what ``mistral-rehearse`` prints)."""
        import json

        lines = ['%s: %s' % (self.workflow, self.state)]
        if self.state_info and self.state != states.SUCCESS:
            lines.append('  ' + self.state_info.strip().replace(
                '\n', '\n  '))
        lines.append('tasks:')
        for i, t in enumerate(self.tasks, 1):
            line = '  %d. %s  %s' % (i, t.name, t.state)
            if t.published:
                line += '  published %s' % json.dumps(t.published,
                                                      sort_keys=True,
                                                      default=str)
            lines.append(line)
        lines.append('output: %s' % json.dumps(self.output, sort_keys=True,
                                               default=str))
        for e in self.errors:
            lines.append('engine error: %s' % e)
        return '\n'.join(lines)


def _text_of(definition: str | os.PathLike[str]) -> str:
    if isinstance(definition, os.PathLike):
        with open(definition) as f:
            return f.read()
    if '\n' not in definition and os.path.isfile(definition):
        with open(definition) as f:
            return f.read()
    return definition


def _is_workbook(text: str) -> bool:
    doc = yaml.safe_load(text)
    return isinstance(doc, dict) and ('workflows' in doc or 'actions' in doc)


def _time(value: datetime.datetime | None) -> str | None:
    # The API's format (whole seconds): the fake clock's microsecond
    # ticks are left out.
    return value.isoformat(' ', 'seconds') if value is not None else None


class Rehearsal:
    """A workflow (or workbook) definition stored in a private in-memory
    Mistral, ready to run with mocked actions and a fake clock::

        with Rehearsal(text, mocks={'get': {'id': 7}}) as r:
            r.start({'name': 'x'})
            assert r.outcome().state == 'SUCCESS'

    ``mocks`` maps a task name (or ``<workflow>.<task>``, or
    ``action:<action name>``) to its action's result: a value, an
    :func:`error`, a :func:`sequence`, :data:`PENDING`, :data:`REAL`, or
    a function of an :class:`ActionCall` returning one of those. Tasks
    without a mock run their real action (``std.sleep`` moves the fake
    clock instead of sleeping). ``actions``: ad-hoc action definitions
    stored first. ``workflow``: the workflow to start (needed when the
    text defines several; in a workbook its short name will do).
    ``conf``: ``{group: {option: value}}`` for the engine while it runs.
    """

    def __init__(self, definition: str | os.PathLike[str], *,
                 workflow: str | None = None,
                 actions: str | os.PathLike[str] | None = None,
                 mocks: Mapping[str, Mock] | None = None,
                 conf: dict[str, dict[str, Any]] | None = None,
                 start_time: datetime.datetime | None = None) -> None:
        self._text = _text_of(definition)
        self._actions = _text_of(actions) if actions is not None else None
        self._workflow = workflow
        self.mocks: dict[str, Mock] = dict(mocks or {})
        self.harness = _harness.Harness(
            clock=_harness.FakeClock(start_time), answer=self._answer,
            conf=conf)
        self._ex_id: str | None = None

    # -- life

    def __enter__(self) -> Rehearsal:
        self.harness.__enter__()
        try:
            self._workflow = self._store()
        except BaseException:
            self.harness.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.harness.__exit__(*exc_info)

    def close(self) -> None:
        self.harness.__exit__(None, None, None)

    @property
    def clock(self) -> _harness.FakeClock:
        return self.harness.clock

    def _answer(self, call: ActionCall) -> Any:
        return _lookup(self.mocks, call)

    def _store(self) -> str:
        from mistral.api.controllers.v2 import action as action_ctl
        from mistral.api.controllers.v2 import spec_parser
        from mistral.api.controllers.v2 import workbook as workbook_ctl
        from mistral.api.controllers.v2 import workflow as workflow_ctl
        from mistral.db import api as db_api

        ctx = self.harness.context
        parser = spec_parser.parser()
        with db_api.transaction() as s:
            if self._actions:
                for spec in parser.parse_actions(self._actions):
                    action_ctl._create(s, ctx, spec, spec.name, '',
                                       'private')
            if _is_workbook(self._text):
                spec = parser.parse_workbook(self._text)
                workbook_ctl._store(s, ctx, spec, '', 'private',
                                    update=False)
                names = ['%s.%s' % (spec.name, w) for w in spec.workflows]
                prefix = spec.name + '.'
            else:
                specs = parser.parse_workflows(self._text)
                workflow_ctl.create_definitions(s, ctx, specs, '',
                                                'private')
                names = [w.name for w in specs]
                prefix = ''
        wanted = self._workflow
        if wanted is None:
            if len(names) != 1:
                raise ValueError('the definition has several workflows '
                                 '(%s): say which one to start'
                                 % ', '.join(names))
            return names[0]
        if wanted not in names and prefix + wanted in names:
            wanted = prefix + wanted
        if wanted not in names:
            raise ValueError('no workflow %s in the definition (it has %s)'
                             % (wanted, ', '.join(names)))
        return wanted

    # -- driving

    def start(self, input: Mapping[str, Any] | None = None, *,
              run: bool = True, **params: Any) -> str:
        """Start the workflow with ``input`` (``params``: env,
        task_name, ...) and, with ``run``, let it run until it is
        finished or waits for something no clock can bring (a
        :data:`PENDING` action, a pause): timers fire at once, the fake
        clock jumping to each. Without ``run`` no time passes.
        Returns the execution id."""
        h = self.harness
        assert self._workflow is not None
        ex = h.engine.start_workflow(h.context, self._workflow,
                                     wf_input=dict(input or {}),
                                     params=params)
        self._ex_id = str(ex['id'])
        if run:
            self.run()
        else:
            h.drain()
        return self._ex_id

    def _terminal(self) -> bool:
        return self._state() in TERMINAL

    def _state(self) -> str | None:
        from mistral.db import api as db_api
        from mistral.db import models

        wf = models.WorkflowExecution
        with db_api.read_session() as s:
            state: str | None = s.execute(sa.select(wf.state).where(
                wf.id == self.execution_id)).scalar()
            return state

    @property
    def execution_id(self) -> str:
        if self._ex_id is None:
            raise _harness.HarnessError('start() the workflow first')
        return self._ex_id

    def run(self, max_seconds: float = 7 * 24 * 3600.0) -> None:
        """Handle everything pending and fire timers (jumping the clock)
        until the execution finishes or nothing is left to do."""
        self.harness.settle(until=self._terminal, max_seconds=max_seconds)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of fake time pass (timers due meanwhile
        fire)."""
        self.harness.advance(seconds)

    def complete(self, task: str, value: Any = None, *,
                 error: Any = None, run: bool = True) -> None:
        """Give the oldest running action of ``task`` (a :data:`PENDING`
        one) its result: ``value``, or ``error`` when given."""
        from mistral.db import api as db_api
        from mistral.db import models

        ax, tx = models.ActionExecution, models.TaskExecution
        with db_api.read_session() as s:
            found = s.execute(
                sa.select(ax.id).join(tx, tx.id == ax.task_execution_id)
                .where(tx.name == task, ax.state == states.RUNNING)
                .order_by(sa.literal_column('action_executions_v2.rowid'))
            ).scalars().first()
        if found is None:
            raise _harness.HarnessError('task %s has no running action'
                                        % task)
        result = {'error': error} if error is not None else {'data': value}
        h = self.harness
        h.engine.on_action_complete(h.context, found, result)
        if run:
            self.run()
        else:
            h.drain()

    def pause(self) -> None:
        h = self.harness
        h.engine.pause_workflow(h.context, self.execution_id)
        h.drain()

    def resume(self, env: dict[str, Any] | None = None,
               run: bool = True) -> None:
        h = self.harness
        h.engine.resume_workflow(h.context, self.execution_id, env=env)
        if run:
            self.run()
        else:
            h.drain()

    # -- reading

    def outcome(self, execution_id: str | None = None) -> Outcome:
        """A snapshot of the execution (default: the one started)."""
        from sqlalchemy import orm

        from mistral.db import api as db_api
        from mistral.db import models

        ex_id = execution_id or self.execution_id
        wf, tx = models.WorkflowExecution, models.TaskExecution
        with db_api.read_session() as s:
            ex = s.get(wf, ex_id, options=[orm.undefer(wf.output)])
            if ex is None:
                raise _harness.HarnessError('no execution %s' % ex_id)
            root = ex.root_execution_id or ex.id
            tree = set(s.execute(sa.select(wf.id).where(sa.or_(
                wf.id == ex.id, wf.root_execution_id == root))).scalars())
            rows = s.execute(sa.select(tx).where(
                tx.workflow_execution_id.in_(tree)).order_by(
                sa.literal_column('task_executions_v2.rowid'))
            ).scalars().all()
            runs = [(t.workflow_execution_id,
                     TaskRun(name=t.name or '', workflow=t.workflow_name or '',
                             state=t.state, state_info=t.state_info,
                             published=dict(t.published or {}),
                             started_at=_time(t.started_at),
                             finished_at=_time(t.finished_at), id=t.id))
                    for t in rows]
            return Outcome(
                id=ex.id, workflow=ex.workflow_name or '', state=ex.state,
                state_info=ex.state_info, input=dict(ex.input or {}),
                output=dict(ex.output or {}),
                tasks=[r for w, r in runs if w == ex.id],
                all_tasks=[r for _w, r in runs],
                clock=self.clock.peek(),
                elapsed=self.clock.elapsed(),
                errors=[repr(e) for e in self.harness.errors])


def rehearse(definition: str | os.PathLike[str],
             input: Mapping[str, Any] | None = None,
             mocks: Mapping[str, Mock] | None = None, *,
             workflow: str | None = None,
             actions: str | os.PathLike[str] | None = None,
             conf: dict[str, dict[str, Any]] | None = None,
             start_time: datetime.datetime | None = None,
             **params: Any) -> Outcome:
    """Run a workflow once in memory and return what it did.

    Timers fire without waiting (the fake clock jumps to them). See
    :class:`Rehearsal` for ``mocks`` and the other arguments; ``params``
    go to the start (``env``, ``task_name``...).
    """
    with Rehearsal(definition, workflow=workflow, actions=actions,
                   mocks=mocks, conf=conf, start_time=start_time) as r:
        r.start(input, **params)
        return r.outcome()


MockFunction = Callable[[ActionCall], Any]
