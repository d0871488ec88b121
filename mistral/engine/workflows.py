"""Workflow executions: start, follow commands, finish."""

from __future__ import annotations

import collections
import functools
import logging
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import orm

from mistral import exceptions as exc
from mistral import expressions
from mistral.db import definitions
from mistral.db import models
from mistral.db import rows
from mistral.engine import contexts
from mistral.engine import limits
from mistral.engine import notifications as events
from mistral.engine import spec_cache
from mistral.engine import tasks
from mistral.engine.run import Run
from mistral.utils import timeutils
from mistral.workflow import commands as cmds
from mistral.workflow import data_flow
from mistral.workflow import direct
from mistral.workflow import lifecycle
from mistral.workflow import reverse
from mistral.workflow import states
from mistral.workflow import task_machine
from mistral.workflow import task_plan

if TYPE_CHECKING:
    from mistral.handoff import outbox

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _resolve_env(session: orm.Session, params: dict[str, Any],
                 project_id: str | None) -> dict[str, Any]:
    env = params.get('env') or {}
    if isinstance(env, str):
        env = dict(definitions.find_environment(session, env,
                                                project_id).variables or {})
    if not isinstance(env, dict):
        raise exc.InputException(
            'Unexpected type of environment: it must be a dictionary or the '
            'name of a stored environment, got %s' % type(env).__name__)
    if params.get('evaluate_env', True) and expressions.has_expression(env):
        env = expressions.evaluate_recursively(env, {'__env': env})
    return env


def _new_execution(session: orm.Session, wf_def: definitions.WorkflowRef,
                   spec: Any, wf_ex_id: str | None, description: str,
                   wf_input: dict[str, Any], params: dict[str, Any],
                   project_id: str | None,
                   task_execution_id: str | None = None,
                   root_execution_id: str | None = None
                   ) -> models.WorkflowExecution:
    if spec.type == 'reverse':
        reverse.target_task(spec, params)
    now = timeutils.utcnow()
    wf_ex = models.WorkflowExecution(
        id=wf_ex_id or models.new_id(), name=wf_def.name,
        description=description or '', workflow_name=wf_def.name,
        workflow_namespace=wf_def.namespace or '', workflow_id=wf_def.id,
        state=states.RUNNING, state_info=None,
        tags=list(spec.tags or wf_def.tags or []), spec=wf_def.spec,
        input=wf_input, output={}, params=params, context={},
        runtime_context={}, accepted=False, project_id=project_id,
        scope='private', created_at=now, updated_at=now, active_tasks=0,
        task_execution_id=task_execution_id,
        root_execution_id=root_execution_id)
    session.add(wf_ex)
    spec_cache.remember(wf_ex.id, spec)
    return wf_ex


# Columns of an execution as the engine answers it (start, pause, resume,
# stop): what the API shows of an execution, without published_global.
ANSWER_COLUMNS = (
    'id', 'name', 'description', 'workflow_name', 'workflow_namespace',
    'workflow_id', 'state', 'state_info', 'tags', 'input', 'output',
    'params', 'task_execution_id', 'root_execution_id', 'project_id',
    'scope', 'created_at', 'updated_at')


def answer(wf_ex: models.WorkflowExecution) -> dict[str, Any]:
    """The execution as it is now, for an RPC answer.

    The JSON values are copied one level deep: the answer is serialised
    only when the transaction ends, and later steps replace or extend
    them (a snapshot must not follow).
    """
    data = rows.to_dict(wf_ex, ANSWER_COLUMNS)
    for key in ('input', 'output', 'params'):
        if isinstance(data[key], dict):
            data[key] = dict(data[key])
    if isinstance(data['tags'], list):
        data['tags'] = list(data['tags'])
    return data


def _launch(run: Run) -> None:
    """Set up a new execution's context and announce it."""
    wf_ex = run.wf_ex
    try:
        variables = lifecycle.evaluate_vars(run.spec, env=run.env,
                                            wf_input=run.wf_input,
                                            data_access=run.access)
    except exc.MistralError as e:
        raise exc.InputException(
            'Failed to evaluate workflow vars [wf=%s]: %s'
            % (wf_ex.name, e)) from e
    wf_ex.context = {**variables, '__execution': {'id': wf_ex.id}}
    if CONF.pecan.auth_enable:
        wf_ex.context['openstack'] = _openstack_context(run.ctx)
    events.workflow_event(run, events.WORKFLOW_LAUNCHED)


