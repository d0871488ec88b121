"""An executor claims the actions of a ``run_actions`` message together:
as many as it has free workers, in one statement; the message's outbox row
goes with the last of them."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db import models
from mistral.executor import executor as executor_mod
from mistral.handoff import outbox
from mistral.utils import timeutils


def _actions(n: int, prefix: str = 'a') -> list[dict]:
    now = timeutils.utcnow()
    out = []
    with db_api.transaction() as s:
        for i in range(n):
            ax_id = '%s%d' % (prefix, i)
            s.add(models.ActionExecution(
                id=ax_id, name='std.noop', state='RUNNING', accepted=False,
                is_sync=True, project_id='p', scope='private', input={},
                workflow_execution_id='wf', created_at=now, updated_at=now,
                last_heartbeat=now))
            out.append({'action_ex_id': ax_id, 'action_name': 'std.noop',
                        'exec_ctx': {'workflow_execution_id': 'wf'}})
    return out


def _outbox_row(actions: list[dict]) -> str:
    batch = outbox.Batch()
    for a in actions:
        batch.add('executor', 'run_action', dict(a), ctx={})
    with db_api.transaction() as s:
        batch.write(s)
    [row] = batch.rows
    return row['id']


def _rows_left(row_id: str) -> int:
    with db_api.read_session() as s:
        return s.execute(sa.select(sa.func.count()).select_from(
            models.OutboxMessage).where(
                models.OutboxMessage.id == row_id)).scalar()


def _owners(ids: list[str]) -> dict[str, str | None]:
    ae = models.ActionExecution
    with db_api.read_session() as s:
        return dict(s.execute(sa.select(ae.id, ae.executor_id).where(
            ae.id.in_(ids))).all())


class Claims:
    """Counts the claiming UPDATEs of action executions."""

    def __init__(self) -> None:
        self.updates = 0

    def __call__(self, conn, cursor, statement, *args) -> None:
        if 'UPDATE ACTION_EXECUTIONS' in statement.upper():
            self.updates += 1


def _executor(monkeypatch, reported: list) -> executor_mod.Executor:
    ex = executor_mod.Executor()
    monkeypatch.setattr(ex, '_run', lambda ctx, name, inp, ns, ec, t:
                        {'data': name})
    monkeypatch.setattr(ex.results, 'report',
                        lambda ctx, ax_id, wf, result:
                        reported.append((ax_id, wf, result)))
    return ex


def _serve_counting(db, ex, actions: list[dict], row: str) -> Claims:
    """Serve one run_actions message to its end, counting the claims."""
    claims = Claims()
    sa.event.listen(db, 'before_cursor_execute', claims)
    try:
        ex.run_actions({}, actions, outbox_id=row)
        ex._worker_pool().shutdown(wait=True)
    finally:
        sa.event.remove(db, 'before_cursor_execute', claims)
    return claims


def test_one_message_one_claim_for_all_its_actions(db, monkeypatch):
    reported: list = []
    ex = _executor(monkeypatch, reported)
    actions = _actions(5)
    row = _outbox_row(actions)
    claims = _serve_counting(db, ex, actions, row)
    assert claims.updates == 1
    assert sorted(r[0] for r in reported) == ['a%d' % i for i in range(5)]
    assert all(r[1:] == ('wf', {'data': 'std.noop'}) for r in reported)
    assert set(_owners(['a%d' % i for i in range(5)]).values()) == {ex.id}
    assert _rows_left(row) == 0


def test_claims_only_as_many_as_free_workers(db, monkeypatch, conf):
    conf('workers', 2, group='executor')
    reported: list = []
    ex = _executor(monkeypatch, reported)
    release = threading.Event()
    running = []

    def slow(ctx, name, inp, ns, ec, t):
        running.append(1)
        release.wait(10)
        return {'data': 1}

    monkeypatch.setattr(ex, '_run', slow)
    actions = _actions(5)
    row = _outbox_row(actions)
    t = threading.Thread(target=ex.run_actions, args=({}, actions),
                         kwargs={'outbox_id': row}, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while len(running) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    owners = _owners([a['action_ex_id'] for a in actions])
    # Two workers: two claimed, three left for any executor, and the
    # message stays (its relay sends it again if nobody takes them).
    assert sorted(k for k, v in owners.items() if v) == ['a0', 'a1']
    assert _rows_left(row) == 1
    release.set()
    t.join(10)
    ex._worker_pool().shutdown(wait=True)
    assert sorted(r[0] for r in reported) == ['a%d' % i for i in range(5)]
    assert _rows_left(row) == 0


def test_by_default_three_full_messages_are_claimed_whole(db, monkeypatch):
    # A with-items of 60 comes as three messages of 20 (the default
    # actions_per_message); the default workers (64, as many actions as
    # upstream's executor runs at once) take each message whole, with one
    # claim each, while all 60 run. (With 32 workers the second message
    # was claimed in part and the third waited: a claim per freed worker.)
    reported: list = []
    ex = _executor(monkeypatch, reported)
    release = threading.Event()
    running: list = []

    def slow(ctx, name, inp, ns, ec, t):
        running.append(1)
        release.wait(10)
        return {'data': 1}

    monkeypatch.setattr(ex, '_run', slow)
    messages = [_actions(20, prefix='m%d-' % m) for m in range(3)]
    rows = [_outbox_row(actions) for actions in messages]
    claims = Claims()
    sa.event.listen(db, 'before_cursor_execute', claims)
    threads = [threading.Thread(target=ex.run_actions, args=({}, actions),
                                kwargs={'outbox_id': row}, daemon=True)
               for actions, row in zip(messages, rows, strict=True)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(running) < 60 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(running) == 60
        assert claims.updates == 3
        assert [_rows_left(row) for row in rows] == [0, 0, 0]
    finally:
        release.set()
        for t in threads:
            t.join(10)
        ex._worker_pool().shutdown(wait=True)
        sa.event.remove(db, 'before_cursor_execute', claims)
    assert len(reported) == 60


def test_a_duplicate_message_claims_nothing(db, monkeypatch):
    reported: list = []
    ex = _executor(monkeypatch, reported)
    actions = _actions(3)
    ex.run_actions({}, actions)
    ex._worker_pool().shutdown(wait=True)
    other = _executor(monkeypatch, reported)
    other.id = 'other@host'
    other.run_actions({}, actions)
    assert len(reported) == 3
    assert set(_owners([a['action_ex_id'] for a in actions]).values()) \
        == {ex.id}


def test_a_stopping_executor_hands_the_message_back(db, monkeypatch):
    reported: list = []
    ex = _executor(monkeypatch, reported)
    actions = _actions(3)
    row = _outbox_row(actions)
    ex.begin_shutdown()
    ex.run_actions({}, actions, outbox_id=row)
    assert reported == []
    assert set(_owners([a['action_ex_id'] for a in actions]).values()) \
        == {None}
    ob = models.OutboxMessage
    with db_api.read_session() as s:
        lease = s.execute(sa.select(ob.lease_until).where(
            ob.id == row)).scalar()
    assert lease <= timeutils.utcnow()


def test_the_engine_groups_actions_into_messages(db, conf):
    conf('actions_per_message', 3, group='executor')
    batch = outbox.Batch()
    for i in range(7):
        batch.add('executor', 'run_action', {'action_ex_id': 'x%d' % i},
                  ctx={'project_id': 'p'})
    # Another context, a target and a delay each start a message apart.
    batch.add('executor', 'run_action', {'action_ex_id': 'y'},
              ctx={'project_id': 'q'})
    batch.add('executor', 'run_action', {'action_ex_id': 't'},
              ctx={'project_id': 'p'}, server='special')
    later = timeutils.utcnow() + __import__('datetime').timedelta(hours=1)
    batch.add('executor', 'run_action', {'action_ex_id': 'd'},
              ctx={'project_id': 'p'}, due_at=later)
    with db_api.transaction() as s:
        batch.write(s)
    shapes = [(r['method'], r['server'],
               [a['action_ex_id'] for a in r['payload']['args']['actions']]
               if r['method'] == 'run_actions'
               else r['payload']['args']['action_ex_id'])
              for r in batch.rows]
    assert shapes == [
        ('run_actions', None, ['x0', 'x1', 'x2']),
        ('run_actions', None, ['x3', 'x4', 'x5']),
        # Alone in its message: the single-action form.
        ('run_action', None, 'x6'),
        ('run_action', None, 'y'),
        ('run_action', 'special', 't'),
        ('run_action', None, 'd'),
    ]


def _row(ax_id: str) -> dict:
    now = timeutils.utcnow()
    return dict(id=ax_id, name='std.echo', state='RUNNING', accepted=False,
                is_sync=True, project_id='p', scope='private',
                input={'output': ax_id}, workflow_execution_id='wf',
                created_at=now, updated_at=now, last_heartbeat=now)


def test_results_applied_here_take_the_next_message(db, monkeypatch, conf):
    # The transaction that applies a result and creates actions claims
    # those of its first message for this executor, up to its free
    # workers: rows not inserted yet are written claimed, rows already
    # inserted (a flush happened) are claimed with one statement; the
    # message keeps the others.
    import types

    from mistral.engine import bulk

    conf('workers', 3, group='executor')
    reported: list = []
    ex = _executor(monkeypatch, reported)
    local = executor_mod.LocalClaim(ex)
    batch = outbox.Batch()
    ids = ['n0', 'n1', 'n2', 'n3']
    with db_api.transaction() as s:
        s.add(models.ActionExecution(**_row('n0')))
        s.flush()                                  # inserted already
        for ax_id in ids[1:]:
            bulk.add(s, models.ActionExecution, _row(ax_id))
        for ax_id in ids:
            batch.add('executor', 'run_action',
                      {'action_ex_id': ax_id, 'action_name': 'std.echo',
                       'exec_ctx': {'workflow_execution_id': 'wf'}},
                      ctx={})
        local.adopt(types.SimpleNamespace(session=s, batch=batch))
        bulk.flush(s)
        batch.write(s)
    # Three workers: three taken, the fourth left in the message.
    assert [t[1]['action_ex_id'] for t in local.taken] == ['n1', 'n2', 'n0']
    assert {t[2]['name'] for t in local.taken} == {'std.echo'}
    assert local.taken[2][2]['input'] == {'output': 'n0'}
    [row] = batch.rows
    assert row['method'] == 'run_action'
    assert row['payload']['args']['action_ex_id'] == 'n3'
    owners = _owners(ids)
    assert owners == {'n0': ex.id, 'n1': ex.id, 'n2': ex.id, 'n3': None}
    local.run()
    ex._worker_pool().shutdown(wait=True)
    assert sorted(r[0] for r in reported) == ['n0', 'n1', 'n2']
    # Every slot is free again.
    assert all(ex._slots.acquire(blocking=False) for _ in range(3))
