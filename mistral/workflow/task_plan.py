"""What a starting task runs: actions or sub-workflows, with input (pure)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping

from mistral import exceptions as exc
from mistral import expressions
from mistral.lang import limits
from mistral.utils import dicts
from mistral.workflow import data_flow

if TYPE_CHECKING:
    from mistral.expressions.data_access import DataAccess
    from mistral.lang.task_spec import TaskSpec


@dataclasses.dataclass
class ActionRun:
    action_name: str
    input: dict[str, Any]
    index: int = 0
    safe_rerun: bool = False
    target: str | None = None


@dataclasses.dataclass
class WorkflowRun:
    workflow_name: str
    input: dict[str, Any]
    index: int = 0


@dataclasses.dataclass
class TaskPlan:
    type: str  # 'ACTION' or 'WORKFLOW'
    runs: list[ActionRun | WorkflowRun]


def _truthy(value: Any) -> bool:
    return bool(value)


def with_items_values(task_spec: TaskSpec, ctx: Mapping[str, Any],
                      data_access: DataAccess | None = None
                      ) -> list[dict[str, Any]] | None:
    """Per-item variables of a with-items task (None without with-items).

    Several clauses are zipped; their lists must have the same length.
    """
    if not task_spec.with_items:
        return None
    names, lists = [], []
    for var, source in task_spec.with_items:
        value = (expressions.evaluate(source, ctx, data_access)
                 if isinstance(source, str) else source)
        if value is None:
            value = []
        if isinstance(value, Mapping) or not isinstance(
                value, (list, tuple)):
            raise exc.InputException(
                "Wrong input of 'with-items' in task %s: %s must give a "
                "list, got %r" % (task_spec.name, source, value))
        names.append(var)
        lists.append(list(value))
    if len({len(x) for x in lists}) > 1:
        raise exc.InputException(
            "Wrong input of 'with-items' in task %s: the lists have "
            "different lengths %s" % (task_spec.name,
                                      [len(x) for x in lists]))
    limit = limits.current().max_with_items_length
    if lists and len(lists[0]) > limit:
        raise exc.InputException(
            "Wrong input of 'with-items' in task %s: %d items, the limit "
            "is %d ([limits] max_with_items_length)"
            % (task_spec.name, len(lists[0]), limit))
    # Same lengths: checked above.
    return [dict(zip(names, row, strict=True))
            for row in zip(*lists, strict=True)]


def plan(task_spec: TaskSpec, *, task_id: str, env: Mapping[str, Any],
         in_context: Mapping[str, Any], wf_context: Mapping[str, Any],
         wf_input: Mapping[str, Any],
         data_access: DataAccess | None = None) -> TaskPlan:
    """Evaluate what a task runs: one action or sub-workflow, or one per
    with-items element (in index order).

    Raises expression and input errors; the engine fails the task with the
    message.
    """
    ctx = data_flow.task_view(task_ex={'id': task_id, 'name': task_spec.name},
                              env=env, in_context=in_context,
                              wf_context=wf_context, wf_input=wf_input)
    items = with_items_values(task_spec, ctx, data_access)
    kind = 'WORKFLOW' if task_spec.workflow else 'ACTION'
    if items is None:
        return TaskPlan(kind, [_one(task_spec, ctx, env, data_access, 0)])
    runs = []
    for index, extra in enumerate(items):
        item_ctx = data_flow.task_view(
            task_ex={'id': task_id, 'name': task_spec.name}, env=env,
            in_context=in_context, wf_context=wf_context, wf_input=wf_input,
            extra=extra)
        runs.append(_one(task_spec, item_ctx, env, data_access, index))
    return TaskPlan(kind, runs)


def _one(task_spec: TaskSpec, ctx: Mapping[str, Any],
         env: Mapping[str, Any], data_access: DataAccess | None,
         index: int) -> ActionRun | WorkflowRun:
    raw_input = task_spec.input
    if isinstance(raw_input, str):
        value = expressions.evaluate(raw_input, ctx, data_access)
        if not isinstance(value, Mapping):
            raise exc.InputException(
                'Wrong dynamic input for task %s: the input expression '
                'must give a dictionary, got %r' % (task_spec.name, value))
        task_input = dict(value)
        if task_spec.inline_input:
            task_input = dicts.deep_merged(
                task_input, expressions.evaluate_recursively(
                    dict(task_spec.inline_input), ctx, data_access))
    else:
        task_input = expressions.evaluate_recursively(
            dict(raw_input or {}), ctx, data_access)

    if task_spec.workflow:
        name = expressions.evaluate(task_spec.workflow, ctx, data_access)
        return WorkflowRun(str(name), task_input, index)

    name = str(expressions.evaluate(task_spec.action or 'std.noop', ctx,
                                    data_access))
    # env.__actions.<name> holds default inputs; the task's own input wins.
    defaults = ((env or {}).get('__actions') or {}).get(name) or {}
    if defaults:
        task_input = {**defaults, **task_input}
    safe_rerun = task_spec.safe_rerun
    if isinstance(safe_rerun, str):
        safe_rerun = expressions.evaluate(safe_rerun, ctx, data_access)
    target = task_spec.target
    if isinstance(target, str):
        target = expressions.evaluate(target, ctx, data_access)
    return ActionRun(name, task_input, index=index,
                     safe_rerun=_truthy(safe_rerun), target=target or None)
