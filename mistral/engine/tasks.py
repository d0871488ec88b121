"""Task executions: create them, run their actions, complete them.

Every function runs inside the caller's transaction with the workflow
execution row locked, adds the messages it implies to the run's outbox
batch, and returns the commands that follow (for the dispatcher in
``mistral.engine.workflows``, the one place that carries them out). A
task that fails structurally is such a command too (:class:`TaskFailed`),
never an exception. Counters on the rows (active tasks, active children,
join arrivals) keep each step O(1) in the number of siblings.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import json
import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import orm

from mistral.db import models
from mistral.engine import bulk
from mistral.engine import contexts
from mistral.engine import data_access
from mistral.engine import inline
from mistral.engine import limits
from mistral.engine import notifications as events
from mistral.engine.run import Run
from mistral.utils import timeutils
from mistral.workflow import commands as cmds
from mistral.workflow import data_flow
from mistral.workflow import direct
from mistral.workflow import policies
from mistral.workflow import reverse
from mistral.workflow import states
from mistral.workflow import task_machine as tm
from mistral.workflow import task_plan

if TYPE_CHECKING:
    from mistral.actions.descriptor import ActionDescriptor

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


@dataclasses.dataclass
class StartChild:
    """Start a sub-workflow for a task (handled by the dispatcher)."""

    task_ex: models.TaskExecution
    item: task_plan.WorkflowRun


@dataclasses.dataclass
class ChildDone:
    """An action of the task finished in this transaction (inline)."""

    task_ex: models.TaskExecution
    latest: tuple[str, str | None, Any]


@dataclasses.dataclass
class TaskFailed:
    """The task failed structurally (task_machine.FailTask): the
    dispatcher fails it and its workflow before anything else it holds.
    A function returning it returns nothing else."""

    task_ex: models.TaskExecution
    message: str


Effect = cmds.Command | StartChild | ChildDone | TaskFailed


def error_text(error: Any) -> str:
    if isinstance(error, str):
        return error
    try:
        return json.dumps(error)
    except (TypeError, ValueError):
        return str(error)


def _failed(task_ex: models.TaskExecution,
            c: tm.FailTask) -> list[Effect]:
    return [TaskFailed(task_ex, c.message)]


def _names(run: Run, task_ex: models.TaskExecution) -> tm.TaskNames:
    return tm.TaskNames(run.wf_ex.workflow_name, task_ex.name)


def failed(effects: list[Effect]) -> TaskFailed | None:
    """The failure ``effects`` stand for, if they do."""
    if effects and isinstance(effects[0], TaskFailed):
        return effects[0]
    return None


def _ts(task_ex: models.TaskExecution) -> tm.TaskState:
    """The task's state between events (read from its runtime_context).

    The last one read or written is kept on the row object while its
    runtime_context is that same dict (states are never changed in place;
    a reloaded row has a new dict), so a with-items task taking one
    element after another does not read its state each time."""
    rc = task_ex.runtime_context
    known = task_ex.__dict__.get('_task_state')
    if known is not None and known[0] is rc:
        return known[1]
    ts = tm.TaskState.from_runtime_context(rc)
    task_ex.__dict__['_task_state'] = (rc, ts)
    return ts


def _save(task_ex: models.TaskExecution, before: tm.TaskState,
          after: tm.TaskState) -> None:
    """Write the task's state back when an event changed it."""
    if after is not before and after != before:
        rc = after.to_runtime_context()
        task_ex.runtime_context = rc
        task_ex.__dict__['_task_state'] = (rc, after)


def _transition(task_ex: models.TaskExecution, t: tm.Transition) -> None:
    """Every change of a task's state goes through here (the machine
    checked it against its table when it made ``t``)."""
    if t.from_state != tm.NEW and task_ex.state != t.from_state:
        raise tm.IllegalTransition(task_ex.state, t.to_state)
    task_ex.state = t.to_state
    if not t.keep_info:
        task_ex.state_info = t.state_info


def _notify(run: Run, task_ex: models.TaskExecution, c: tm.Notify) -> None:
    """Send an event the machine decided on (the row shows the change)."""
    events.task_event(run, task_ex, c.event)


def _count_waiting_joins(run: Run, delta: int) -> None:
    wf_rc = dict(run.wf_ex.runtime_context or {})
    wf_rc['waiting_joins'] = max(wf_rc.get('waiting_joins', 0) + delta, 0)
    run.wf_ex.runtime_context = wf_rc


def _later(seconds: float) -> datetime.datetime:
    return timeutils.utcnow() + datetime.timedelta(seconds=seconds)


def _task_ctx(run: Run, task_ex: models.TaskExecution,
              extra: dict[str, Any] | None = None) -> data_flow.ContextView:
    return data_flow.task_view(
        task_ex={'id': task_ex.id, 'name': task_ex.name}, env=run.env,
        in_context=contexts.in_context(run, task_ex),
        wf_context=run.wf_context, wf_input=run.wf_input, extra=extra)


# ------------------------------------------------------------------ start

def _parent_refs(run: Run, triggered_by: list[dict[str, str]]
                 ) -> dict[str, Any] | None:
    """Context references of a task started by ``triggered_by`` (None if
    a parent is unknown: then the context is stored whole)."""
    refs: dict[str, Any] = {}
    for trig in triggered_by:
        parent = run.tasks.get(trig['task_id'])
        if parent is None:
            parent = run.session.get(models.TaskExecution, trig['task_id'])
        if parent is None:
            return None
        refs = contexts.merge_refs(refs, contexts.refs_after(parent))
    return refs