def _run_first_tasks(run: Run) -> None:
    """Start the first tasks; inline actions may finish the execution."""
    wf_ex = run.wf_ex
    if run.spec.type == 'reverse':
        first = reverse.start_commands(
            run.spec, reverse.target_task(run.spec, wf_ex.params))
    else:
        first = direct.start_commands(run.spec)
    dispatch(run, first)
    maybe_finish(run)


def _openstack_context(ctx: dict[str, Any]) -> dict[str, Any]:
    """``$.openstack``: who started the workflow, secrets masked."""
    data = dict(ctx)
    # oslo.context calls the user's id 'user'; workflows read user_id.
    data.setdefault('user_id', data.get('user'))
    for secret in ('auth_token', 'service_catalog'):
        if data.get(secret):
            data[secret] = '***'
    return data


def start(session: orm.Session, batch: outbox.Batch, ctx: dict[str, Any],
          wf_identifier: str, wf_namespace: str, wf_ex_id: str | None,
          wf_input: dict[str, Any] | None, description: str,
          params: dict[str, Any]) -> dict[str, Any]:
    """Start a workflow; the answer is the execution as it was once
    started, before its first tasks ran.

    Actions that run inline may finish the execution in this very
    transaction, but what the caller learns is what upstream answers
    (its actions always run after the start commits): RUNNING, no
    output yet.
    """
    if wf_ex_id:
        existing = session.get(models.WorkflowExecution, wf_ex_id)
        if existing is not None:
            return answer(existing)
    project_id = ctx.get('project_id')
    # A top-level workflow is looked up in the namespace asked for only
    # (sub-workflows fall back to the default namespace, see start_child).
    # An admin starts any project's workflow, as on upstream (tempest's
    # test_keystone_actions starts the primary project's workflow so).
    wf_def = definitions.find_workflow(session, wf_identifier, wf_namespace,
                                       project_id, fallback=False,
                                       any_project=bool(ctx.get('is_admin')))
    spec = definitions.workflow_spec(wf_def)
    full_input = lifecycle.complete_input(spec, wf_input)
    limits.check_size('input', full_input, 'WorkflowExecution')
    params = dict(params or {})
    # params.namespace is the namespace the tree of executions was asked
    # for, which its sub-workflows inherit; without one asked for, that
    # of the definition (a workflow started by id).
    if wf_namespace:
        params['namespace'] = wf_namespace
    elif 'namespace' not in params:
        params['namespace'] = wf_def.namespace or ''
    params['env'] = _resolve_env(session, params, project_id)
    limits.check_size('params', params, 'WorkflowExecution')
    wf_ex = _new_execution(session, wf_def, spec, wf_ex_id, description,
                           full_input, params, project_id)
    run = Run(session, batch, ctx, wf_ex, spec, all_tasks_known=True)
    _launch(run)
    started = answer(wf_ex)
    _run_first_tasks(run)
    return started


