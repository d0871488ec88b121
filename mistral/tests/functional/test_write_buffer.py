"""mistral.db.write_buffer on PostgreSQL: an engine transaction's writes
that nothing reads back go to the server in one message, before the next
statement of another kind or before the commit; reads in between see
them; a failing held write fails its transaction as before."""

from __future__ import annotations

import datetime
from typing import Iterator

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from mistral import exceptions as exc
from mistral.context import default_context
from mistral.db import api as db_api
from mistral.db import models
from mistral.db import write_buffer
from mistral.engine import engine as engine_mod
from mistral.engine.unit_of_work import unit_of_work
from mistral.handoff import outbox
from mistral.tests.functional import harness
from mistral.tests.functional.engine import conftest
from mistral.utils import timeutils

CONF = cfg.CONF


def _later() -> datetime.datetime:
    # Not due for a day: no relay sends (and deletes) these test rows.
    return timeutils.utcnow() + datetime.timedelta(days=1)

CHAIN = """
version: '2.0'
chain:
  tasks:
    one:
      action: std.echo output=1
      on-success: two
    two:
      action: std.echo output=2
"""


@pytest.fixture(scope='module')
def env() -> Iterator[conftest.EngineEnv]:
    with conftest.in_process_engine('postgresql',
                                    prefix='mistral-write-buffer-',
                                    component_names=('engine',)) as e:
        # The actions wait for an executor that never comes: this test
        # applies their results itself.
        CONF.set_override('inline_builtin_actions', False, group='engine')
        e.create_workflows(CHAIN)
        try:
            yield e
        finally:
            CONF.clear_override('inline_builtin_actions', group='engine')
            CONF.clear_override('coalesce_writes', group='engine')


class Messages:
    """What reached the driver's cursors: statements as SQLAlchemy ran
    them, and messages (the held ones count once per message)."""

    def __init__(self) -> None:
        self.statements = 0
        self.messages = 0

    def __enter__(self) -> 'Messages':
        write_buffer.Stats.reset()
        sa.event.listen(db_api.get_engine(), 'before_cursor_execute',
                        self._count)
        return self

    def _count(self, *_args) -> None:
        self.statements += 1

    def __exit__(self, *_exc) -> None:
        sa.event.remove(db_api.get_engine(), 'before_cursor_execute',
                        self._count)
        # A held statement reached the driver only inside a message.
        self.messages = (self.statements - write_buffer.Stats.statements
                         + write_buffer.Stats.messages)


def _step(env: conftest.EngineEnv) -> tuple[str, Messages]:
    """Start a chain and apply its first action's result."""
    wf_ex_id = env.start('chain')['id']
    (task,) = env.tasks(wf_ex_id)
    (action,) = env.actions(task.id)
    with Messages() as counted:
        engine_mod.Engine()._apply_results_many([(
            default_context().to_dict(), wf_ex_id,
            [{'id': action.id, 'result': {'result': 1}}])])
    return wf_ex_id, counted


@pytest.mark.parametrize('coalesce', [True, False])
def test_a_chain_steps_writes_go_in_one_message(env, coalesce) -> None:
    CONF.set_override('coalesce_writes', coalesce, group='engine')
    wf_ex_id, counted = _step(env)
    names = sorted(t.name for t in env.tasks(wf_ex_id))
    assert names == ['one', 'two']
    one = next(t for t in env.tasks(wf_ex_id) if t.name == 'one')
    assert one.state == 'SUCCESS'
    assert [a.state for a in env.actions(one.id)] == ['SUCCESS']
    # The step's writes: the result, the next task, the finished task,
    # the next action.
    if coalesce:
        assert write_buffer.Stats.messages == 1, vars(counted)
        assert write_buffer.Stats.statements >= 4
        assert counted.messages == counted.statements - \
            write_buffer.Stats.statements + 1
    else:
        assert write_buffer.Stats.messages == 0
        assert counted.messages == counted.statements


def test_a_read_sees_the_writes_held_before_it(env) -> None:
    CONF.set_override('coalesce_writes', True, group='engine')
    ob = models.OutboxMessage
    write_buffer.Stats.reset()
    with unit_of_work() as (session, _batch):
        mine = outbox.Batch()
        mine.add('engine', 'noop_for_test', {'n': 1}, due_at=_later())
        mine.write(session)
        assert write_buffer.Stats.messages == 0  # still held
        (row,) = session.execute(sa.select(ob.id, ob.method).where(
            ob.id == mine.rows[0]['id'])).all()
        assert row.method == 'noop_for_test'
        assert write_buffer.Stats.messages == 1  # sent before the read
        session.execute(sa.delete(ob).where(ob.id == row.id))