def _new_task(run: Run, task_spec: Any, in_context: Any,
              triggered_by: list[dict[str, str]], state: str,
              state_info: str | None = None) -> models.TaskExecution:
    wf_ex = run.wf_ex
    refs = None
    if contexts.by_reference(run):
        refs = _parent_refs(run, triggered_by) if triggered_by else {}
        if refs is not None and in_context and not triggered_by:
            refs = None  # a context given whole (e.g. from a backlog)
    now = timeutils.utcnow()
    step = tm.create(state, triggered_by)
    started = any(isinstance(c, tm.MarkStarted) for c in step.commands)
    runtime = step.state.to_runtime_context()
    task_ex = models.TaskExecution(
        id=models.new_id(), name=task_spec.name,
        workflow_execution_id=wf_ex.id, workflow_name=wf_ex.workflow_name,
        workflow_namespace=wf_ex.workflow_namespace,
        workflow_id=wf_ex.workflow_id, project_id=wf_ex.project_id,
        scope='private', state=state, state_info=state_info,
        started_at=now if started else None,
        in_context=None if refs is not None else dict(in_context),
        context_refs=refs, runtime_context=runtime,
        type='WORKFLOW' if task_spec.workflow else 'ACTION',
        tags=list(task_spec.tags or []), published={}, processed=False,
        created_at=now, updated_at=now, active_children=0)
    run.session.add(task_ex)
    run.tasks[task_ex.id] = task_ex
    run.tasks_by_name[task_ex.name] = task_ex
    wf_ex.active_tasks += 1
    for c in step.commands:
        if isinstance(c, tm.Notify):
            _notify(run, task_ex, c)
    return task_ex


def start_task(run: Run, cmd: cmds.RunTask) -> list[Effect]:
    """Create a task execution (or add an arrival to a waiting join)."""
    task_spec = run.spec.tasks[cmd.task_name]
    if task_spec.join is not None:
        return _arrive_at_join(run, cmd, task_spec)
    task_ex = _new_task(run, task_spec, cmd.in_context, cmd.triggered_by,
                        states.RUNNING)
    return begin(run, task_ex)


def _arrive_at_join(run: Run, cmd: cmds.RunTask,
                    task_spec: Any) -> list[Effect]:
    te = models.TaskExecution
    task_ex = run.tasks_by_name.get(task_spec.name)
    if task_ex is None:
        # Not created in this transaction: look in the database. Nothing
        # unflushed can be this row, so no flush is needed first.
        with run.session.no_autoflush:
            task_ex = run.session.execute(
                sa.select(te).where(te.workflow_execution_id == run.wf_ex.id,
                                    te.name == task_spec.name)
                .options(orm.undefer(te.in_context))
            ).scalar_one_or_none()
        if task_ex is not None:
            run.tasks[task_ex.id] = task_ex
            run.tasks_by_name[task_ex.name] = task_ex
    required = tm.join_required(
        task_spec.join, len(run.spec.inbound_task_names(task_spec.name)))
    before = None if task_ex is None else _ts(task_ex)
    step = tm.join_arrival(before, None if task_ex is None else task_ex.state,
                           cmd.triggered_by, required)
    for c in step.commands:
        if isinstance(c, tm.CreateWaiting):
            task_ex = _new_task(run, task_spec, cmd.in_context,
                                cmd.triggered_by, states.WAITING,
                                c.state_info)
            before = _ts(task_ex)
        elif isinstance(c, tm.CountWaitingJoin):
            _count_waiting_joins(run, c.delta)
        elif isinstance(c, tm.Transition) and c.from_state == tm.NEW:
            pass
        elif isinstance(c, (tm.MergeArrival, tm.Transition, tm.MarkStarted,
                            tm.Notify, tm.Start)):
            # The rest concern the join's row: it was found above or
            # CreateWaiting came first (see tm.join_arrival), and so did
            # its state.
            assert task_ex is not None and before is not None
            if isinstance(c, tm.MergeArrival):
                _merge_arrival(run, task_ex, cmd)
                continue
            if isinstance(c, tm.Transition):
                _save(task_ex, before, step.state)
                before = step.state
            started = _row_command(run, task_ex, c)
            if started is not None:
                return started
    assert task_ex is not None
    _save(task_ex, before, step.state)  # type: ignore[arg-type]
    return []


def _merge_arrival(run: Run, task_ex: models.TaskExecution,
                   cmd: cmds.RunTask) -> None:
    """Inbound context of a join: the triggering contexts merged."""
    parent_refs = (_parent_refs(run, cmd.triggered_by)
                   if task_ex.context_refs is not None else None)
    if parent_refs is not None:
        task_ex.context_refs = contexts.merge_refs(
            task_ex.context_refs, parent_refs)
    else:
        merged = contexts.in_context(run, task_ex)
        data_flow.merge_into(merged, cmd.in_context, run.merge_strategy)
        task_ex.context_refs = None
        task_ex.in_context = merged
    contexts.forget(run, task_ex)


def fail_impossible_joins(run: Run) -> list[Effect]:
    """Joins still waiting when nothing else runs can never start."""
    te = models.TaskExecution
    waiting = run.session.execute(
        sa.select(te).where(te.workflow_execution_id == run.wf_ex.id,
                            te.state == states.WAITING)
        .order_by(te.created_at)).scalars().all()
    wf_rc = dict(run.wf_ex.runtime_context or {})
    wf_rc['waiting_joins'] = 0
    run.wf_ex.runtime_context = wf_rc
    effects: list[Effect] = []
    for task_ex in waiting:
        step = tm.join_impossible(_ts(task_ex), task_ex.state,
                                  run.spec.inbound_task_names(task_ex.name))
        for c in step.commands:
            if isinstance(c, tm.MarkStarted):
                task_ex.started_at = timeutils.utcnow()
            elif isinstance(c, tm.FinishTask):
                done = finish_task(run, task_ex, c.state, c.state_info,
                                   None)
                if failed(done):
                    # The joins after it stay as they are: the workflow
                    # fails now.
                    return done
                effects += done
    return effects


