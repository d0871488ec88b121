"""Reverse workflows: run what a target task requires, and only that (pure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, cast

from mistral import exceptions as exc
from mistral.workflow import commands as cmds
from mistral.workflow import states

if TYPE_CHECKING:
    from mistral.lang.workflow_spec import WorkflowSpec


def target_task(wf_spec: WorkflowSpec, params: dict[str, Any]) -> str:
    name = (params or {}).get('task_name')
    if not name or name not in wf_spec.tasks:
        raise exc.WorkflowException(
            'Invalid task name for reverse workflow %s: %r (params.task_name '
            'must name one of its tasks: %s)'
            % (wf_spec.name, name, ', '.join(wf_spec.tasks)))
    # Definitions are checked when stored, unless validation was skipped:
    # a cycle would leave nothing to run, so refuse to start instead.
    cycle = wf_spec.requires_cycle()
    if cycle:
        raise exc.WorkflowException(wf_spec.cycle_message(cycle))
    return cast(str, name)  # a key of wf_spec.tasks


def needed(wf_spec: WorkflowSpec, target: str) -> set[str]:
    """The target and everything it requires, transitively."""
    found: set[str] = set()
    stack = [target]
    while stack:
        name = stack.pop()
        if name in found:
            continue
        found.add(name)
        stack.extend(wf_spec.tasks[name].requires or [])
    return found


def start_commands(wf_spec: WorkflowSpec, target: str) -> list[cmds.Command]:
    names = needed(wf_spec, target)
    return [cmds.RunTask(task_name=n, in_context={})
            for n in wf_spec.tasks if n in names
            and not wf_spec.tasks[n].requires]


def ready_after(wf_spec: WorkflowSpec, target: str, finished: str,
                done: Iterable[str]) -> list[str]:
    """Tasks that can start now that ``finished`` succeeded: needed ones
    that require it and whose every requirement is done."""
    done_set = set(done) | {finished}
    names = needed(wf_spec, target)
    return [n for n in wf_spec.tasks
            if n in names and n not in done_set
            and finished in (wf_spec.tasks[n].requires or [])
            and all(r in done_set for r in wf_spec.tasks[n].requires)]


def runs_next(wf_type: str, state: str) -> bool:
    """Whether a task ending in ``state`` may start others in a reverse
    workflow (only a success does; a direct workflow's transitions are
    direct.decide's)."""
    return wf_type == 'reverse' and state == states.SUCCESS


def next_commands(wf_spec: WorkflowSpec, target: str, finished: str,
                  done: Iterable[str],
                  outbound: Callable[[str], Mapping[str, Any]],
                  task_id: Callable[[str], str]) -> list[cmds.Command]:
    """The tasks that start now that ``finished`` succeeded (``done``: the
    names of the tasks that succeeded before), in the spec's order. Each
    starts with the outbound contexts of its requirements merged in the
    order it lists them (a later one wins), triggered by each of them;
    ``outbound`` and ``task_id`` answer for a task that succeeded."""
    commands: list[cmds.Command] = []
    for name in ready_after(wf_spec, target, finished, done):
        ctx: dict[str, Any] = {}
        triggered = []
        for req in wf_spec.tasks[name].requires:
            ctx.update(outbound(req))
            triggered.append({'task_id': task_id(req),
                              'event': 'on-success'})
        commands.append(cmds.RunTask(name, ctx, triggered))
    return commands
