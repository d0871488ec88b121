"""Dependency graphs of specs: reverse-workflow plans, ad-hoc chains."""

from __future__ import annotations

from collections.abc import Callable

from mistral import exceptions as exc
from mistral.lang.workflow_spec import WorkflowSpec


def reverse_plan(spec: WorkflowSpec, target: str) -> list[str]:
    """Tasks a reverse workflow runs to reach ``target``, in run order.

    Every task comes after the tasks it requires; ties keep document
    order. Raises WorkflowException for an unknown target or a cycle.
    """
    if target not in spec.tasks:
        raise exc.WorkflowException(
            f"Task '{target}' not found in workflow '{spec.name}'.")

    order = list(spec.tasks)
    result: list[str] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name):] + [name]
            raise exc.WorkflowException(
                f"Workflow '{spec.name}' has a cycle of 'requires': "
                + ' -> '.join(cycle))
        visiting.append(name)
        task = spec.tasks.get(name)
        if task is None:
            raise exc.WorkflowException(f"Task '{name}' not found.")
        for required in sorted(task.requires, key=order.index):
            visit(required)
        visiting.pop()
        done.add(name)
        result.append(name)

    visit(target)

    return result


def adhoc_chain(name: str,
                base_of: Callable[[str], str | None]) -> list[str]:
    """Ad-hoc actions from ``name`` down to a non-ad-hoc base.

    ``base_of(action)`` gives the base of an ad-hoc action, or None when
    the action is not ad-hoc (a system action). Raises
    InvalidModelException when the chain loops.
    """
    chain = [name]
    current = base_of(name)

    while current is not None:
        if current in chain:
            loop = ' -> '.join(chain[chain.index(current):] + [current])
            raise exc.InvalidModelException(
                f'Ad-hoc actions form a cycle: {loop}')
        chain.append(current)
        current = base_of(current)

    return chain