def begin(run: Run, task_ex: models.TaskExecution) -> list[Effect]:
    """Apply start policies, then run the task's actions."""
    task_spec = run.spec.tasks[task_ex.name]
    before = _ts(task_ex)
    step = tm.begin(before, task_ex.state, lambda: policies.at_start(
        task_spec.policies, _task_ctx(run, task_ex), run.access),
        models.new_id, _names(run, task_ex))
    _save(task_ex, before, step.state)
    for c in step.commands:
        if isinstance(c, tm.FailTask):
            return _failed(task_ex, c)
        if isinstance(c, tm.Transition):
            # Held by pause-before, started_at stays as set when the task
            # was created (upstream shows it on the held task too); the
            # resume sets it again.
            _transition(task_ex, c)
        elif isinstance(c, tm.Notify):
            _notify(run, task_ex, c)
        elif isinstance(c, tm.PauseWorkflow):
            return [cmds.PauseWorkflow()]
        elif isinstance(c, tm.ScheduleTimeout):
            run.batch.add('engine', 'timeout_task',
                          {'task_ex_id': task_ex.id, 'timeout': c.timeout},
                          ctx=run.ctx, due_at=_later(c.due_in))
        elif isinstance(c, tm.ScheduleContinue):
            _schedule_continue(run, task_ex, c)
        elif isinstance(c, tm.RunActions):
            return run_actions(run, task_ex)
    return []


def resume_held(run: Run, task_ex: models.TaskExecution) -> list[Effect]:
    """The workflow resumed: a task held by pause-before starts."""
    step = tm.resume_held(_ts(task_ex), task_ex.state)
    for c in step.commands:
        started = _row_command(run, task_ex, c)
        if started is not None:
            return started
    return []


def _row_command(run: Run, task_ex: models.TaskExecution, c: Any
                 ) -> list[Effect] | None:
    """Carry out a machine command about the task's own row: the effects
    of starting the task for ``Start``, None for the others."""
    if isinstance(c, tm.Transition):
        _transition(task_ex, c)
    elif isinstance(c, tm.MarkStarted):
        task_ex.started_at = timeutils.utcnow()
    elif isinstance(c, tm.Notify):
        _notify(run, task_ex, c)
    elif isinstance(c, tm.Start):
        return begin(run, task_ex)
    return None


def follow_child(task_ex: models.TaskExecution, child_state: str) -> None:
    """The task's sub-workflow paused or resumed: the task follows."""
    ts = _ts(task_ex)
    step = (tm.child_paused(ts, task_ex.state)
            if child_state == states.PAUSED
            else tm.child_resumed(ts, task_ex.state))
    for c in step.commands:
        if isinstance(c, tm.Transition):
            _transition(task_ex, c)
            task_ex.updated_at = timeutils.utcnow()


def _schedule_continue(run: Run, task_ex: models.TaskExecution,
                       c: tm.ScheduleContinue) -> None:
    # The token ties the message to this delay: a late duplicate of an
    # earlier retry's message must not cut a later delay short.
    run.batch.add('engine', 'continue_task',
                  {'task_ex_id': task_ex.id, 'token': c.token},
                  ctx=run.ctx, due_at=_later(c.delay))


def run_actions(run: Run, task_ex: models.TaskExecution) -> list[Effect]:
    """Evaluate what the task runs and start it (up to ``concurrency``
    with-items elements at once; the rest wait as pending items)."""
    task_spec = run.spec.tasks[task_ex.name]

    def prepare() -> tuple[task_plan.TaskPlan, dict[int, Any]]:
        plan = _plan(run, task_ex, task_spec)
        return plan, _check_actions(run, plan)

    prepared = tm.attempt(prepare, _names(run, task_ex))
    if isinstance(prepared, tm.FailTask):
        return _failed(task_ex, prepared)
    plan, descs = prepared
    task_ex.type = plan.type
    runs = plan.runs
    with_items = bool(task_spec.with_items)
    # Inline elements beyond this transaction's budget wait too; a later
    # engine transaction continues them (see _launch_pending).
    inline_items = with_items and bool(runs) and _inline_ok(
        run, runs[0], descs.get(runs[0].index))
    before = _ts(task_ex)
    step = tm.actions_planned(before, with_items, len(runs), inline_items,
                              run.inline_budget)
    _save(task_ex, before, step.state)
    effects: list[Effect] = []
    for c in step.commands:
        if isinstance(c, tm.StorePending):
            _store_pending(run, task_ex, plan.type, runs[c.first:],
                           inline_chunks=inline_items)
        elif isinstance(c, tm.LaunchItems):
            first = runs[:c.count]
            task_ex.active_children = len(first)
            for item in first:
                effects += _launch(run, task_ex, item, descs.get(item.index))
        elif isinstance(c, tm.ActionsDone):
            return actions_done(run, task_ex)
    return effects


def _plan(run: Run, task_ex: models.TaskExecution,
          task_spec: Any) -> task_plan.TaskPlan:
    return task_plan.plan(task_spec, task_id=task_ex.id, env=run.env,
                          in_context=contexts.in_context(run, task_ex),
                          wf_context=run.wf_context, wf_input=run.wf_input,
                          data_access=run.access)


def _launch(run: Run, task_ex: models.TaskExecution,
            item: task_plan.ActionRun | task_plan.WorkflowRun,
            desc: ActionDescriptor | None = None) -> list[Effect]:
    if isinstance(item, task_plan.WorkflowRun):
        return [StartChild(task_ex, item)]
    if desc is None:
        desc = _find_action(run, item)
    # The budget bounds one transaction's inline work: a loop of inline
    # tasks hands over to executors, large with-items continue in the next
    # engine transaction (_launch_pending).
    place = tm.place_action(
        inline.eligible(desc, item.action_name, item.input, item.target),
        tm.has_with_items(task_ex.runtime_context), run.inline_budget,
        CONF.engine.inline_actions_per_transaction > 0)
    if place == tm.INLINE:
        run.inline_budget -= 1
        return [_run_inline(run, task_ex, item, desc)]
    if place == tm.DEFERRED:
        _defer_inline(run, task_ex, item)
        return []
    schedule_action(run, task_ex, item)
    return []


