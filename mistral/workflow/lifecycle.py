"""Start and end of a workflow execution (pure)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from mistral import exceptions as exc
from mistral import expressions
from mistral.utils import dicts
from mistral.workflow import data_flow
from mistral.workflow import states

if TYPE_CHECKING:
    from mistral.expressions.data_access import DataAccess
    from mistral.lang.workflow_spec import WorkflowSpec


def _spec_class_name(wf_spec: WorkflowSpec) -> str:
    return ('ReverseWorkflowSpec' if wf_spec.type == 'reverse'
            else 'DirectWorkflowSpec')


def complete_input(wf_spec: WorkflowSpec, given: Mapping[str, Any] | None
                   ) -> dict[str, Any]:
    """The workflow input with defaults filled in, in declaration order.

    Missing required or unexpected names are a 400 for the caller.
    """
    given = dict(given or {})
    declared = list(wf_spec.required_input) + [
        k for k in wf_spec.input_defaults if k not in wf_spec.required_input]
    missing = [n for n in wf_spec.required_input if n not in given]
    unexpected = [n for n in given if n not in declared]
    if missing or unexpected:
        # Only the non-empty lists are named, as upstream's message does.
        parts = ['name=%s' % wf_spec.name,
                 'class=%s' % _spec_class_name(wf_spec)]
        if missing:
            parts.append('missing=%s' % missing)
        if unexpected:
            parts.append('unexpected=%s' % unexpected)
        raise exc.InputException('Invalid input [%s]' % ', '.join(parts))
    result: dict[str, Any] = {}
    for name in _declared_order(wf_spec):
        if name in given:
            result[name] = given[name]
        else:
            result[name] = wf_spec.input_defaults[name]
    return result


def _declared_order(wf_spec: WorkflowSpec) -> list[str]:
    names: list[str] = []
    for item in wf_spec.input_spec or []:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping):
            names.extend(item.keys())
    return names


def evaluate_vars(wf_spec: WorkflowSpec, *, env: Mapping[str, Any],
                  wf_input: Mapping[str, Any],
                  data_access: DataAccess | None = None) -> dict[str, Any]:
    """``vars`` are evaluated once at start over the input and env."""
    if not wf_spec.vars:
        return {}
    ctx = data_flow.ContextView({'__env': env}, wf_input)
    result: dict[str, Any] = expressions.evaluate_recursively(
        dict(wf_spec.vars), ctx, data_access)
    return result


@dataclasses.dataclass
class FailedTask:
    """An unhandled task failure, for the workflow's state_info."""

    id: str
    name: str
    state_info: str | None
    # (action_ex_id, index, error text) of the failed actions.
    action_errors: Sequence[tuple[str, int, str]] = ()
    # (wf_ex_id, index, error text) of the failed sub-workflows.
    workflow_errors: Sequence[tuple[str, int, str]] = ()


@dataclasses.dataclass
class Outcome:
    state: str
    state_info: str | None
    output: dict[str, Any]


def failure_info(failed: Sequence[FailedTask]) -> str:
    """state_info of a workflow failed by unhandled task errors."""
    lines = ['Failure caused by error in tasks: %s'
             % ', '.join(t.name for t in failed), '']
    for t in failed:
        lines.append('  %s [task_ex_id=%s] -> %s' % (t.name, t.id,
                                                    t.state_info))
        for ax_id, idx, err in t.action_errors:
            lines.append('    [action_ex_id=%s, idx=%s]: %s'
                         % (ax_id, idx, err))
        for wf_id, idx, err in t.workflow_errors:
            lines.append('    [wf_ex_id=%s, idx=%s]: %s' % (wf_id, idx, err))
    return '\n'.join(lines) + '\n'


def finish(wf_spec: WorkflowSpec, *, final_context: Mapping[str, Any],
           env: Mapping[str, Any], wf_context: Mapping[str, Any],
           wf_input: Mapping[str, Any], failed: Sequence[FailedTask] = (),
           cancelled: Sequence[str] = (), forced_state: str | None = None,
           forced_info: str | None = None,
           data_access: DataAccess | None = None) -> Outcome:
    """Final state, state_info and output of a workflow.

    ``forced_state`` comes from an engine command (fail/succeed) or an API
    stop; otherwise the state follows from unhandled failures and
    cancellations. Output expressions that fail turn the result into ERROR.
    """
    ctx = data_flow.workflow_view(final_context=final_context, env=env,
                                  wf_context=wf_context, wf_input=wf_input)
    if forced_state is not None:
        state, info = forced_state, forced_info
    elif cancelled:
        state = states.CANCELLED
        info = 'Cancelled tasks: %s' % ', '.join(cancelled)
    elif failed:
        state, info = states.ERROR, failure_info(failed)
    else:
        state, info = states.SUCCESS, None

    if state == states.SUCCESS:
        if wf_spec.output is not None:
            try:
                output = expressions.evaluate_recursively(
                    dict(wf_spec.output), ctx, data_access)
            except exc.ExpressionException as e:
                return Outcome(states.ERROR, str(e), {'result': str(e)})
        else:
            output = data_flow.strip_internal(final_context)
        return Outcome(state, info, output)

    if state != states.ERROR:
        return Outcome(state, info, {'result': info})
    # A failed workflow's output is the error under 'result', with what
    # output-on-error gives merged over it; without output-on-error (or
    # when it gives nothing), the whole final context, as on SUCCESS.
    extra: Any = None
    if wf_spec.output_on_error:
        try:
            extra = expressions.evaluate_recursively(
                dict(wf_spec.output_on_error), ctx, data_access)
        except exc.ExpressionException as e:
            info = '%s\n%s' % (info, e) if info else str(e)
            return Outcome(state, info, {'result': info})
    if not extra:
        extra = data_flow.strip_internal(final_context)
    return Outcome(state, info,
                   dicts.deep_merged({'result': info}, extra))
