"""The engine's RPC endpoint.

Every request is one transaction (retried whole on deadlocks and lost
connections): lock the workflow execution row, load what is needed, ask the
pure core what happens next, write the new state and the outbox messages,
commit, then send. Requests are idempotent: a repeated result or start
changes nothing.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from mistral import exceptions as exc
from mistral.context import MistralContext
from mistral.context import RequestContext
from mistral.db import api as db_api
from mistral.db import models
from mistral.db import rows
from mistral.db import write_buffer
from mistral.engine import ad_hoc
from mistral.engine import contexts
from mistral.engine import limits
from mistral.engine import spec_cache
from mistral.engine import tasks
from mistral.engine import workflows
from mistral.engine.run import Run
from mistral.engine.unit_of_work import unit_of_work
from mistral.handoff import outbox
from mistral.metrics import hooks as metrics
from mistral.utils import timeutils
from mistral.workflow import rerun
from mistral.workflow import states

LOG = logging.getLogger(__name__)


def _ctx_dict(ctx: RequestContext | None) -> dict[str, Any]:
    data = ctx.to_dict() if isinstance(ctx, MistralContext) \
        else dict(ctx or {})
    # 'redelivered' describes the message that carried it. The engine
    # writes this context into every message that follows from it: a
    # completion of a re-sent safe-rerun action would mark the next
    # task's run_action redelivered too, and an executor would fail that
    # action if it is not safe-rerun.
    data.pop('redelivered', None)
    return data


_wf_dict = workflows.answer


def _post_process(ax: models.ActionExecution,
                  result: dict[str, Any]) -> dict[str, Any]:
    from mistral.actions import resolver

    if 'data' not in result:
        return result
    desc = resolver.lookup(ax.name, ax.workflow_namespace or '',
                           ax.project_id)
    if desc is None:
        return result
    try:
        out = desc.post_process_result(dict(result))
    except Exception as e:  # an output expression of the ad-hoc action
        return {'error': 'Failed to transform the action result: %s' % e}
    return out if isinstance(out, dict) else result


def _outcome_of(result: dict[str, Any]) -> tuple[str, str | None, Any]:
    """(state, state_info, value) an action's result gives its row and
    its task."""
    state, value = tasks.result_state(result)
    try:
        limits.check_size('output', {'result': value}, 'ActionExecution')
    except exc.SizeLimitExceededException as e:
        # Too large to keep: the action fails rather than staying
        # RUNNING for ever.
        state, value = states.ERROR, str(e)
    info = tasks.error_text(value) if state == states.ERROR else None
    return state, info, value


def _record_result(ax: models.ActionExecution, result: dict[str, Any]
                   ) -> tuple[str, str | None, Any]:
    """Store an action's result on its row; (state, state_info, value)
    for the task."""
    state, info, value = _outcome_of(result)
    ax.state = state
    ax.output = {'result': value}
    ax.state_info = info
    ax.accepted = True
    ax.updated_at = timeutils.utcnow()
    ax.lease_until = None
    return state, info, value


_AE = models.ActionExecution.__table__
# Results of many actions in one statement (executemany).
_RECORD_RESULT = _AE.update().where(
    _AE.c.id == sa.bindparam('ax_id')).values(
        state=sa.bindparam('state'), state_info=sa.bindparam('state_info'),
        output=sa.bindparam('output'), accepted=True,
        updated_at=sa.bindparam('now'), lease_until=None
).execution_options(**{write_buffer.HOLD: True})

# The actions whose results arrived, with their tasks (built once: it runs
# for every batch of results).
_ACTIONS_WITH_TASKS = (
    sa.select(models.ActionExecution.id, models.ActionExecution.state,
              models.ActionExecution.workflow_execution_id,
              models.ActionExecution.task_execution_id,
              models.TaskExecution)
    .outerjoin(models.TaskExecution, models.TaskExecution.id
               == models.ActionExecution.task_execution_id)
    .where(models.ActionExecution.id.in_(
        sa.bindparam('ids', expanding=True)))
    .options(orm.undefer(models.TaskExecution.in_context))
    .execution_options(populate_existing=True))


_TASK = (
    sa.select(models.TaskExecution)
    .where(models.TaskExecution.id == sa.bindparam('task_id'))
    .options(orm.undefer(models.TaskExecution.in_context))
    .execution_options(populate_existing=True))


def _load_task(session: orm.Session, task_ex_id: str
               ) -> models.TaskExecution:
    return session.execute(_TASK, {'task_id': task_ex_id}).scalar_one()


def _after(run: Run, effects: list[Any]) -> None:
    """Follow the effects of a task step within the same transaction
    (a structural failure among them too: workflows.dispatch)."""
    workflows.after_task_effects(run, effects)


def _parent_run(session: orm.Session, batch: outbox.Batch, ctx: RequestContext,
                child: models.WorkflowExecution | None
                ) -> tuple[Run, models.TaskExecution] | None:
    """The run of a sub-workflow's parent (its row locked) and the parent
    task, or None when the child has no parent (any more)."""
    if child is None or not child.task_execution_id:
        return None
    parent_task = session.get(models.TaskExecution, child.task_execution_id)
    if parent_task is None:
        return None
    run = _lock_run(session, batch, _ctx_dict(ctx),
                    parent_task.workflow_execution_id)
    return run, _load_task(session, parent_task.id)


def _lock_run(session: orm.Session, batch: outbox.Batch, ctx: dict[str, Any],
              wf_ex_id: str) -> Run:
    # The spec (a deferred column) comes with the lock when this process
    # has not parsed it yet: no second round trip for it.
    wf_ex = db_api.lock_for_update(
        session, models.WorkflowExecution, wf_ex_id,
        undefer=() if spec_cache.known(wf_ex_id) else ('spec',))
    if wf_ex is None:
        raise exc.DBEntityNotFoundError(
            'WorkflowExecution not found [id=%s]' % wf_ex_id)
    return Run(session, batch, ctx, wf_ex, spec_cache.workflow_spec(wf_ex))


def _lock_runs(session: orm.Session,
               groups: list[tuple[Any, str, list[dict[str, Any]]]],
               runs: dict[str, tuple[Run, list[dict[str, Any]]]]) -> None:
    """The runs of several executions, their rows locked in one statement
    (those deleted meanwhile left out), each with its results and its own
    messages until the end: the executor taking the next action looks at
    each execution's own."""
    by_id: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
    for ctx, wf_ex_id, items in groups:
        if wf_ex_id in by_id:
            by_id[wf_ex_id][1].extend(items)  # (another context)
        else:
            by_id[wf_ex_id] = (ctx, list(items))
    we = models.WorkflowExecution
    locked = db_api.lock_many_for_update(session, we, sorted(by_id))
    # The specs this process has not parsed yet, in one more query (with
    # the lock they would come for every row, parsed or not).
    unknown = [wf_ex.id for wf_ex in locked if not spec_cache.known(wf_ex.id)]
    if unknown:
        specs: dict[str, Any] = dict(session.execute(
            sa.select(we.id, we.spec).where(we.id.in_(unknown))).all())
        for wf_ex in locked:
            if wf_ex.id in specs:
                orm.attributes.set_committed_value(wf_ex, 'spec',
                                                   specs[wf_ex.id])
    for wf_ex in locked:
        ctx, items = by_id[wf_ex.id]
        runs[wf_ex.id] = (Run(session, outbox.Batch(), _ctx_dict(ctx),
                              wf_ex, spec_cache.workflow_spec(wf_ex)),
                          items)