def _defer_inline(run: Run, task_ex: models.TaskExecution,
                  item: task_plan.ActionRun) -> None:
    """An inline action past this transaction's budget (a wide fan-out, a
    loop of inline tasks) still runs in the engine, in a later transaction:
    its action execution is created now, RUNNING and owned by the engine
    (``executor_id`` inline, so recovery leaves it alone), and an engine
    message lists it. The message is durable in the outbox and deleted by
    the transaction that runs the actions it lists."""
    ax_id = models.new_id()
    # A plain row like those of _run_inline; a fan-out defers hundreds.
    _add_inline_row(run, task_ex, item, ax_id, states.RUNNING, None, None)
    ids = run.deferred_inline
    if ids is None or len(ids) >= CONF.engine.inline_actions_per_transaction:
        # The list is serialised when the unit of work writes the batch.
        ids = run.deferred_inline = []
        run.batch.add('engine', 'run_inline_actions',
                      {'wf_ex_id': run.wf_ex.id, 'action_ex_ids': ids},
                      ctx=run.ctx)
    ids.append(ax_id)


def deferred_inline_actions(run: Run, action_ex_ids: list[str]
                            ) -> list[Any]:
    """Rows (id, name, input, task, namespace, project) of those of
    ``action_ex_ids`` that still wait to run inline, in the order given (a
    duplicate message finds none)."""
    ae = models.ActionExecution
    found = run.session.execute(sa.select(
        ae.id, ae.name, ae.input, ae.task_execution_id,
        ae.workflow_namespace, ae.project_id).where(
        ae.id.in_(action_ex_ids), ae.state == states.RUNNING,
        ae.executor_id == inline.EXECUTOR_ID)).all()
    by_id = {ax.id: ax for ax in found}
    return [by_id[i] for i in action_ex_ids if i in by_id]


def run_deferred_inline(run: Run, ax: Any) -> tuple[str, str | None, Any]:
    """Run a deferred inline action (a row of deferred_inline_actions);
    (state, state_info, value). Its row is updated by the caller."""
    from mistral.actions import resolver

    desc = resolver.lookup(ax.name, ax.workflow_namespace or '',
                           ax.project_id, run.resolved_actions)
    if desc is None:
        result = {'error': str(resolver.not_found(ax.name))}
    else:
        result = inline.run(desc, ax.input or {}, run.ctx, {
            'workflow_execution_id': run.wf_ex.id,
            'task_execution_id': ax.task_execution_id,
            'action_execution_id': ax.id,
            'workflow_name': run.wf_ex.workflow_name,
            'callback_url': '/v2/action_executions/%s' % ax.id})
    state, value = result_state(result)
    info = error_text(value) if state == states.ERROR else None
    return state, info, value


def finish_deferred(run: Run, outcomes: list[dict[str, Any]]) -> None:
    """Write the outcomes of deferred inline actions ({'ax_id', 'state',
    'state_info', 'output'}) in one statement."""
    if not outcomes:
        return
    ae = models.ActionExecution
    now = timeutils.utcnow()
    for o in outcomes:
        o['now'] = now
    run.session.connection().execute(
        sa.update(ae.__table__).where(ae.__table__.c.id == sa.bindparam(
            'ax_id')).values(state=sa.bindparam('state'),
                             state_info=sa.bindparam('state_info'),
                             output=sa.bindparam('output'), accepted=True,
                             updated_at=sa.bindparam('now')),
        outcomes)


def _run_inline(run: Run, task_ex: models.TaskExecution,
                item: task_plan.ActionRun, desc: ActionDescriptor
                ) -> ChildDone:
    wf_ex = run.wf_ex
    ax_id = models.new_id()
    result = inline.run(desc, item.input, run.ctx, {
        'workflow_execution_id': wf_ex.id, 'task_execution_id': task_ex.id,
        'action_execution_id': ax_id, 'workflow_name': wf_ex.workflow_name,
        'callback_url': '/v2/action_executions/%s' % ax_id})
    state, value = result_state(result)
    info = error_text(value) if state == states.ERROR else None
    _add_inline_row(run, task_ex, item, ax_id, state, info,
                    {'result': value})
    return ChildDone(task_ex, (state, info, value))


def _add_inline_row(run: Run, task_ex: models.TaskExecution,
                    item: task_plan.ActionRun, ax_id: str, state: str,
                    info: str | None, output: dict[str, Any] | None) -> None:
    """The action execution of an inline action as a plain row, inserted
    in bulk (see mistral.engine.bulk). Rows of actions already run
    (``output`` given) are accepted; a deferred one waits RUNNING. Every
    row has the same keys, so one multi-row INSERT takes them all."""
    wf_ex = run.wf_ex
    now = timeutils.utcnow()
    bulk.add(run.session, models.ActionExecution, {
        'id': ax_id, 'name': item.action_name,
        'workflow_name': wf_ex.workflow_name,
        'workflow_namespace': wf_ex.workflow_namespace,
        'task_execution_id': task_ex.id, 'workflow_execution_id': wf_ex.id,
        'project_id': wf_ex.project_id, 'scope': 'private', 'state': state,
        'state_info': info, 'input': item.input, 'output': output,
        'accepted': output is not None, 'is_sync': True, 'description': '',
        'runtime_context': {'index': item.index,
                            'safe_rerun': item.safe_rerun,
                            'target': item.target},
        'executor_id': inline.EXECUTOR_ID, 'created_at': now,
        'updated_at': now, 'last_heartbeat': now})


