"""New workflow/task executions are inserted by bulk.insert_new (Core
statements) at flush time and stay usable ORM objects afterwards."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from mistral.db import api as db_api
from mistral.db import models
from mistral.engine import bulk
from mistral.tests.functional.engine.conftest import in_process_engine


def _test_thread_only(listener: Callable[..., None]) -> Callable[..., None]:
    """A statement listener that counts only this test's own (main)
    thread: background threads earlier tests left running in the same
    worker (result confirmation, lease renewal) use the same engine."""
    def counted(*args: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            listener(*args)
    return counted


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def env(request) -> Iterator[object]:
    with in_process_engine(request.param) as e:
        yield e


def test_new_rows_are_inserted_directly_and_stay_persistent(env) -> None:
    statements = []

    @_test_thread_only
    def seen(conn, cursor, statement, *args):
        statements.append(statement.split(None, 3)[:3])

    engine = db_api.get_engine()
    sa.event.listen(engine, 'before_cursor_execute', seen)
    try:
        with db_api.transaction() as s:
            wf = models.WorkflowExecution(
                id=models.new_id(), name='w', state='RUNNING',
                project_id='p', input={'a': 1}, params={}, context={},
                runtime_context={}, spec={}, output={})
            task = models.TaskExecution(
                id=models.new_id(), name='t', state='RUNNING',
                workflow_execution_id=wf.id, project_id='p',
                published={}, runtime_context={})
            s.add_all([wf, task])
            s.flush()
            assert orm.object_session(task) is s
            assert sa.inspect(task).persistent
            # Columns with defaults were filled in on the object: reading
            # them needs no query.
            before = len(statements)
            assert (task.type, task.processed, task.active_children,
                    task.scope, wf.accepted) == ('ACTION', False, 0,
                                                 'private', False)
            assert task.created_at is not None
            assert len(statements) == before
            task.state = 'SUCCESS'
            wf.output = {'r': 2}
        inserts = [x for x in statements if x[0].upper() == 'INSERT']
        assert [x[2] for x in inserts] == ['workflow_executions_v2',
                                           'task_executions_v2']
        assert any(x[0].upper() == 'UPDATE' for x in statements)
    finally:
        sa.event.remove(engine, 'before_cursor_execute', seen)
    with db_api.read_session() as s:
        row = s.get(models.TaskExecution, task.id)
        assert (row.state, row.type) == ('SUCCESS', 'ACTION')
        assert s.get(models.WorkflowExecution, wf.id).output == {'r': 2}


def test_too_long_values_are_still_refused(env) -> None:
    from mistral import exceptions as exc

    with pytest.raises(exc.InputException):
        with db_api.transaction() as s:
            s.add(models.WorkflowExecution(
                id=models.new_id(), name='x' * 300, state='RUNNING'))
            s.flush()


def test_changed_rows_are_updated_directly_and_left_clean(env) -> None:
    # bulk.update_dirty writes changed workflow/task executions with Core
    # UPDATEs in the flush: the values reach the database, same-shaped
    # rows share one statement, a change back to the stored value writes
    # nothing, and the objects are clean afterwards (the unit of work
    # finds nothing more to write).
    statements = []

    @_test_thread_only
    def seen(conn, cursor, statement, params, context, executemany):
        statements.append((statement.split(None, 2)[0].upper(),
                           executemany))

    ids = [models.new_id() for _ in range(3)]
    wf_id = models.new_id()
    with db_api.transaction() as s:
        s.add(models.WorkflowExecution(
            id=wf_id, name='w', state='RUNNING', project_id='p', input={},
            params={}, context={}, runtime_context={}, spec={}, output={}))
        s.add_all([models.TaskExecution(
            id=i, name='t%d' % n, state='RUNNING', workflow_execution_id=wf_id,
            project_id='p', published={}, runtime_context={})
            for n, i in enumerate(ids)])
    engine = db_api.get_engine()
    sa.event.listen(engine, 'before_cursor_execute', seen)
    try:
        with db_api.transaction() as s:
            te = models.TaskExecution
            tasks = s.execute(sa.select(te).where(te.id.in_(ids))).scalars()
            by_id = {t.id: t for t in tasks}
            by_id[ids[0]].state = 'SUCCESS'
            by_id[ids[0]].published = {'x': 1}
            by_id[ids[1]].state = 'SUCCESS'
            by_id[ids[1]].published = {'x': 2}
            by_id[ids[2]].state = 'RUNNING'  # the stored value
            del statements[:]
            bulk.update_dirty(s)  # what the flush runs first
            assert not s.dirty
            assert [st for st in statements if st[0] == 'UPDATE'] == [
                ('UPDATE', True)]
            assert not any(sa.inspect(t).modified for t in by_id.values())
    finally:
        sa.event.remove(engine, 'before_cursor_execute', seen)
    with db_api.transaction() as s:
        rows = dict(s.execute(sa.select(te.id, te.published).where(
            te.id.in_(ids))).all())
        states = dict(s.execute(sa.select(te.id, te.state).where(
            te.id.in_(ids))).all())
    assert rows == {ids[0]: {'x': 1}, ids[1]: {'x': 2}, ids[2]: {}}
    assert states == {ids[0]: 'SUCCESS', ids[1]: 'SUCCESS',
                      ids[2]: 'RUNNING'}


def test_an_unparsed_spec_comes_with_the_workflow_lock(env) -> None:
    # A process that has not parsed an execution's spec yet loads it with
    # the lock of the execution's row: one statement, not a second SELECT
    # of the deferred column.
    from mistral.engine import engine as engine_mod
    from mistral.engine import spec_cache
    from mistral.handoff import outbox

    spec = {'name': 'wf', 'version': '2.0', 'type': 'direct',
            'tasks': {'a': {'name': 'a', 'type': 'direct',
                            'action': 'std.noop', 'version': '2.0'}}}
    wf_id = models.new_id()
    with db_api.transaction() as s:
        s.add(models.WorkflowExecution(
            id=wf_id, name='wf', state='RUNNING', project_id='p', input={},
            params={}, context={}, runtime_context={}, spec=spec,
            output={}))
    spec_cache.clear()
    statements = []

    @_test_thread_only
    def seen(conn, cursor, statement, *args):
        statements.append(statement.split(None, 1)[0].upper())

    engine = db_api.get_engine()
    try:
        with db_api.transaction() as s:
            sa.event.listen(engine, 'before_cursor_execute', seen)
            run = engine_mod._lock_run(s, outbox.Batch(), {}, wf_id)
            assert run.spec.to_dict()['name'] == 'wf'
            sa.event.remove(engine, 'before_cursor_execute', seen)
        assert statements.count('SELECT') == 1, statements
        assert spec_cache.known(wf_id)
    finally:
        spec_cache.clear()