def _cascade(run: Run, method: str, child_states: tuple[str, ...],
             **args: Any) -> None:
    """Send a state change on to the sub-workflows of this execution, each
    in its own transaction (one workflow lock per transaction)."""
    wf, te = models.WorkflowExecution, models.TaskExecution
    children = run.session.execute(
        sa.select(wf.id).join(te, te.id == wf.task_execution_id).where(
            te.workflow_execution_id == run.wf_ex.id,
            wf.state.in_(child_states))).scalars().all()
    for child_id in children:
        run.batch.add('engine', method,
                      {'wf_ex_id': child_id, 'from_parent': True, **args},
                      ctx=run.ctx)


def _parent_state(run: Run) -> str | None:
    """State of the parent workflow, locked until the transaction ends.

    A cascaded pause/resume/cancel applies only if the parent is still in
    that state; holding its row lock means the parent's next change (and
    the cascade it sends) comes after this transaction, so parent and
    child cannot end up in different states. Locks go child, then parent;
    nothing locks a parent and then its child.
    """
    task = run.session.get(models.TaskExecution,
                           run.wf_ex.task_execution_id)
    if task is None:
        return None
    parent = db_api.lock_for_update(run.session, models.WorkflowExecution,
                                    task.workflow_execution_id)
    return parent.state if parent is not None else None


