"""Reverse workflows: run what a target task requires, and only that (pure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, cast

from mistral import exceptions as exc
from mistral.workflow import commands as cmds

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