def start_child(run: Run, task_ex: models.TaskExecution,
                item: task_plan.WorkflowRun) -> list[tasks.Effect]:
    """Start a sub-workflow in the parent's transaction (a sub-workflow
    that cannot start fails the task: [TaskFailed])."""
    parent = run.wf_ex
    # The namespace the tree was started in, then the default one (a
    # parent stored before params carried it: its definition's).
    namespace = (parent.params or {}).get('namespace',
                                          parent.workflow_namespace) or ''
    names = [item.workflow_name]
    # Only workbook workflows have dots in their names (<workbook>.<name>);
    # inside a workbook short names resolve to the workbook's first.
    if '.' in (parent.workflow_name or '') and '.' not in item.workflow_name:
        wb_name = (parent.workflow_name or '').rsplit('.', 1)[0]
        names.insert(0, '%s.%s' % (wb_name, item.workflow_name))
    wf_def = None
    last_error: Exception | None = None
    for name in names:
        try:
            wf_def = definitions.find_workflow(
                run.session, name, namespace, parent.project_id)
            break
        except exc.DBEntityNotFoundError as e:
            last_error = e

    def prepare() -> tuple[Any, dict[str, Any], dict[str, Any]]:
        if wf_def is None:
            raise last_error  # type: ignore[misc]
        spec = definitions.workflow_spec(wf_def)
        declared = set(spec.required_input) | set(spec.input_defaults)
        wf_input = {k: v for k, v in item.input.items() if k in declared}
        extra = {k: v for k, v in item.input.items() if k not in declared}
        return spec, extra, lifecycle.complete_input(spec, wf_input)

    prepared = task_machine.attempt(prepare, task_machine.TaskNames(
        parent.workflow_name, task_ex.name))
    if isinstance(prepared, task_machine.FailTask):
        return [tasks.TaskFailed(task_ex, prepared.message)]
    assert wf_def is not None  # prepare() raised without it
    spec, extra, full_input = prepared
    root_id = parent.root_execution_id or parent.id
    # In upstream's order: the links, the inherited namespace, the task's
    # extra input, the environment: empty, as upstream's, since a tree's
    # env is its root's (Run.env).
    params = {'root_execution_id': root_id, 'task_execution_id': task_ex.id,
              'index': item.index, 'namespace': namespace}
    params.update((k, v) for k, v in extra.items() if k not in params)
    params['env'] = {}
    child = _new_execution(run.session, wf_def, spec, None,
                           'sub-workflow execution', full_input, params,
                           parent.project_id, task_execution_id=task_ex.id,
                           root_execution_id=root_id)
    child_run = Run(run.session, run.batch, run.ctx, child, spec,
                    all_tasks_known=True)
    _launch(child_run)
    _run_first_tasks(child_run)
    return []


def dispatch(run: Run, effects: list[Any]) -> None:
    """Carry out commands in order while the workflow keeps running.

    This is the one place commands are carried out: task steps return
    them, never call back here. Completions of actions that ran inline are
    always recorded and a task's structural failure is always applied,
    at once (before the commands queued before it); new work waits in the
    backlog while the workflow is paused and is dropped once it has
    finished.
    """
    pending = collections.deque(effects)
    held: list[Any] = []

    def follow(new: list[tasks.Effect]) -> None:
        if tasks.failed(new):
            pending.appendleft(new[0])
        else:
            pending.extend(new)

    while pending:
        cmd = pending.popleft()
        wf_ex = run.wf_ex
        if isinstance(cmd, tasks.TaskFailed):
            _fail_task(run, cmd.task_ex, cmd.message)
            continue
        if isinstance(cmd, tasks.ChildDone):
            follow(tasks.child_done(run, cmd.task_ex, cmd.latest))
            continue
        if wf_ex.state == states.PAUSED:
            held.append(cmd)
            continue
        if wf_ex.state != states.RUNNING:
            continue
        if isinstance(cmd, cmds.RunTask):
            follow(tasks.start_task(run, cmd))
        elif isinstance(cmd, tasks.StartChild):
            follow(start_child(run, cmd.task_ex, cmd.item))
        elif isinstance(cmd, cmds.FailWorkflow):
            finish(run, forced_state=states.ERROR, forced_info=cmd.msg)
        elif isinstance(cmd, cmds.SucceedWorkflow):
            finish(run, forced_state=states.SUCCESS,
                   forced_info=cmd.msg)
        elif isinstance(cmd, cmds.PauseWorkflow):
            set_state(run, states.PAUSED, cmd.msg)
        # Noop: nothing to do.
    if held:
        _backlog(run, held)


def _backlog(run: Run, effects: list[Any]) -> None:
    """Commands that follow a pause wait in the execution until resume."""
    rc = dict(run.wf_ex.runtime_context or {})
    saved = list(rc.get('backlog', []))
    for cmd in effects:
        if isinstance(cmd, cmds.RunTask):
            saved.append({'task_name': cmd.task_name,
                          'in_context': dict(cmd.in_context),
                          'triggered_by': cmd.triggered_by})
        elif isinstance(cmd, tasks.StartChild):
            saved.append({'child_of': cmd.task_ex.id,
                          'item': vars(cmd.item)})
    rc['backlog'] = saved
    run.wf_ex.runtime_context = rc


