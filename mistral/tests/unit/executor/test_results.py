"""The executor's result reporter: many results to a message, kept until
the database shows them applied, sent again when they are not."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db import models
from mistral.executor import results
from mistral.utils import timeutils

OWNER = 'me@host'


def _action(ax_id: str, owner: str | None = OWNER,
            state: str = 'RUNNING') -> None:
    now = timeutils.utcnow()
    with db_api.transaction() as s:
        s.add(models.ActionExecution(
            id=ax_id, name='std.http', state=state, accepted=False,
            is_sync=True, project_id='p', scope='private', executor_id=owner,
            lease_until=now, created_at=now, updated_at=now))


def _set(ax_id: str, **values) -> None:
    ae = models.ActionExecution
    with db_api.transaction() as s:
        s.execute(sa.update(ae).where(ae.id == ax_id).values(**values))


class Recorder:
    """Stands for the message bus."""

    def __init__(self) -> None:
        self.messages: list[tuple[dict, list[dict]]] = []
        self.fail = 0
        self.lock = threading.Lock()

    def __call__(self, ctx, items) -> None:
        with self.lock:
            if self.fail:
                self.fail -= 1
                raise ConnectionError('broker down')
            self.messages.append((ctx, [dict(i) for i in items]))

    def ids(self) -> list[str]:
        with self.lock:
            return [i['id'] for _, items in self.messages for i in items]


def _wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'condition not met in time'
        time.sleep(0.02)


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setattr(results, 'CONFIRM_INTERVAL', 0.05)
    monkeypatch.setattr(results, 'RESEND_AFTER', 0.2)
    monkeypatch.setattr(results, 'RESEND_MAX', 0.4)


def _reporter(released: list[str], sender: Recorder) -> results.Reporter:
    return results.Reporter(OWNER, released.extend, sender=sender)


def test_results_that_finish_together_share_a_message(db, fast):
    sent, released = Recorder(), []
    rep = _reporter(released, sent)
    gate = threading.Event()
    real = rep._send

    def held(batch, first):
        gate.wait(5)
        real(batch, first)

    rep._send = held
    try:
        for i in range(5):
            _action('a%d' % i)
            rep.report({'project_id': 'p'}, 'a%d' % i, 'wf', {'data': i})
        # While the first send is held up, the other four gather.
        gate.set()
        _wait(lambda: len(sent.ids()) == 5)
        assert len(sent.messages) <= 2
        assert sent.messages[-1][1][-1] == {'id': 'a4', 'wf': 'wf',
                                            'result': {'data': 4}}
    finally:
        rep.stop()


def test_results_of_different_contexts_go_apart(db, fast):
    sent, released = Recorder(), []
    rep = _reporter(released, sent)
    try:
        rep._send([results._Result('a', 'wf', {'project_id': 'p1'},
                                   {'data': 1}),
                   results._Result('b', 'wf', {'project_id': 'p2'},
                                   {'data': 2}),
                   results._Result('c', 'wf', {'project_id': 'p1'},
                                   {'data': 3})], first=True)
        assert [([i['id'] for i in items], ctx['project_id'])
                for ctx, items in sent.messages] == [(['a', 'c'], 'p1'),
                                                     (['b'], 'p2')]
    finally:
        rep.stop()


def test_a_result_is_kept_until_applied_then_released(db, fast):
    sent, released = Recorder(), []
    rep = _reporter(released, sent)
    try:
        _action('a1')
        rep.report({}, 'a1', 'wf', {'data': 1})
        _wait(lambda: sent.ids() == ['a1'])
        time.sleep(0.15)
        # Still RUNNING in the database: not applied, still ours.
        assert released == [] and rep.pending() == 1
        _set('a1', state='SUCCESS')   # an engine applied it
        _wait(lambda: released == ['a1'])
        assert rep.pending() == 0
    finally:
        rep.stop()


def test_an_unapplied_result_is_sent_again_with_back_off(db, fast):
    sent, released = Recorder(), []
    rep = _reporter(released, sent)
    try:
        _action('a1')
        rep.report({}, 'a1', 'wf', {'data': 1})
        # The message was lost (an engine died with it): sent again after
        # 0.2 s, then 0.4 s.
        _wait(lambda: len(sent.ids()) >= 3, timeout=5)
        assert set(sent.ids()) == {'a1'}
        _set('a1', state='ERROR')
        _wait(lambda: released == ['a1'])
        count = len(sent.ids())
        time.sleep(0.6)
        assert len(sent.ids()) == count   # applied: never sent again
    finally:
        rep.stop()


def test_a_send_that_fails_is_retried(db, fast):
    sent, released = Recorder(), []
    sent.fail = 1
    rep = _reporter(released, sent)
    try:
        _action('a1')
        rep.report({}, 'a1', 'wf', {'data': 1})
        _wait(lambda: sent.ids() == ['a1'], timeout=5)
    finally:
        rep.stop()


def test_an_action_no_longer_ours_is_released_without_sending(db, fast):
    sent, released = Recorder(), []
    rep = _reporter(released, sent)
    try:
        _action('gone')
        _action('taken')
        rep.report({}, 'gone', 'wf', {'data': 1})
        rep.report({}, 'taken', 'wf', {'data': 2})
        _wait(lambda: len(sent.ids()) == 2)
        with db_api.transaction() as s:
            s.execute(sa.delete(models.ActionExecution).where(
                models.ActionExecution.id == 'gone'))
        # Recovery gave it to another executor (safe-rerun).
        _set('taken', executor_id='other@host')
        _wait(lambda: sorted(released) == ['gone', 'taken'])
    finally:
        rep.stop()


def test_a_result_no_engine_applies_is_given_up(db, fast, monkeypatch):
    monkeypatch.setattr(results, 'GIVE_UP_AFTER', 0.3)
    sent, released = Recorder(), []
    rep = _reporter(released, sent)
    try:
        _action('a1')
        rep.report({}, 'a1', 'wf', {'data': 1})
        # Its lease is no longer renewed: recovery takes the action over.
        _wait(lambda: released == ['a1'])
        assert rep.pending() == 0
    finally:
        rep.stop()


def test_a_result_the_message_cannot_carry_becomes_an_error(db, fast):
    class Picky(Recorder):
        def __call__(self, ctx, items):
            for i in items:
                if i['result'].get('data') == 'bad':
                    raise TypeError('not encodable')
            super().__call__(ctx, items)

    sent, released = Picky(), []
    rep = _reporter(released, sent)
    try:
        rep._send([results._Result('ok', 'wf', {}, {'data': 1}),
                   results._Result('bad', 'wf', {}, {'data': 'bad'})],
                  first=True)
        # The good one is not held back by the bad one.
        assert [items for _, items in sent.messages] == [
            [{'id': 'ok', 'wf': 'wf', 'result': {'data': 1}}],
            [{'id': 'bad', 'wf': 'wf',
              'result': {'error': results.UNSENDABLE}}]]
    finally:
        rep.stop()


def test_wait_applied_and_drop_all(db, fast):
    sent, released = Recorder(), []
    rep = _reporter(released, sent)
    try:
        _action('a1')
        rep.report({}, 'a1', 'wf', {'data': 1})
        assert rep.wait_applied(time.monotonic() + 0.3) is False
        _set('a1', state='SUCCESS')
        assert rep.wait_applied(time.monotonic() + 5) is True
        _action('a2')
        rep.report({}, 'a2', 'wf', {'data': 2})
        rep.drop_all()
        assert rep.pending() == 0
        rep.report({}, 'a3', 'wf', {'data': 3})   # after: ignored
        assert rep.pending() == 0
    finally:
        rep.stop()


def test_results_applied_here_are_released_without_a_message(db, fast):
    sent, released, applied = Recorder(), [], []

    def applier(ctx, wf, items):
        applied.append((wf, [i['id'] for i in items]))

    rep = results.Reporter(OWNER, released.extend, sender=sent,
                           applier=applier)
    try:
        for i, wf in enumerate(['wf1', 'wf1', 'wf2']):
            rep.report({}, 'a%d' % i, wf, {'data': i})
        _wait(lambda: sorted(released) == ['a0', 'a1', 'a2'])
        assert sent.messages == []
        # Each workflow's results in as few transactions as they came in.
        assert sorted(i for _, ids in applied for i in ids) == [
            'a0', 'a1', 'a2']
        assert {wf for wf, _ in applied} == {'wf1', 'wf2'}
        assert rep.pending() == 0
    finally:
        rep.stop()


def test_results_of_executions_waiting_together_are_applied_together(
        db, fast):
    """While one transaction runs, the results that arrive for other
    executions wait; the next free thread takes all of them in one call
    of the batch applier (one execution's results once in it)."""
    sent, released = Recorder(), []
    calls: list[list[tuple[str, list[str]]]] = []
    gate = threading.Event()

    def applier(ctx, wf, items):
        calls.append([(wf, [i['id'] for i in items])])
        if wf == 'first':
            gate.wait(5)  # the others arrive meanwhile

    def batch_applier(groups):
        calls.append([(wf, [i['id'] for i in items])
                      for _, wf, items in groups])

    rep = results.Reporter(OWNER, released.extend, sender=sent,
                           applier=applier, batch_applier=batch_applier)
    try:
        rep.report({}, 'a0', 'first', {'data': 0})
        _wait(lambda: len(calls) == 1)
        for i, wf in enumerate(['w1', 'w2', 'w3', 'w1'], start=1):
            rep.report({'request_id': wf}, 'a%d' % i, wf, {'data': i})
        time.sleep(0.1)
        gate.set()
        _wait(lambda: sorted(released) == ['a0', 'a1', 'a2', 'a3', 'a4'])
        assert sent.messages == []
        assert calls[0] == [('first', ['a0'])]
        # The four results of three executions in one transaction.
        assert len(calls) == 2, calls
        assert sorted(calls[1]) == [('w1', ['a1', 'a4']), ('w2', ['a2']),
                                    ('w3', ['a3'])]
        assert rep.pending() == 0
    finally:
        gate.set()
        rep.stop()


def test_a_failed_batch_is_applied_one_execution_at_a_time(db, fast):
    """One execution whose results cannot be applied does not send the
    others to the engines: after the batch fails, each is tried alone, and
    only the one that fails again goes by message."""
    sent, released, alone = Recorder(), [], []
    gate = threading.Event()

    def applier(ctx, wf, items):
        if wf == 'first':
            gate.wait(5)
            return
        alone.append(wf)
        if wf == 'bad':
            raise RuntimeError('cannot apply')

    def batch_applier(groups):
        raise RuntimeError('one of them cannot be applied')

    rep = results.Reporter(OWNER, released.extend, sender=sent,
                           applier=applier, batch_applier=batch_applier)
    try:
        rep.report({}, 'a0', 'first', {'data': 0})
        time.sleep(0.1)
        for ax_id, wf in (('a1', 'good'), ('a2', 'bad'), ('a3', 'fine')):
            _action(ax_id)
            rep.report({}, ax_id, wf, {'data': 1})
        time.sleep(0.1)
        gate.set()
        _wait(lambda: sent.ids() == ['a2'])
        _wait(lambda: sorted(released) == ['a0', 'a1', 'a3'])
        assert sorted(alone) == ['bad', 'fine', 'good']
    finally:
        gate.set()
        rep.stop()


def test_results_that_cannot_be_applied_here_go_to_the_engines(db, fast):
    sent, released = Recorder(), []

    def applier(ctx, wf, items):
        raise RuntimeError('database unreachable')

    rep = results.Reporter(OWNER, released.extend, sender=sent,
                           applier=applier)
    try:
        _action('a1')
        rep.report({}, 'a1', 'wf', {'data': 1})
        _wait(lambda: sent.ids() == ['a1'])
        # Kept (and its lease renewed) until an engine applied it.
        assert released == []
        _set('a1', state='SUCCESS')
        _wait(lambda: released == ['a1'])
    finally:
        rep.stop()


def test_apply_results_off_sends_everything(db, fast, conf):
    conf('apply_results', False, group='executor')
    sent, released = Recorder(), []

    def applier(ctx, wf, items):
        raise AssertionError('not to be called')

    rep = results.Reporter(OWNER, released.extend, sender=sent,
                           applier=applier)
    try:
        _action('a1')
        rep.report({}, 'a1', 'wf', {'data': 1})
        _wait(lambda: sent.ids() == ['a1'])
    finally:
        rep.stop()


@pytest.mark.parametrize('appliers', [1, 2])
def test_result_appliers_bounds_the_threads_that_apply(db, fast, conf,
                                                       appliers):
    """``[executor] result_appliers`` threads apply at once: with one,
    results that arrive while a transaction runs wait for it (and then go
    together); with two, a second thread takes them meanwhile."""
    conf('result_appliers', appliers, group='executor')
    sent, released = Recorder(), []
    calls: list[list[str]] = []
    gate = threading.Event()

    def applier(ctx, wf, items):
        calls.append([wf])
        if wf == 'first':
            gate.wait(5)

    def batch_applier(groups):
        calls.append(sorted(wf for _, wf, _ in groups))

    rep = results.Reporter(OWNER, released.extend, sender=sent,
                           applier=applier, batch_applier=batch_applier)
    try:
        rep.report({}, 'a0', 'first', {'data': 0})
        _wait(lambda: len(calls) == 1)
        rep.report({}, 'a1', 'w1', {'data': 1})
        if appliers == 2:
            _wait(lambda: len(calls) == 2)
            assert calls[1] == ['w1']
        else:
            time.sleep(0.3)
            assert calls == [['first']]  # waits for the one thread
        rep.report({}, 'a2', 'w2', {'data': 2})
        time.sleep(0.1)
        gate.set()
        _wait(lambda: sorted(released) == ['a0', 'a1', 'a2'])
        if appliers == 1:
            assert calls == [['first'], ['w1', 'w2']]
        else:
            assert calls[2:] == [['w2']]
        assert sent.messages == []
    finally:
        gate.set()
        rep.stop()
