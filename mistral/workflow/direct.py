"""Direct workflows: given a finished task, decide what happens next (pure).

Nothing here reads or writes storage. The engine passes in what it knows
(specs, the finished task, contexts) and a data-access object for
expression functions such as ``task()``, and gets back plain data: what the
task published and which commands follow.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Mapping

from mistral import exceptions as exc
from mistral import expressions
from mistral.workflow import commands as cmds
from mistral.workflow import data_flow
from mistral.workflow import states
from mistral.workflow import task_machine as tm

if TYPE_CHECKING:
    from mistral.expressions.data_access import DataAccess
    from mistral.lang.task_spec import OnClause
    from mistral.lang.task_spec import TaskSpec
    from mistral.lang.task_spec import Transition
    from mistral.lang.workflow_spec import WorkflowSpec


@dataclasses.dataclass
class FinishedTask:
    """A task that reached a completed state, as the core needs it."""

    id: str
    name: str
    state: str
    state_info: str | None
    result: Any
    in_context: Mapping[str, Any]
    # The state whose publish clauses apply, when not ``state``: a task
    # that fail-on failed publishes as the SUCCESS it was (as upstream,
    # which publishes before the policy changes the state).
    publish_state: str | None = None


@dataclasses.dataclass
class Decision:
    """What follows a finished task."""

    published: dict[str, Any]
    published_global: dict[str, Any]
    commands: list[cmds.Command]
    # [[task or command name, event], ...] as stored on the task.
    next_tasks: list[list[str]]
    error_handled: bool

    @property
    def has_next_tasks(self) -> bool:
        return any(isinstance(c, cmds.RunTask) for c in self.commands)


def start_commands(wf_spec: WorkflowSpec) -> list[cmds.Command]:
    """The first tasks of a direct workflow."""
    return [cmds.RunTask(task_name=name, in_context={})
            for name in wf_spec.start_task_names()]


class CurrentTaskAccess:
    """Data access that answers ``task()`` for the finishing task from
    memory (its row is not written yet) and delegates the rest."""

    def __init__(self, outer: DataAccess | None, task: dict[str, Any],
                 globals_: Mapping[str, Any] | None = None) -> None:
        self._outer = outer
        self._task = task
        # The workflow's globals including what this task just published
        # (not written to storage yet either), once there are any.
        self._globals = globals_

    def task(self, name: str | None,
             context: Mapping[str, Any]) -> dict[str, Any] | None:
        if name is None or name == self._task['name']:
            return self._task
        return self._outer.task(name, context) if self._outer else None

    def global_var(self, name: str, context: Mapping[str, Any]) -> Any:
        if self._globals is not None:
            return self._globals.get(name)
        return self._outer.global_var(name, context) if self._outer \
            else None

    def with_globals(self, globals_: Mapping[str, Any]) -> 'CurrentTaskAccess':
        return CurrentTaskAccess(self._outer, self._task, globals_)

    def __getattr__(self, item: str) -> Any:
        return getattr(self._outer, item)


def _clauses(task_spec: TaskSpec, state: str
             ) -> list[tuple[OnClause, str]]:
    """(on-* clause, event name) consulted for ``state``, in order."""
    found: list[tuple[OnClause | None, str]] = []
    if state == states.ERROR:
        found.append((task_spec.on_error, 'on-error'))
    elif state == states.SKIPPED:
        # Without on-skip a skipped task follows on-success.
        if task_spec.on_skip is not None:
            found.append((task_spec.on_skip, 'on-skip'))
        else:
            found.append((task_spec.on_success, 'on-success'))
    elif state == states.SUCCESS:
        found.append((task_spec.on_success, 'on-success'))
    if state in (states.SUCCESS, states.ERROR):
        found.append((task_spec.on_complete, 'on-complete'))
    return [(c, e) for c, e in found if c is not None]


def current_task_access(outer: DataAccess | None,
                        task: dict[str, Any]) -> CurrentTaskAccess:
    """Data access where ``task()`` is the given in-memory task record."""
    return CurrentTaskAccess(outer, task)


def _evaluate(data: Any, ctx: Mapping[str, Any],
              data_access: DataAccess | None) -> Any:
    return expressions.evaluate_recursively(data, ctx, data_access)


def decide(wf_spec: WorkflowSpec, task: FinishedTask, *,
           env: Mapping[str, Any], wf_context: Mapping[str, Any],
           wf_input: Mapping[str, Any], data_access: DataAccess | None = None,
           task_record: dict[str, Any] | None = None,
           merge_strategy: str = 'replace') -> Decision:
    """Publish and choose transitions for a finished task.

    ``task_record`` is what ``task()`` returns for this task inside its
    publish and transition expressions (id, name, state, result, ...).
    Raises expression errors; the engine turns them into a task failure.
    """
    task_spec = wf_spec.tasks[task.name]
    record = task_record or {'id': task.id, 'name': task.name,
                             'state': task.state,
                             'state_info': task.state_info,
                             'result': task.result}
    access = CurrentTaskAccess(data_access, record)
    ctx = data_flow.task_view(task_ex={'id': task.id, 'name': task.name},
                              env=env, in_context=task.in_context,
                              wf_context=wf_context, wf_input=wf_input)

    published: dict[str, Any] = {}
    published_global: dict[str, Any] = {}
    publish_state = task.publish_state or task.state
    publish_access = access
    if publish_state != task.state:
        publish_access = CurrentTaskAccess(data_access, {
            **record, 'state': publish_state, 'state_info': None})
    publish = task_spec.get_publish(publish_state)
    if publish is not None:
        if publish.branch:
            published = _evaluate(dict(publish.branch), ctx, publish_access)
        if publish.global_:
            published_global = _evaluate(dict(publish.global_), ctx,
                                         publish_access)
        if publish.atomic:
            published_global.update(_atomic(
                publish.atomic, task, env=env, wf_context=wf_context,
                published_global=published_global,
                branch=data_flow.outbound_context(
                    task.in_context, published, merge_strategy),
                wf_input=wf_input, access=publish_access))
    if published_global:
        # Transitions (and global()) see the globals this task published.
        access = access.with_globals({**wf_context, **published_global})

    outbound = data_flow.outbound_context(
        task.in_context, published, merge_strategy,
        defaults=collections.ChainMap(dict(wf_context), dict(wf_input)))
    # Transitions see what this task just published.
    tctx = data_flow.task_view(task_ex={'id': task.id, 'name': task.name},
                               env=env, in_context=outbound,
                               wf_context={**wf_context, **published_global},
                               wf_input=wf_input)

    commands: list[cmds.Command] = []
    next_tasks: list[list[str]] = []
    error_handled = False
    for clause, event in _clauses(task_spec, task.state):
        for tr in clause.next:
            if tr.condition is not None:
                if not expressions.evaluate(tr.condition, tctx, access):
                    continue
            next_tasks.append([tr.name, event])
            # on-complete never handles errors ("finally" semantics).
            if event == 'on-error':
                error_handled = True
            commands.append(_command_for(tr, task, event, outbound, tctx,
                                         access))

    return Decision(published=published, published_global=published_global,
                    commands=cmds.truncate_after_final(commands),
                    next_tasks=next_tasks, error_handled=error_handled)


def finish(wf_spec: WorkflowSpec, task: FinishedTask, *,
           names: tm.TaskNames,
           check_published: Callable[[Mapping[str, Any]], None],
           env: Mapping[str, Any], wf_context: Mapping[str, Any],
           wf_input: Mapping[str, Any], data_access: DataAccess | None = None,
           task_record: dict[str, Any] | None = None,
           merge_strategy: str = 'replace') -> Decision | tm.FailTask:
    """:func:`decide` for a task that ends, with what it publishes checked
    by ``check_published`` (the engine's size limit). An expression that
    fails, or a refused value, fails the task structurally: its on-error
    does not apply (tm.FailTask)."""
    try:
        decision = decide(wf_spec, task, env=env, wf_context=wf_context,
                          wf_input=wf_input, data_access=data_access,
                          task_record=task_record,
                          merge_strategy=merge_strategy)
        check_published(decision.published)
    except exc.MistralError as e:
        return tm.run_failed(e, names.workflow, names.task)
    return decision


def _atomic(atomic: Mapping[str, Any], task: FinishedTask, *,
            env: Mapping[str, Any], wf_context: Mapping[str, Any],
            published_global: Mapping[str, Any],
            branch: Mapping[str, Any], wf_input: Mapping[str, Any],
            access: CurrentTaskAccess) -> dict[str, Any]:
    """Evaluate an ``atomic`` publish: a read-modify-write of workflow
    globals.

    Unlike ``global``, ``$.name`` here reads the workflow's global value
    first (as it is now, including what this task's ``global`` part just
    published), and only then the task's branch context: a branch variable
    of the same name cannot shadow the value being updated. The engine
    calls this while it holds the workflow execution's lock and writes the
    result in the same transaction, so updates from parallel branches are
    applied one after another and none is lost.
    """
    globals_now = {**wf_context, **published_global}
    view = data_flow.task_view(task_ex={'id': task.id, 'name': task.name},
                               env=env, in_context=globals_now,
                               wf_context=branch, wf_input=wf_input)
    result: dict[str, Any] = _evaluate(dict(atomic), view,
                                       access.with_globals(globals_now))
    return result


def _command_for(tr: Transition, task: FinishedTask, event: str,
                 outbound: dict[str, Any], ctx: Mapping[str, Any],
                 access: DataAccess) -> cmds.Command:
    if tr.is_engine_command:
        params = _evaluate(dict(tr.params or {}), ctx, access)
        msg = params.get('msg')
        if tr.name == 'fail':
            return cmds.FailWorkflow(msg=msg)
        if tr.name == 'succeed':
            return cmds.SucceedWorkflow(msg=msg)
        if tr.name == 'pause':
            return cmds.PauseWorkflow(msg=msg)
        return cmds.Noop()
    return cmds.RunTask(task_name=tr.name, in_context=outbound,
                        triggered_by=[{'task_id': task.id, 'event': event}])