def resume(run: Run) -> None:
    """Run what waited for the pause to end: backlog, then tasks held by
    pause-before."""
    wf_ex = run.wf_ex
    rc = dict(wf_ex.runtime_context or {})
    backlog = rc.pop('backlog', [])
    wf_ex.runtime_context = rc
    effects: list[Any] = []
    for b in backlog:
        if 'child_of' in b:
            task_ex = run.session.get(models.TaskExecution, b['child_of'])
            # Its task waits for it (a paused execution's tasks stay).
            assert task_ex is not None
            effects.append(tasks.StartChild(
                task_ex, task_plan.WorkflowRun(**b['item'])))
        else:
            effects.append(cmds.RunTask(b['task_name'], b['in_context'],
                                        b.get('triggered_by') or []))
    te = models.TaskExecution
    held = run.session.execute(
        sa.select(te).where(te.workflow_execution_id == wf_ex.id,
                            te.state == states.IDLE)
        .options(orm.undefer(te.in_context))
        .order_by(te.created_at)).scalars().all()
    for task_ex in held:
        started = tasks.resume_held(run, task_ex)
        if tasks.failed(started):
            # The workflow fails: nothing else that waited runs.
            dispatch(run, started)
            return
        effects = started + effects
    # Large with-items tasks whose continuation arrived while paused.
    stalled = run.session.execute(
        sa.select(te).where(te.workflow_execution_id == wf_ex.id,
                            te.state == states.RUNNING,
                            te.active_children == 0)
        .options(orm.undefer(te.in_context))).scalars().all()
    for task_ex in stalled:
        if task_machine.TaskState.from_runtime_context(
                task_ex.runtime_context).pending_items:
            effects += tasks.continue_items(run, task_ex)
    dispatch(run, effects)
    maybe_finish(run)


def after_task_effects(run: Run, effects: list[Any]) -> None:
    dispatch(run, effects)
    maybe_finish(run)


def _fail_task(run: Run, task_ex: models.TaskExecution, message: str
               ) -> None:
    """A structural error: the task and its workflow fail at once."""
    LOG.info('Workflow %s failed: %s', run.wf_ex.id, message)
    tasks.fail_task(run, task_ex, message)
    finish(run, forced_state=states.ERROR, forced_info=message)


def maybe_finish(run: Run) -> None:
    """Finish when no task is left (O(1): counters on the row).

    If only waiting joins are left, nothing can ever reach them: they fail,
    and their own transitions may still lead somewhere.
    """
    wf_ex = run.wf_ex
    while wf_ex.state == states.RUNNING:
        waiting = (wf_ex.runtime_context or {}).get('waiting_joins', 0)
        if wf_ex.active_tasks <= 0:
            if run.finishing is not None:
                run.finishing[wf_ex.id] = run
            else:
                finish(run)
            return
        if task_machine.joins_impossible(waiting, wf_ex.active_tasks):
            # A structural failure among them fails the workflow (and
            # ends this loop).
            dispatch(run, tasks.fail_impossible_joins(run))
            continue
        return


def set_state(run: Run, state: str, info: str | None = None,
              notify_parent: bool = True) -> None:
    wf_ex = run.wf_ex
    if not states.is_valid_transition(wf_ex.state, state):
        raise exc.WorkflowException(
            "Can't change workflow execution state from %s to %s. "
            "[workflow=%s, execution_id=%s]"
            % (wf_ex.state, state, wf_ex.name, wf_ex.id))
    previous = wf_ex.state
    wf_ex.state = state
    wf_ex.state_info = info
    wf_ex.updated_at = timeutils.utcnow()
    if notify_parent and wf_ex.task_execution_id and previous != state \
            and state in (states.PAUSED, states.RUNNING):
        # A sub-workflow's pause and resume reach its parent task.
        run.batch.add('engine', 'on_child_state',
                      {'wf_ex_id': wf_ex.id, 'state': state}, ctx=run.ctx)
    if state == states.PAUSED:
        events.workflow_event(run, events.WORKFLOW_PAUSED)
    elif state == states.RUNNING and previous == states.PAUSED:
        events.workflow_event(run, events.WORKFLOW_RESUMED)
    elif state == states.RUNNING and previous in (states.ERROR,
                                                  states.CANCELLED):
        events.workflow_event(run, events.WORKFLOW_RERUN)