def test_a_failing_held_write_fails_its_transaction(env) -> None:
    CONF.set_override('coalesce_writes', True, group='engine')
    ob = models.OutboxMessage
    first = outbox.Batch()
    first.add('engine', 'noop_for_test', {'n': 1}, due_at=_later())
    with unit_of_work() as (session, _batch):
        first.write(session)
    again = outbox.Batch()
    again.rows = [dict(first.rows[0], method='second_copy')]
    other = outbox.Batch()
    other.add('engine', 'noop_for_test', {'n': 2}, due_at=_later())
    with pytest.raises(exc.DBDuplicateEntryError):
        with unit_of_work() as (session, _batch):
            other.write(session)
            again.write(session)  # same id: refused at the commit
    with db_api.read_session() as s:
        ids = set(s.execute(sa.select(ob.id).where(
            ob.id.in_([first.rows[0]['id'], other.rows[0]['id']])))
            .scalars())
        methods = set(s.execute(sa.select(ob.method)).scalars())
    # Nothing of the failed transaction stayed; the first row did.
    assert ids == {first.rows[0]['id']}
    assert 'second_copy' not in methods
    # A unit of work that fails while it holds a write: rolled back,
    # the write gone with it.
    dropped = outbox.Batch()
    dropped.add('engine', 'noop_for_test', {'n': 3}, due_at=_later())
    with pytest.raises(RuntimeError):
        with unit_of_work() as (session, _batch):
            dropped.write(session)
            raise RuntimeError('the unit of work fails')
    # The connections hold nothing any more: later plain transactions'
    # writes are all there.
    plain = _plain_marked_inserts()
    with db_api.read_session() as s:
        assert len(list(s.execute(sa.select(ob.id).where(
            ob.id.in_(plain))))) == len(plain)
        assert s.get(ob, dropped.rows[0]['id']) is None
    with db_api.transaction() as s:
        s.execute(sa.delete(ob).where(
            ob.id.in_([first.rows[0]['id']] + plain)))


def test_writes_held_on_a_dropped_connection_are_written_by_the_retry(
        env, monkeypatch) -> None:
    # The pooled connections die while idle (no ping: they are used as
    # they are); the held write fails with its connection at the end of
    # the unit of work, the retry writes it on a new one, and no
    # connection given out afterwards holds anything.
    CONF.set_override('coalesce_writes', True, group='engine')
    monkeypatch.setattr(db_api, 'PING_AFTER_IDLE_SECONDS', 3600)
    ob = models.OutboxMessage
    with unit_of_work():
        pass
    name = db_api.get_engine().url.database
    killed = harness.PostgreSQLDatabase(name).execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = '%s' AND pid <> pg_backend_pid()" % name)
    assert killed
    mine = outbox.Batch()
    mine.add('engine', 'noop_for_test', {'n': 3}, due_at=_later())
    attempts = []

    @db_api.retry_on_db_error
    def work() -> None:
        attempts.append(1)
        with unit_of_work() as (session, _batch):
            mine.write(session)

    work()
    assert len(attempts) == 2  # the first one met the dead connection
    ids = [mine.rows[0]['id']] + _plain_marked_inserts()
    with db_api.read_session() as s:
        found = list(s.execute(sa.select(ob.id).where(ob.id.in_(ids)))
                     .scalars())
    assert sorted(found) == sorted(ids)
    with db_api.transaction() as s:
        s.execute(sa.delete(ob).where(ob.id.in_(ids)))


def _plain_marked_inserts(n: int = 6) -> list[str]:
    """Ids of rows inserted with a marked statement by plain transactions
    (not units of work): they go at once, whichever pooled connection
    they get."""
    ids = []
    for k in range(n):
        row = outbox.Batch()
        row.add('engine', 'noop_for_test', {'n': 10 + k}, due_at=_later())
        with db_api.transaction() as s:
            s.connection().execute(outbox._INSERT, row.rows)
        ids.append(row.rows[0]['id'])
    return ids