def _applies_message(func):
    """A message that fails with a client error (4xx) would fail the same
    way every time it is sent again: its outbox row is dropped."""
    @functools.wraps(func)
    def wrapper(self, ctx, *args, outbox_id=None, **kwargs):
        try:
            return func(self, ctx, *args, outbox_id=outbox_id, **kwargs)
        except exc.MistralError as e:
            if outbox_id and e.http_code < 500:
                LOG.warning('Dropping message %s.%s: %s', 'engine',
                            func.__name__, e)
                outbox.acknowledge_alone(outbox_id)
            raise
    return wrapper


class Engine:
    """RPC endpoint on the engine topic (method names are the protocol)."""

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def start_workflow(self, ctx: RequestContext, wf_identifier: str,
                       wf_namespace: str = '', wf_ex_id: str | None = None,
                       wf_input: dict | None = None, description: str = '',
                       params: dict | None = None,
                       outbox_id: str | None = None) -> dict[str, Any]:
        try:
            # The API waits for this answer; the first tasks' messages
            # need not go before it (they are committed: a sweep sends
            # them if this process dies first).
            with unit_of_work(outbox_id, answer_first=True) as (
                    session, batch):
                started = workflows.start(session, batch, _ctx_dict(ctx),
                                          wf_identifier, wf_namespace,
                                          wf_ex_id, wf_input, description,
                                          params or {})
                session.flush()
                return started
        except exc.DBDuplicateEntryError:
            if not wf_ex_id:
                raise
            # The same id was started concurrently: answer with that one.
            with db_api.read_session() as session:
                existing = session.get(models.WorkflowExecution, wf_ex_id)
                if existing is None:
                    raise
                return _wf_dict(existing)

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def on_action_complete(self, ctx: RequestContext, action_ex_id: str,
                           result: dict[str, Any] | None,
                           wf_action: bool = False, processed: bool = False,
                           outbox_id: str | None = None) -> dict[str, Any]:
        result = result or {}
        with unit_of_work(outbox_id) as (session, batch):
            ax = session.get(models.ActionExecution, action_ex_id)
            if ax is None:
                raise exc.DBEntityNotFoundError(
                    'ActionExecution not found [id=%s]' % action_ex_id)
            if states.is_completed(ax.state):
                return rows.to_dict(ax)  # a duplicate: nothing changes
            run = None
            if ax.workflow_execution_id:
                run = _lock_run(session, batch, _ctx_dict(ctx),
                                ax.workflow_execution_id)
                # Another engine may have taken the result while we waited
                # for the lock.
                session.refresh(ax)
                if states.is_completed(ax.state):
                    return rows.to_dict(ax)
            if not processed:
                # A result PUT through the API (async actions): ad-hoc
                # actions still transform it with their `output`.
                result = _post_process(ax, result)
            latest = _record_result(ax, result)
            if run is None or ax.task_execution_id is None:
                return rows.to_dict(ax)
            task_ex = _load_task(session, ax.task_execution_id)
            _after(run, tasks.child_done(run, task_ex, latest))
            session.flush()
            return rows.to_dict(ax)

    @metrics.engine_request
    def on_action_results(self, ctx: RequestContext,
                          results: list[dict[str, Any]],
                          outbox_id: str | None = None) -> None:
        """Results of several actions from an executor
        (``[{'id', 'wf', 'result'}]``, already post-processed). Those of
        one workflow execution are applied in one transaction. Nothing is
        answered: the executor learns from the database which results were
        applied and sends the others again; a result applied already
        changes nothing."""
        by_wf: dict[str, list[dict[str, Any]]] = {}
        alone: list[dict[str, Any]] = []
        for item in results or []:
            if not isinstance(item, dict) or not item.get('id'):
                continue
            if item.get('wf'):
                by_wf.setdefault(item['wf'], []).append(item)
            else:
                alone.append(item)
        groups = list(by_wf.items())
        if len(groups) > 1:
            try:
                self._apply_results_many([(ctx, wf_ex_id, items)
                                          for wf_ex_id, items in groups])
                groups = []
            except Exception:
                # One execution's trouble must not hold back the others:
                # each is tried alone.
                LOG.warning('Applying the results of %d workflow '
                            'executions together failed; applying them one '
                            'execution at a time', len(groups),
                            exc_info=True)
        for wf_ex_id, items in groups:
            try:
                self._apply_results(ctx, wf_ex_id, items)
            except Exception:
                LOG.warning('Applying %d result(s) of workflow execution '
                            '%s failed; their executor sends them again',
                            len(items), wf_ex_id, exc_info=True)
        for item in alone:
            try:
                self.on_action_complete(ctx, item['id'],
                                        item.get('result') or {},
                                        processed=True)
            except exc.DBEntityNotFoundError:
                pass  # deleted meanwhile
            except Exception:
                LOG.warning('Applying the result of %s failed; its '
                            'executor sends it again', item['id'],
                            exc_info=True)

    def _apply_results(self, ctx: RequestContext | dict[str, Any],
                       wf_ex_id: str, items: list[dict[str, Any]],
                       local: Any = None) -> None:
        """``local``: the executor applying them in its own process (see
        mistral.executor.executor.LocalClaim)."""
        self._apply_results_many([(ctx, wf_ex_id, items)], local=local)

    @db_api.retry_on_db_error
    def _apply_results_many(self, groups: list[tuple[Any, str,
                                                     list[dict[str, Any]]]],
                            local: Any = None) -> None:
        """Results of several workflow executions (``[(ctx, wf_ex_id,
        items)]``, one group per execution) in one transaction: many small
        workflows that advance at once share its fixed costs (the begin
        and commit, the reads and writes of the actions, the flush) instead
        of paying them each."""
        with unit_of_work() as (session, batch):
            # Locked in id order: two such transactions that want some of
            # the same executions wait for each other, never in a circle.
            runs: dict[str, tuple[Run, list[dict[str, Any]]]] = {}
            if len(groups) == 1:
                ctx, wf_ex_id, items = groups[0]
                try:
                    run = _lock_run(session, batch, _ctx_dict(ctx),
                                    wf_ex_id)
                except exc.DBEntityNotFoundError:
                    return  # deleted, with its actions
                runs[wf_ex_id] = (run, list(items))
            else:
                _lock_runs(session, groups, runs)
            if not runs:
                return
            # Read under the locks (another engine may have applied some),
            # with their tasks, in one query. The action rows are read as
            # columns and written with one statement: no ORM object, no
            # unit-of-work bookkeeping per action.
            found = {}
            for row in session.execute(_ACTIONS_WITH_TASKS, {'ids': [
                    i['id'] for _, items in runs.values() for i in items]}):
                found[row.id] = row
                owner = runs.get(row.workflow_execution_id)
                if owner is not None and row.TaskExecution is not None:
                    owner[0].tasks.setdefault(row.TaskExecution.id,
                                              row.TaskExecution)
            todo: list[tuple[Run, Any, dict[str, Any]]] = []
            for wf_ex_id, (run, items) in runs.items():
                for item in items:
                    ax = found.pop(item['id'], None)
                    if ax is None or states.is_completed(ax.state) or \
                            ax.workflow_execution_id != wf_ex_id:
                        continue  # a duplicate, or not this workflow's
                    todo.append((run, ax, item.get('result') or {}))
            if not todo:
                return
            # All are recorded first, before the tasks go on (which may
            # read the action rows).
            now = timeutils.utcnow()
            done = []
            updates = []
            for run, ax, result in todo:
                state, info, value = _outcome_of(result)
                done.append((run, ax, (state, info, value)))
                updates.append({'ax_id': ax.id, 'state': state,
                                'state_info': info,
                                'output': {'result': value}, 'now': now})
            session.connection().execute(_RECORD_RESULT, updates)
            if len(runs) > 1:
                contexts.prefetch_published(run for run, _ in runs.values())
            # Executions that end here finish together, after the next
            # actions are taken: no query (and the flush it implies)
            # between the steps of the executions, so the rows they write
            # go in a few statements of many rows.
            finishing: dict[str, Run] = {}
            for run, _ in runs.values():
                run.finishing = finishing
            for run, ax, latest in done:
                task_ex = run.tasks.get(ax.task_execution_id)
                if task_ex is not None:
                    _after(run, tasks.child_done(run, task_ex, latest))
            if local is not None:
                local.adopt(*(run for run, _ in runs.values()))
            for run, _ in runs.values():
                run.finishing = None
            workflows.finish_together(finishing.values())
            for run, _ in runs.values():
                if run.batch is not batch:
                    batch.rows.extend(run.batch.rows)
        # Committed (a retried attempt counts once): how well results
        # batch. A transaction's fixed cost is shared by its results: on
        # the benchmark machine about 1.8 ms of CPU, and 0.6 ms more for
        # each result.
        metrics.results_applied(len(todo))

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def run_inline_actions(self, ctx: RequestContext, wf_ex_id: str,
                           action_ex_ids: list[str],
                           outbox_id: str | None = None) -> None:
        """Run inline actions a transaction deferred past its budget, and
        apply their results, in one transaction."""
        with unit_of_work(outbox_id) as (session, batch):
            run = _lock_run(session, batch, _ctx_dict(ctx), wf_ex_id)
            finished = states.is_completed(run.wf_ex.state)
            waiting = tasks.deferred_inline_actions(run, action_ex_ids)
            # Their tasks in one query, before anything changes: a query
            # per action would also flush the session each time.
            te = models.TaskExecution
            task_ids = {ax.task_execution_id for ax in waiting} - set(
                run.tasks)
            if task_ids and not finished:
                for task_ex in session.execute(
                        sa.select(te).where(te.id.in_(task_ids))
                        .options(orm.undefer(te.in_context))
                        .execution_options(populate_existing=True)
                ).scalars():
                    run.tasks[task_ex.id] = task_ex
            if finished:
                # As for an executor's late result: the workflow is over,
                # nothing runs any more.
                tasks.finish_deferred(run, [
                    {'ax_id': ax.id, 'state': states.CANCELLED,
                     'state_info': 'Not run: the workflow execution '
                                   'finished first.', 'output': None}
                    for ax in waiting])
                return
            # All run first and their rows are written in one statement,
            # before the tasks go on (which may read those rows).
            done = [(ax, tasks.run_deferred_inline(run, ax))
                    for ax in waiting]
            tasks.finish_deferred(run, [
                {'ax_id': ax.id, 'state': state, 'state_info': info,
                 'output': {'result': value}}
                for ax, (state, info, value) in done])
            for ax, latest in done:
                task_ex = run.tasks[ax.task_execution_id]
                _after(run, tasks.child_done(run, task_ex, latest))

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def on_workflow_complete(self, ctx: RequestContext, wf_ex_id: str,
                             outbox_id: str | None = None) -> None:
        """A sub-workflow finished: its parent task counts it once."""
        with unit_of_work(outbox_id) as (session, batch):
            child = session.get(models.WorkflowExecution, wf_ex_id)
            if child is None or child.accepted or \
                    not states.is_completed(child.state):
                return
            parent = _parent_run(session, batch, ctx, child)
            if parent is None:
                return
            run, task_ex = parent
            session.refresh(child)
            if child.accepted:
                return
            child.accepted = True
            output = session.execute(
                sa.select(models.WorkflowExecution.output).where(
                    models.WorkflowExecution.id == wf_ex_id)).scalar()
            info = child.state_info if child.state != states.SUCCESS \
                else None
            _after(run, tasks.child_done(run, task_ex,
                                         (child.state, info, output)))

    @_applies_message
    @db_api.retry_on_db_error
    def on_child_state(self, ctx: RequestContext, wf_ex_id: str, state: str,
                       outbox_id: str | None = None) -> None:
        """A sub-workflow paused or resumed: its parent task follows, and
        the parent workflow pauses or resumes with it."""
        with unit_of_work(outbox_id) as (session, batch):
            found = _parent_run(session, batch, ctx,
                                session.get(models.WorkflowExecution,
                                            wf_ex_id))
            if found is None:
                return
            run, task_ex = found
            parent = run.wf_ex
            if state in (states.PAUSED, states.RUNNING):
                tasks.follow_child(task_ex, state)
            if state == states.PAUSED:
                if parent.state == states.RUNNING:
                    workflows.set_state(run, states.PAUSED)
                    _cascade(run, 'pause_workflow', (states.RUNNING,))
            elif state == states.RUNNING:
                if parent.state == states.PAUSED:
                    workflows.set_state(run, states.RUNNING)
                    _cascade(run, 'resume_workflow', (states.PAUSED,))
                    workflows.resume(run)

    def _task_step(self, ctx: RequestContext, task_ex_id: str, step,
                   outbox_id: str | None = None) -> None:
        with unit_of_work(outbox_id) as (session, batch):
            task_ex = session.get(models.TaskExecution, task_ex_id)
            if task_ex is None:
                return
            run = _lock_run(session, batch, _ctx_dict(ctx),
                            task_ex.workflow_execution_id)
            if run.wf_ex.state != states.RUNNING:
                return
            task_ex = _load_task(session, task_ex_id)
            _after(run, step(run, task_ex))

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def continue_task(self, ctx: RequestContext, task_ex_id: str,
                      token: str | None = None,
                      outbox_id: str | None = None) -> None:
        """A policy delay ended (wait-before, retry)."""
        self._task_step(ctx, task_ex_id,
                        lambda run, t: tasks.continue_task(run, t, token),
                        outbox_id=outbox_id)

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def continue_items(self, ctx: RequestContext, task_ex_id: str,
                       outbox_id: str | None = None) -> None:
        """More with-items elements to run inline (a large task runs in
        several transactions)."""
        self._task_step(ctx, task_ex_id, tasks.continue_items,
                        outbox_id=outbox_id)

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def complete_waited_task(self, ctx: RequestContext, task_ex_id: str,
                             outbox_id: str | None = None) -> None:
        """The wait-after delay ended."""
        self._task_step(ctx, task_ex_id, tasks.complete_waited_task,
                        outbox_id=outbox_id)

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def timeout_task(self, ctx: RequestContext, task_ex_id: str,
                     timeout: float,
                     outbox_id: str | None = None) -> None:
        self._task_step(ctx, task_ex_id,
                        lambda run, t: tasks.time_out(run, t, timeout),
                        outbox_id=outbox_id)

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def on_action_update(self, ctx: RequestContext, action_ex_id: str,
                         state: str,
                         wf_action: bool = False,
                         outbox_id: str | None = None) -> dict[str, Any]:
        with unit_of_work(outbox_id) as (session, batch):
            ax = session.get(models.ActionExecution, action_ex_id)
            if ax is None:
                raise exc.DBEntityNotFoundError(
                    'ActionExecution not found [id=%s]' % action_ex_id)
            if state == states.PAUSED and ax.is_sync:
                raise exc.InvalidStateTransitionException(
                    'Only asynchronous action executions can be paused '
                    '[action_execution_id=%s]' % action_ex_id)
            if not states.is_valid_transition(ax.state, state):
                raise exc.InvalidStateTransitionException(
                    "Can't change action execution state from %s to %s "
                    "[id=%s]" % (ax.state, state, action_ex_id))
            ax.state = state
            ax.updated_at = timeutils.utcnow()
            return rows.to_dict(ax)

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def pause_workflow(self, ctx: RequestContext, wf_ex_id: str,
                       from_parent: bool = False,
                       outbox_id: str | None = None) -> dict[str, Any]:
        with unit_of_work(outbox_id) as (session, batch):
            run = _lock_run(session, batch, _ctx_dict(ctx), wf_ex_id)
            if from_parent and _parent_state(run) != states.PAUSED:
                return _wf_dict(run.wf_ex)  # the parent went on meanwhile
            if run.wf_ex.state != states.PAUSED:
                workflows.set_state(run, states.PAUSED,
                                    notify_parent=not from_parent)
                _cascade(run, 'pause_workflow', (states.RUNNING,))
            return _wf_dict(run.wf_ex)

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def resume_workflow(self, ctx: RequestContext, wf_ex_id: str,
                        env: dict | None = None, from_parent: bool = False,
                        outbox_id: str | None = None) -> dict[str, Any]:
        with unit_of_work(outbox_id) as (session, batch):
            run = _lock_run(session, batch, _ctx_dict(ctx), wf_ex_id)
            wf_ex = run.wf_ex
            if from_parent and _parent_state(run) != states.RUNNING:
                return _wf_dict(wf_ex)  # the parent paused again meanwhile
            if wf_ex.state not in (states.PAUSED, states.IDLE):
                # As upstream: only a paused execution resumes; any other
                # is answered as it is (env unchanged), also one that
                # finished (a failed one runs again through a task rerun).
                return _wf_dict(wf_ex)
            if env:
                wf_ex.params = rerun.params_with_env(wf_ex.params, env)
            workflows.set_state(run, states.RUNNING,
                                notify_parent=not from_parent)
            _cascade(run, 'resume_workflow', (states.PAUSED,))
            # The answer is the execution as resumed, before its tasks go
            # on (inline actions could finish it in this transaction; the
            # caller learns what upstream answers, RUNNING).
            resumed = _wf_dict(wf_ex)
            workflows.resume(run)
            return resumed

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def stop_workflow(self, ctx: RequestContext, wf_ex_id: str, state: str,
                      message: str | None = None, from_parent: bool = False,
                      outbox_id: str | None = None) -> dict[str, Any]:
        with unit_of_work(outbox_id) as (session, batch):
            run = _lock_run(session, batch, _ctx_dict(ctx), wf_ex_id)
            wf_ex = run.wf_ex
            if from_parent and _parent_state(run) != state:
                return _wf_dict(wf_ex)  # the parent was rerun meanwhile
            if states.is_completed(wf_ex.state) and \
                    state in (states.ERROR, states.CANCELLED):
                # As upstream: failing or cancelling an execution that
                # already finished changes nothing.
                return _wf_dict(wf_ex)
            if not states.is_valid_transition(wf_ex.state, state):
                raise exc.WorkflowException(
                    "Can't change workflow execution state from %s to %s. "
                    "[workflow=%s, execution_id=%s]"
                    % (wf_ex.state, state, wf_ex.name, wf_ex.id))
            if states.is_completed(wf_ex.state):
                return _wf_dict(wf_ex)
            workflows.finish(run, forced_state=state, forced_info=message)
            if state == states.CANCELLED:
                _cascade(run, 'stop_workflow',
                         (states.RUNNING, states.PAUSED, states.IDLE),
                         state=states.CANCELLED, message=message)
            return _wf_dict(wf_ex)

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def rerun_workflow(self, ctx: RequestContext, task_ex_id: str,
                       reset: bool | None = True,
                       skip: bool = False, env: dict | None = None
                       , outbox_id: str | None = None) -> dict[str, Any]:
        """Run a failed task again (or skip it) and revive its workflow
        and every parent workflow."""
        with unit_of_work(outbox_id) as (session, batch):
            task_ex = session.get(models.TaskExecution, task_ex_id)
            if task_ex is None:
                raise exc.DBEntityNotFoundError(
                    'TaskExecution not found [id=%s]' % task_ex_id)
            run = _lock_run(session, batch, _ctx_dict(ctx),
                            task_ex.workflow_execution_id)
            task_ex = _load_task(session, task_ex_id)
            # The API checked these rules; again under the lock, as the
            # task may have changed since (the same rules and wording).
            rerun.check_rerun(task_ex.id, task_ex.state,
                              task_ex.runtime_context, reset, skip=skip,
                              invalid=exc.WorkflowException)
            if run.wf_ex.state != states.RUNNING:
                workflows.set_state(run, states.RUNNING)
            if env:
                run.wf_ex.params = rerun.params_with_env(run.wf_ex.params,
                                                         env)
            run.wf_ex.output = {}
            tasks.revive(run, task_ex)
            if run.wf_ex.task_execution_id:
                batch.add('engine', 'rerun_parent',
                          {'wf_ex_id': run.wf_ex.id}, ctx=run.ctx)
            if skip:
                effects = tasks.finish_task(run, task_ex, states.SKIPPED,
                                            'Task was skipped.',
                                            tasks.current_result(run,
                                                                 task_ex))
            else:
                effects = tasks.rerun(run, task_ex, reset)
            _after(run, effects)
            session.flush()
            return rows.to_dict(task_ex)

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def rerun_parent(self, ctx: RequestContext, wf_ex_id: str,
                     outbox_id: str | None = None) -> None:
        """A sub-workflow runs again: its parent task and workflow too."""
        with unit_of_work(outbox_id) as (session, batch):
            child = session.get(models.WorkflowExecution, wf_ex_id)
            found = _parent_run(session, batch, ctx, child)
            if found is None:
                return
            assert child is not None  # _parent_run found no parent then
            run, task_ex = found
            if child.accepted:
                child.accepted = False
                task_ex.active_children += 1
            if task_ex.state != states.ERROR:
                return
            if run.wf_ex.state != states.RUNNING:
                workflows.set_state(run, states.RUNNING)
            run.wf_ex.output = {}
            tasks.revive(run, task_ex)
            if run.wf_ex.task_execution_id:
                batch.add('engine', 'rerun_parent',
                          {'wf_ex_id': run.wf_ex.id}, ctx=run.ctx)

    @metrics.engine_request
    @_applies_message
    @db_api.retry_on_db_error
    def start_action(self, ctx: RequestContext, action_name: str,
                     action_input: dict | None = None, description: str = '',
                     namespace: str = '', params: dict | None = None,
                     outbox_id: str | None = None) -> dict[str, Any]:
        """Run an action outside any workflow (POST /v2/action_executions).
        """
        return ad_hoc.start_action(_ctx_dict(ctx), ctx, action_name,
                                   action_input or {}, description,
                                   namespace, params or {})

    def report_running_actions(self, ctx: RequestContext,
                               action_ex_ids: list[str]
                               ) -> None:
        """Accepted for compatibility; executors renew leases instead."""