def finish_together(runs: Iterable[Run]) -> None:
    """Finish the executions that ``maybe_finish`` put aside (in
    ``Run.finishing``) and still have no task left. The ending tasks of
    those whose tasks are not all in memory come in one query: a
    transaction that applies the last results of many small workflows
    reads them once, not once per workflow, and writes the workflows'
    new states together at its end."""
    todo = [r for r in runs
            if r.wf_ex.state == states.RUNNING and r.wf_ex.active_tasks <= 0]
    known = {r.wf_ex.id: _known_tasks(r) for r in todo}
    ask = [r.wf_ex.id for r in todo
           if known[r.wf_ex.id] is None and r.spec.type != 'reverse']
    if len(ask) > 1:
        found: dict[str, list[models.TaskExecution]] = {i: [] for i in ask}
        for task_ex in _read_ending_tasks(
                todo[0].session, _ending_tasks(False, True, many=True),
                {'wf_ex_ids': ask}, ask):
            found[task_ex.workflow_execution_id].append(task_ex)
        known.update(found)
    for run in todo:
        finish(run, known=known[run.wf_ex.id])


def finish(run: Run, forced_state: str | None = None,
           forced_info: str | None = None,
           known: Sequence[models.TaskExecution] | None = None) -> None:
    """``known``: the execution's ending tasks, as ``_ending_tasks``
    reads them, when the caller has them already."""
    s = run.session
    wf_ex = run.wf_ex
    target = (wf_ex.params or {}).get('task_name') \
        if run.spec.type == 'reverse' else None
    if known is None:
        known = _known_tasks(run)
    if known is None:
        params = {'wf_ex_id': wf_ex.id}
        if target is not None:
            params['target'] = target
        known = _read_ending_tasks(
            s, _ending_tasks(target is not None, forced_state is None),
            params, [wf_ex.id])
    end_tasks = sorted(
        (t for t in known if not t.has_next_tasks
         and t.state in states.COMPLETED
         and (target is None or t.name == target)),
        key=lambda t: (t.finished_at, t.created_at))
    final_context = contexts.final_context(run, list(end_tasks))
    if final_context is None:
        final_context = data_flow.merge_end_contexts(
            (contexts.outbound(run, t) for t in end_tasks),
            run.merge_strategy)

    failed: list[lifecycle.FailedTask] = []
    cancelled: list[str] = []
    if forced_state is None:
        problem = sorted(
            (t for t in known
             if (t.state == states.ERROR and not t.error_handled)
             or t.state == states.CANCELLED),
            key=lambda t: t.created_at)
        # Listed by name, as upstream lists them.
        problem = sorted(problem, key=lambda t: t.name)
        cancelled = [t.name for t in problem if t.state == states.CANCELLED]
        failed = [_failed_task(s, t) for t in problem
                  if t.state == states.ERROR]

    outcome = lifecycle.finish(
        run.spec, final_context=final_context, env=run.env,
        wf_context=run.wf_context, wf_input=run.wf_input, failed=failed,
        cancelled=cancelled, forced_state=forced_state,
        forced_info=forced_info, data_access=run.access)
    wf_ex.state = outcome.state
    wf_ex.state_info = outcome.state_info
    wf_ex.output = outcome.output
    wf_ex.updated_at = timeutils.utcnow()
    event = events.WORKFLOW_BY_STATE.get(wf_ex.state)
    if event:
        events.workflow_event(run, event)
    if wf_ex.task_execution_id:
        # The parent is another row: tell it in its own transaction.
        run.batch.add('engine', 'on_workflow_complete',
                      {'wf_ex_id': wf_ex.id}, ctx=run.ctx)
    LOG.debug('Workflow execution %s finished: %s', wf_ex.id, wf_ex.state)