def result_state(result: dict[str, Any]) -> tuple[str, Any]:
    """(state, value) of an action result dict."""
    if result.get('cancel'):
        return states.CANCELLED, None
    if result.get('error') is not None:
        return states.ERROR, result['error']
    return states.SUCCESS, result.get('data')


def _find_action(run: Run, item: task_plan.ActionRun) -> Any:
    """The action's descriptor (see mistral.actions.resolver); renames
    ``item`` to the name found."""
    from mistral.actions import resolver

    item.action_name, desc = resolver.find(
        item.action_name, run.wf_ex.workflow_namespace or '',
        run.wf_ex.project_id, run.wf_ex.workflow_name, run.resolved_actions)
    return desc


def _check_actions(run: Run, plan: task_plan.TaskPlan) -> dict[int, Any]:
    """Resolve actions and check inputs before anything is sent: unknown
    actions and wrong inputs fail the task at once, as upstream does (no
    on-error handling for these). Returns descriptors by item index."""
    from mistral.actions import resolver

    wf_ex = run.wf_ex
    found: dict[int, Any] = {}
    for item in plan.runs:
        if isinstance(item, task_plan.ActionRun):
            item.action_name, found[item.index] = resolver.resolve(
                item.action_name, item.input,
                wf_ex.workflow_namespace or '', wf_ex.project_id,
                wf_ex.workflow_name, run.resolved_actions)
    return found


def schedule_action(run: Run, task_ex: models.TaskExecution,
                    item: task_plan.ActionRun) -> str:
    """Create the action execution (a plain row, inserted in bulk with the
    others of the transaction) and the message that hands it to an
    executor (sent after commit). Returns its id."""
    wf_ex = run.wf_ex
    now = timeutils.utcnow()
    ax_id = models.new_id()
    bulk.add(run.session, models.ActionExecution, {
        'id': ax_id, 'name': item.action_name,
        'workflow_name': wf_ex.workflow_name,
        'workflow_namespace': wf_ex.workflow_namespace,
        'task_execution_id': task_ex.id, 'workflow_execution_id': wf_ex.id,
        'project_id': wf_ex.project_id, 'scope': 'private',
        'state': states.RUNNING, 'state_info': None, 'input': item.input,
        'output': None, 'accepted': False, 'is_sync': True,
        'description': '',
        'runtime_context': {'index': item.index,
                            'safe_rerun': item.safe_rerun,
                            'target': item.target},
        'executor_id': None, 'created_at': now, 'updated_at': now,
        'last_heartbeat': now})
    run.batch.add('executor', 'run_action', {
        'action_ex_id': ax_id,
        'action_name': item.action_name,
        'namespace': wf_ex.workflow_namespace or '',
        'safe_rerun': item.safe_rerun,
        'exec_ctx': _exec_ctx(run, task_ex, ax_id),
    }, ctx=run.ctx, server=item.target)
    return ax_id


def _exec_ctx(run: Run, task_ex: models.TaskExecution,
              ax_id: str) -> dict[str, Any]:
    """What an action learns about where it runs (mistral-lib's
    ExecutionContext)."""
    return {
        'workflow_execution_id': run.wf_ex.id,
        'task_execution_id': task_ex.id,
        'action_execution_id': ax_id,
        'workflow_name': run.wf_ex.workflow_name,
        'callback_url': '/v2/action_executions/%s' % ax_id,
    }


# --------------------------------------------------------------- progress

def child_done(run: Run, task_ex: models.TaskExecution,
               latest: tuple[str, str | None, Any] | None = None
               ) -> list[Effect]:
    """One action or sub-workflow of the task finished.

    ``latest`` is (state, state_info, result) of that child; for tasks
    without with-items it is the task's outcome, which spares a query.
    """
    task_ex.active_children -= 1
    step = tm.child_done(_ts(task_ex), task_ex.state,
                         task_ex.active_children)
    for c in step.commands:
        if isinstance(c, tm.LaunchNextItem):
            effects = _launch_pending(run, task_ex)
            if effects is not None:
                return effects
            return actions_done(run, task_ex) if c.else_done else []
        if isinstance(c, tm.ActionsDone):
            return actions_done(run, task_ex,
                                latest if c.with_latest else None)
    return []


_PENDING_READ_AHEAD = 100


def _store_pending(run: Run, task_ex: models.TaskExecution, kind: str,
                   rest: list[Any], inline_chunks: bool) -> None:
    """Write the waiting elements, several to a row when they run inline
    (taken in runs within a transaction, so a row per element would cost
    as much as running it); one to a row when each waits for an executor
    to free a ``concurrency`` slot.

    A row's ``item_index`` is that of its first element; how many of a
    row's elements were taken is kept in the task's runtime context
    (``pending_taken``), so a partly taken row is never rewritten."""
    size = (max(1, CONF.engine.inline_actions_per_transaction)
            if inline_chunks else 1)
    rows = []
    for at in range(0, len(rest), size):
        chunk = rest[at:at + size]
        rows.append({'task_execution_id': task_ex.id,
                     'item_index': chunk[0].index,
                     'run': {'kind': kind,
                             'items': [_plain(r) for r in chunk]}})
    run.session.execute(sa.insert(models.PendingItem), rows)


def _plain(item: Any) -> dict[str, Any]:
    # dataclasses.asdict deep-copies every input; the row is serialised
    # at once, so the fields themselves will do.
    return {f.name: getattr(item, f.name)
            for f in dataclasses.fields(item)}


def _read_ahead(session: orm.Session) -> dict[str, dict[str, Any]]:
    """Waiting with-items elements read ahead in this transaction, by task
    id: ``queue`` of (item_index, run) in index order, ``after`` the last
    index taken (its row's deletion is deferred, see mistral.engine.bulk),
    ``size`` of the last read. Kept on the session, not on a Run: two Runs
    of one workflow in a transaction must not take the same element."""
    return session.info.setdefault('mistral_items_read_ahead', {
        'queue': {}, 'after': {}, 'size': {}})


