"""New workflow/task executions are inserted by bulk.insert_new (Core
statements) at flush time and stay usable ORM objects afterwards."""

from __future__ import annotations

from typing import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from mistral.db import api as db_api
from mistral.db import models
from mistral.tests.functional.engine.conftest import in_process_engine


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def env(request) -> Iterator[object]:
    with in_process_engine(request.param) as e:
        yield e


def test_new_rows_are_inserted_directly_and_stay_persistent(env) -> None:
    statements = []

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