def _read_ending_tasks(session: orm.Session, stmt: sa.Select[Any],
                       params: dict[str, Any], wf_ex_ids: Iterable[str]
                       ) -> list[models.TaskExecution]:
    """The tasks ``stmt`` (an ``_ending_tasks`` query) finds, and those of
    the executions ``wf_ex_ids`` that this transaction created or changed
    and has not written yet: the query does not flush them first. A flush
    here would write the execution's row (its count of active tasks) once
    now and again with its final state at the commit. The candidates are
    told apart by ``finish`` from what is in memory, as it does for a
    transaction that holds every task of the execution."""
    with session.no_autoflush:
        found = list(session.execute(stmt, params).scalars())
    deleted = session.deleted  # a new set at each access
    if deleted:
        # Still in the database until the flush: not tasks any more.
        found = [t for t in found if t not in deleted]
    seen = {id(t) for t in found}
    wanted = set(wf_ex_ids)
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, models.TaskExecution) and id(obj) not in seen \
                and obj.workflow_execution_id in wanted:
            found.append(obj)
    return found


@functools.cache
def _ending_tasks(reverse: bool, with_failures: bool, many: bool = False
                  ) -> sa.Select[Any]:
    """The tasks that can end an execution (and, ``with_failures``,
    those that make it fail) in one query, told apart by ``finish`` as
    for tasks held in memory; ``many``: of the executions of the list
    ``wf_ex_ids``. Built once per shape."""
    te = models.TaskExecution
    of: sa.ColumnElement[bool]
    if many:
        of = te.workflow_execution_id.in_(
            sa.bindparam('wf_ex_ids', expanding=True))
    else:
        of = te.workflow_execution_id == sa.bindparam('wf_ex_id')
    ends = sa.and_(te.has_next_tasks.is_(False),
                   te.state.in_(tuple(states.COMPLETED)))
    if reverse:
        # A reverse workflow ends with its target task.
        ends = sa.and_(ends, te.name == sa.bindparam('target'))
    if with_failures:
        ends = sa.or_(ends, sa.and_(te.state == states.ERROR,
                                    te.error_handled.is_(False)),
                      te.state == states.CANCELLED)
    return (sa.select(te)
            .where(of, ends)
            .options(orm.undefer(te.in_context)))


def _known_tasks(run: Run) -> list[models.TaskExecution] | None:
    """This execution's tasks when the transaction holds all of them."""
    if not run.all_tasks_known:
        return None
    return [t for t in run.tasks.values()
            if t.workflow_execution_id == run.wf_ex.id]


def _failed_task(s: orm.Session, task_ex: models.TaskExecution
                 ) -> lifecycle.FailedTask:
    if task_ex.type == 'WORKFLOW':
        return lifecycle.FailedTask(task_ex.id, task_ex.name,
                                    task_ex.state_info,
                                    workflow_errors=_workflow_errors(
                                        s, task_ex.id))
    return lifecycle.FailedTask(task_ex.id, task_ex.name, task_ex.state_info,
                                _action_errors(s, task_ex.id))


def _workflow_errors(s: orm.Session, task_ex_id: str
                     ) -> list[tuple[str, int, str]]:
    """(id, item index, error) of the task's failed sub-workflows; the
    error is the 'result' of the sub-workflow's output."""
    wf = models.WorkflowExecution
    found = s.execute(
        sa.select(wf.id, wf.params, wf.output).where(
            wf.task_execution_id == task_ex_id, wf.state == states.ERROR,
            wf.accepted.is_(True))
        .order_by(wf.created_at)).all()
    out = []
    for r in found:
        error = (r.output or {}).get('result')
        # None (a `fail` without a message) reads as upstream prints it.
        out.append((r.id, (r.params or {}).get('index', 0),
                    'None' if error is None else tasks.error_text(error)))
    return out


def _action_errors(s: orm.Session, task_ex_id: str
                   ) -> list[tuple[str, int, str]]:
    ae = models.ActionExecution
    found = s.execute(
        sa.select(ae).where(ae.task_execution_id == task_ex_id,
                            ae.state == states.ERROR,
                            ae.accepted.is_(True))
        .options(orm.undefer(ae.output))
        .order_by(ae.created_at)).scalars().all()
    return [(a.id, (a.runtime_context or {}).get('index', 0),
             tasks.error_text((a.output or {}).get('result')))
            for a in found]