def _launch_pending(run: Run, task_ex: models.TaskExecution
                    ) -> list[Effect] | None:
    before = _ts(task_ex)
    if not before.pending_items:
        return None
    ahead_of = _read_ahead(run.session)
    queue = ahead_of['queue'].get(task_ex.id)
    if not queue:
        queue = ahead_of['queue'][task_ex.id] = _read_pending(
            run, task_ex, before, ahead_of)
    if not queue:
        return None
    row_key, pos, count, kind, data = queue[0]
    item: task_plan.ActionRun | task_plan.WorkflowRun
    if kind == 'WORKFLOW':
        item = task_plan.WorkflowRun(**data)
    else:
        item = task_plan.ActionRun(**data)
    desc = None
    if isinstance(item, task_plan.ActionRun):
        desc = _find_action(run, item)
        if run.inline_budget <= 0 and _inline_ok(run, item, desc):
            # This transaction did enough: the rest continues in another.
            _continue_items_later(run, task_ex)
            return []
    queue.popleft()
    step = tm.item_taken(before, row_key, pos, count)
    for c in step.commands:
        if isinstance(c, tm.DeleteTakenRow):
            # Deleted with the others taken in this transaction, before
            # any other statement could read the table (mistral.engine.bulk).
            bulk.delete_item_later(run.session, models.PendingItem,
                                   task_ex.id, c.row_key)
    _save(task_ex, before, step.state)
    task_ex.active_children += 1
    return _launch(run, task_ex, item, desc)


def _read_pending(run: Run, task_ex: models.TaskExecution,
                  ts: tm.TaskState, ahead_of: dict[str, dict[str, Any]]
                  ) -> collections.deque:
    """The next waiting elements as (row key, position in the row, row
    size, kind, fields), skipping those of a partly taken row that were
    taken already."""
    # Read ahead, doubling each time this transaction comes back for
    # more: a completion that frees one slot reads one row, a transaction
    # that runs many elements inline reads them in a few queries.
    ahead = min(2 * ahead_of['size'].get(task_ex.id, 0) or 1,
                _PENDING_READ_AHEAD)
    ahead_of['size'][task_ex.id] = ahead
    pi = models.PendingItem
    with run.session.no_autoflush:
        found = run.session.execute(
            sa.select(pi.item_index, pi.run).where(
                pi.task_execution_id == task_ex.id,
                pi.item_index > ahead_of['after'].get(task_ex.id, -1))
            .order_by(pi.item_index).limit(ahead)).all()
    taken = ts.pending_taken or (None, 0)
    queue: collections.deque = collections.deque()
    for key, data in found:
        # Rows of one element ('item') come from before rows held several.
        items = data['items'] if 'items' in data else [data['item']]
        skip = taken[1] if key == taken[0] else 0
        for pos in range(skip, len(items)):
            queue.append((key, pos, len(items), data['kind'], items[pos]))
    if found:
        # Every element read is taken before the next read (the queue is
        # empty then), so the next read starts after the last row.
        ahead_of['after'][task_ex.id] = found[-1][0]
    return queue


def _inline_ok(run: Run, item: Any, desc: ActionDescriptor | None
               ) -> bool:
    return (isinstance(item, task_plan.ActionRun) and desc is not None
            and inline.eligible(desc, item.action_name, item.input,
                                item.target))


def _continue_items_later(run: Run, task_ex: models.TaskExecution) -> None:
    if task_ex.id in run.continued_items:
        return
    run.continued_items.add(task_ex.id)
    run.batch.add('engine', 'continue_items', {'task_ex_id': task_ex.id},
                  ctx=run.ctx)


def continue_items(run: Run, task_ex: models.TaskExecution) -> list[Effect]:
    """Start waiting with-items elements in this transaction (those left
    over by a transaction whose inline budget ran out)."""
    effects: list[Effect] = []
    while tm.may_start_more(_ts(task_ex), task_ex.state,
                            task_ex.active_children):
        launched = _launch_pending(run, task_ex)
        if not launched and task_ex.id in run.continued_items:
            break
        effects += launched or []
        if run.inline_budget <= 0:
            break
    return effects


# States of a task's accepted children, per kind of child (built once).
_CHILD_STATES = {
    model: sa.select(model.state, model.state_info).where(
        model.task_execution_id == sa.bindparam('task_id'),
        model.accepted.is_(True))
    for model in (models.WorkflowExecution, models.ActionExecution)}


def _outcome(run: Run, task_ex: models.TaskExecution
             ) -> tuple[str, str | None]:
    """State of a task from its accepted children."""
    model: type[models.WorkflowExecution] | type[models.ActionExecution]
    if task_ex.type == 'WORKFLOW':
        model = models.WorkflowExecution
    else:
        model = models.ActionExecution
    found = run.session.execute(_CHILD_STATES[model],
                                {'task_id': task_ex.id}).all()
    return tm.outcome_of_children(
        tm.has_with_items(task_ex.runtime_context),
        [(r.state, r.state_info) for r in found])


def actions_done(run: Run, task_ex: models.TaskExecution,
                 latest: tuple[str, str | None, Any] | None = None
                 ) -> list[Effect]:
    """All children finished: apply completion policies, then finish."""
    if latest is not None:
        state, info, result = latest
    else:
        state, info = _outcome(run, task_ex)
        result = data_access.task_result(run.session, task_ex)
    return after_outcome(run, task_ex, state, info, result)


def after_outcome(run: Run, task_ex: models.TaskExecution, state: str,
                  info: str | None, result: Any,
                  may_retry: bool = True) -> list[Effect]:
    task_spec = run.spec.tasks[task_ex.name]
    record = _own_record(run, task_ex, state, info, result,
                         timeutils.utcnow())
    access = direct.current_task_access(run.access, record)
    completion = policies.Completion(task_spec.policies,
                                     _task_ctx(run, task_ex), access, record)
    before = _ts(task_ex)
    step = tm.conclude(before, task_ex.state, state, info, completion,
                       models.new_id, may_retry=may_retry,
                       names=_names(run, task_ex))
    _save(task_ex, before, step.state)
    for c in step.commands:
        if isinstance(c, tm.FailTask):
            return _failed(task_ex, c)
        if isinstance(c, tm.Transition):
            _transition(task_ex, c)
        elif isinstance(c, tm.ForgetResults):
            task_ex.updated_at = timeutils.utcnow()
            _forget_results(run, task_ex)
        elif isinstance(c, tm.ScheduleContinue):
            _schedule_continue(run, task_ex, c)
        elif isinstance(c, tm.ScheduleCompleteWaited):
            run.batch.add('engine', 'complete_waited_task',
                          {'task_ex_id': task_ex.id}, ctx=run.ctx,
                          due_at=_later(c.delay))
        elif isinstance(c, tm.FinishTask):
            return finish_task(run, task_ex, c.state, c.state_info, result,
                               publish_state=c.publish_state)
    return []


def _forget_results(run: Run, task_ex: models.TaskExecution) -> None:
    """A retry starts over: earlier results no longer count."""
    model = (models.WorkflowExecution if task_ex.type == 'WORKFLOW'
             else models.ActionExecution)
    run.session.execute(sa.update(model).where(
        model.task_execution_id == task_ex.id).values(accepted=False))


def continue_task(run: Run, task_ex: models.TaskExecution,
                  token: str | None = None) -> list[Effect]:
    """A delay (wait-before, retry) is over."""
    step = tm.delay_over(_ts(task_ex), task_ex.state, token)
    for c in step.commands:
        if isinstance(c, tm.Transition):
            _transition(task_ex, c)
            task_ex.updated_at = timeutils.utcnow()
        elif isinstance(c, tm.MarkStarted):
            if not c.if_unset or task_ex.started_at is None:
                task_ex.started_at = task_ex.updated_at
        elif isinstance(c, tm.RunActions):
            return run_actions(run, task_ex)
    return []


def complete_waited_task(run: Run, task_ex: models.TaskExecution
                         ) -> list[Effect]:
    """The wait-after delay is over."""
    step = tm.wait_after_over(_ts(task_ex), task_ex.state)
    for c in step.commands:
        if isinstance(c, tm.FinishTask):
            result = data_access.task_result(run.session, task_ex)
            return finish_task(run, task_ex, c.state, c.state_info, result,
                               publish_state=c.publish_state)
    return []


def time_out(run: Run, task_ex: models.TaskExecution,
             timeout: float) -> list[Effect]:
    before = _ts(task_ex)
    step = tm.timed_out(before, task_ex.state, timeout)
    for c in step.commands:
        if isinstance(c, tm.DropPending):
            run.session.execute(sa.delete(models.PendingItem).where(
                models.PendingItem.task_execution_id == task_ex.id))
            _read_ahead(run.session)['queue'].pop(task_ex.id, None)
            _save(task_ex, before, step.state)
        elif isinstance(c, tm.CloseRunningActions):
            # Its still running actions will never count: close them, so
            # that no RUNNING action is left under a finished task (their
            # executors' late results are ignored).
            ae = models.ActionExecution
            run.session.execute(sa.update(ae).where(
                ae.task_execution_id == task_ex.id,
                ae.state == states.RUNNING).values(
                    state=states.ERROR, state_info=c.state_info,
                    lease_until=None, updated_at=timeutils.utcnow()))
        elif isinstance(c, tm.Conclude):
            result = data_access.task_result(run.session, task_ex)
            # As upstream documents, retry does not apply once the
            # timeout fired (the machine says so: may_retry is false).
            return after_outcome(run, task_ex, c.state, c.state_info,
                                 result, may_retry=c.may_retry)
    return []


# ------------------------------------------------------------------ rerun

def revive(run: Run, task_ex: models.TaskExecution) -> None:
    """A completed task runs again: count it as active."""
    before = _ts(task_ex)
    step = tm.revive(before, task_ex.state)
    for c in step.commands:
        if isinstance(c, tm.CountActive):
            run.wf_ex.active_tasks += c.delta
        elif isinstance(c, tm.Transition):
            _transition(task_ex, c)
            task_ex.finished_at = None
            task_ex.processed = False
            task_ex.published = {}
            task_ex.next_tasks = []
            task_ex.has_next_tasks = False
            task_ex.error_handled = False
            task_ex.updated_at = timeutils.utcnow()
            _save(task_ex, before, step.state)
            contexts.forget(run, task_ex)
        elif isinstance(c, tm.Notify):
            _notify(run, task_ex, c)


def current_result(run: Run, task_ex: models.TaskExecution) -> Any:
    return data_access.task_result(run.session, task_ex)


def rerun(run: Run, task_ex: models.TaskExecution,
          reset: bool | None) -> list[Effect]:
    """Run a failed task again: all of it, or (with-items, reset=false)
    only the elements that did not succeed."""
    step = tm.rerun(_ts(task_ex), reset)
    if any(isinstance(c, tm.RerunAll) for c in step.commands):
        _forget_results(run, task_ex)
        return run_actions(run, task_ex)
    # type[Any]: the children are read below by attributes only one of
    # the two models has (told apart by ``model is``).
    model: type[Any] = (models.WorkflowExecution
                        if task_ex.type == 'WORKFLOW'
                        else models.ActionExecution)
    children = run.session.execute(
        sa.select(model).where(model.task_execution_id == task_ex.id,
                               model.accepted.is_(True))).scalars().all()
    items = tm.rerun_failed_items([
        ((child.runtime_context or {}).get('index')
         if model is models.ActionExecution
         else (child.params or {}).get('index'), child.state)
        for child in children])
    for pos in items.dropped:
        children[pos].accepted = False
    task_spec = run.spec.tasks[task_ex.name]
    plan = tm.attempt(lambda: _plan(run, task_ex, task_spec),
                      _names(run, task_ex))
    if isinstance(plan, tm.FailTask):
        return _failed(task_ex, plan)
    again = set(items.to_run([r.index for r in plan.runs]))
    todo = [r for r in plan.runs if r.index in again]
    task_ex.active_children = len(todo)
    effects: list[Effect] = []
    for item in todo:
        effects += _launch(run, task_ex, item)
    if not todo:
        return actions_done(run, task_ex)
    return effects


# ----------------------------------------------------------------- finish

def finish_task(run: Run, task_ex: models.TaskExecution, state: str,
                state_info: str | None, result: Any,
                publish_state: str | None = None) -> list[Effect]:
    """Record a task's end; return the commands that follow it.

    ``publish_state``: the state whose publish clauses apply when not
    ``state`` (see direct.FinishedTask)."""
    finished = direct.FinishedTask(
        id=task_ex.id, name=task_ex.name, state=state,
        state_info=state_info, result=result,
        in_context=contexts.in_context(run, task_ex),
        publish_state=publish_state)
    now = timeutils.utcnow()
    record = _own_record(run, task_ex, state, state_info, result, now)
    # The task is in its final state while it publishes, as upstream
    # has it: tasks() in its own publish (and transitions) lists it so.
    before = task_ex.state, task_ex.state_info
    _transition(task_ex, tm.finish(task_ex.state, state, state_info))
    decision = direct.finish(
        run.spec, finished, names=_names(run, task_ex),
        check_published=_check_published, env=run.env,
        wf_context=run.wf_context, wf_input=run.wf_input,
        data_access=run.access, task_record=record,
        merge_strategy=run.merge_strategy)
    if isinstance(decision, tm.FailTask):
        # Failed here, it has not finished yet (fail_task counts it out):
        # the state it had is put back, no transition.
        task_ex.state, task_ex.state_info = before
        return _failed(task_ex, decision)

    task_ex.finished_at = now
    task_ex.updated_at = now
    task_ex.published = decision.published
    contexts.remember_published(run, task_ex)
    task_ex.processed = True
    task_ex.next_tasks = decision.next_tasks
    task_ex.has_next_tasks = decision.has_next_tasks
    task_ex.error_handled = decision.error_handled
    run.wf_ex.active_tasks -= 1
    notify = tm.finished_event(state)
    if notify is not None:
        _notify(run, task_ex, notify)
    if not _keep_result(run, task_ex):
        _forget_outputs(run, task_ex)

    effects: list[Effect] = list(decision.commands)
    if reverse.runs_next(run.spec.type, state):
        effects += _reverse_next(run, task_ex)
    if decision.published_global:
        wf_ex = run.wf_ex
        wf_ex.context, wf_ex.runtime_context = \
            data_flow.with_published_global(
                wf_ex.context, wf_ex.runtime_context,
                decision.published_global)
    return effects


def _check_published(published: Any) -> None:
    limits.check_size('published', published, 'TaskExecution')


def _own_record(run: Run, task_ex: models.TaskExecution, state: str,
                info: str | None, result: Any,
                now: datetime.datetime) -> dict[str, Any]:
    """What task() gives for a finishing task in its own expressions
    (fail-on, publish, transitions): upstream's keys, with the row as it
    is being updated now (published not yet written)."""
    return {'id': task_ex.id, 'name': task_ex.name, 'state': state,
            'state_info': info, 'result': result, 'published': {},
            'type': task_ex.type,
            'workflow_execution_id': task_ex.workflow_execution_id,
            'spec': run.spec.tasks[task_ex.name].to_dict(),
            'created_at': timeutils.to_wire(task_ex.created_at),
            'updated_at': timeutils.to_wire(now)}


def _reverse_next(run: Run, task_ex: models.TaskExecution) -> list[Effect]:
    te = models.TaskExecution
    done = run.session.execute(
        sa.select(te).where(te.workflow_execution_id == run.wf_ex.id,
                            te.state == states.SUCCESS)
        .options(orm.undefer(te.in_context))
        .order_by(te.created_at)).scalars().all()
    by_name = {t.name: t for t in done}
    by_name[task_ex.name] = task_ex
    target = reverse.target_task(run.spec, run.wf_ex.params or {})
    return list(reverse.next_commands(
        run.spec, target, task_ex.name, by_name,
        outbound=lambda name: contexts.outbound(run, by_name[name]),
        task_id=lambda name: by_name[name].id))


def _keep_result(run: Run, task_ex: models.TaskExecution) -> bool:
    keep = run.spec.tasks[task_ex.name].keep_result
    # The task's context is built only for an expression to read.
    ctx = _task_ctx(run, task_ex) if isinstance(keep, str) else {}
    return policies.keep_result(keep, ctx, run.access)


def _forget_outputs(run: Run, task_ex: models.TaskExecution) -> None:
    """keep-result: false drops action outputs once published."""
    ae = models.ActionExecution
    run.session.execute(sa.update(ae).where(
        ae.task_execution_id == task_ex.id).values(output={'result': None}))


def fail_task(run: Run, task_ex: models.TaskExecution, message: str) -> None:
    """Mark a task failed without evaluating its transitions."""
    now = timeutils.utcnow()
    step = tm.force_fail(_ts(task_ex), task_ex.state, message)
    for c in step.commands:
        if isinstance(c, tm.CountActive):
            run.wf_ex.active_tasks += c.delta
        elif isinstance(c, tm.CountWaitingJoin):
            _count_waiting_joins(run, c.delta)
        elif isinstance(c, tm.Transition):
            _transition(task_ex, c)
            task_ex.finished_at = now
            task_ex.updated_at = now
            task_ex.processed = True
        elif isinstance(c, tm.Notify):
            _notify(run, task_ex, c)
