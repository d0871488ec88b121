"""Action results on their way from an executor to their workflows.

The thread that ran an action hands its result to :class:`Reporter` and
is free at once. The reporter's thread takes what has gathered meanwhile
and, with ``[executor] apply_results`` (the default), applies it itself
with the engine's code: the results of one workflow execution in one
transaction (see ``Executor.apply_results``). Results it cannot apply, and all
results when ``apply_results`` is off, are sent to the engines in one
``on_action_results`` cast per request context (the engine applies those
of one workflow execution in one transaction).

A result applied here is done once its transaction commits. For a sent
result the acknowledgement is the database: an action stays ``RUNNING``,
owned by this executor and with its lease renewed, until an engine has
applied its result (then it is ``SUCCESS``, ``ERROR`` or ``CANCELLED``),
or until it is no longer this executor's (deleted with its execution, or
taken by recovery). Every ``CONFIRM_INTERVAL`` seconds one query asks which of
the sent results are still unapplied; those are sent again once their
back-off has passed (a cast lost with a broker restart, an engine killed
after taking the message). Engines apply a result once and ignore it
after that, so a second copy costs one query.

If the executor dies before its results are applied, their leases run
out and recovery treats the actions as those of a dead executor, as it
did when an executor died waiting for an RPC answer.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from concurrent import futures
from typing import Any, Callable

import sqlalchemy as sa
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db import models
from mistral.workflow import states

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Seconds between looks at which sent results the engines applied.
CONFIRM_INTERVAL = 1.0
# Seconds an applied result may take before it is sent again (doubling
# after each copy, up to RESEND_MAX).
RESEND_AFTER = 5.0
RESEND_MAX = 60.0
# A result no engine applied for this long is given up: its lease is no
# longer renewed and recovery fails (or re-runs) the action.
GIVE_UP_AFTER = 3600.0
# Most results in one message (and ids in one confirming query).
MAX_PER_MESSAGE = 200

UNSENDABLE = ('The action result could not be encoded for the message to '
              'the engine')

# (ctx, results) -> casts them; raises when the bus is unreachable.
Sender = Callable[[dict[str, Any], list[dict[str, Any]]], None]
# (ctx, workflow execution id or None, results) -> applies them in one
# transaction; raises when it could not.
Applier = Callable[[dict[str, Any], str | None, list[dict[str, Any]]],
                   None]
# [(ctx, workflow execution id, results), ...] of distinct executions ->
# applies them all in one transaction; raises when it could not (then
# each is tried alone with the Applier).
BatchApplier = Callable[[list[tuple[dict[str, Any], str,
                                    list[dict[str, Any]]]]], None]


@dataclasses.dataclass
class _Result:
    action_ex_id: str
    wf_ex_id: str | None
    ctx: dict[str, Any]
    result: dict[str, Any]
    first_sent: float = 0.0
    next_send: float = 0.0
    copies: int = 0

    def wire(self) -> dict[str, Any]:
        return {'id': self.action_ex_id, 'wf': self.wf_ex_id,
                'result': self.result}


def _default_sender(ctx: dict[str, Any],
                    results: list[dict[str, Any]]) -> None:
    from mistral.rpc import clients

    clients.engine().send_results(ctx, results)


def _ctx_key(ctx: dict[str, Any]) -> str:
    try:
        return json.dumps(ctx, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(sorted(ctx.items()))


class Reporter:
    """Sends results and keeps them until an engine applied them.

    ``release(ids)`` is called with the actions whose results were
    applied (or that stopped being this executor's): their leases need no
    renewal any more.
    """

    def __init__(self, owner: str, release: Callable[[list[str]], None],
                 sender: Sender | None = None,
                 applier: Applier | None = None,
                 batch_applier: BatchApplier | None = None) -> None:
        self.owner = owner
        self._release = release
        self._sender = sender or _default_sender
        self._applier = applier
        self._batch_applier = batch_applier
        self._queue: list[_Result] = []
        # Taken from the queue, being sent now.
        self._in_hand = 0
        # Being applied by the pool's threads, and those that could not
        # be (to be sent).
        self._applying = 0
        self._waiting: dict[tuple[str, str | None], list[_Result]] = {}
        self._active: set[tuple[str, str | None]] = set()
        # Threads of the pool applying (or about to).
        self._appliers = 0
        self._failed: list[_Result] = []
        self._pool: futures.ThreadPoolExecutor | None = None
        self._sent: dict[str, _Result] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._dropped = False
        self._thread: threading.Thread | None = None
        self._next_confirm = 0.0

    # -- what the executor calls

    def report(self, ctx: dict[str, Any], action_ex_id: str,
               wf_ex_id: str | None, result: dict[str, Any]) -> None:
        self._ensure_started()
        with self._cond:
            if self._dropped:
                return
            self._queue.append(_Result(action_ex_id, wf_ex_id, ctx, result))
            self._cond.notify()

    def pending(self) -> int:
        """Results not yet known to be applied."""
        with self._cond:
            return (len(self._queue) + self._in_hand + self._applying
                    + len(self._failed) + len(self._sent))

    def wait_applied(self, deadline: float | None) -> bool:
        """Wait until every result is applied or ``deadline``
        (``time.monotonic()``) passes; True when none is left."""
        while True:
            with self._cond:
                if not (self._queue or self._in_hand or self._applying
                        or self._failed or self._sent):
                    return True
                self._next_confirm = 0.0  # look sooner than usual
                self._cond.notify()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            time.sleep(min(0.2, left) if left is not None else 0.2)

    def drop_all(self) -> None:
        """Stop sending (the executor handed its actions back)."""
        with self._cond:
            self._dropped = True
            self._queue.clear()
            self._applying -= sum(len(w) for w in self._waiting.values())
            self._waiting.clear()
            self._failed.clear()
            self._sent.clear()
            self._cond.notify()

    def start(self) -> None:
        """(A component's loop: the thread starts with the first
        result.)"""

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- the thread

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = False
            self._thread = threading.Thread(target=self._loop, daemon=True,
                                            name='action-results')
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop and not self._queue and \
                        not self._failed and \
                        time.monotonic() < self._wake_at():
                    self._cond.wait(timeout=max(
                        self._wake_at() - time.monotonic(), 0.01))
                if self._stop:
                    return
                fresh, self._queue = self._queue, []
                failed, self._failed = self._failed, []
                self._in_hand = len(fresh) + len(failed)
            try:
                if failed:
                    self._send(failed, first=True)
                if fresh:
                    self._deliver(fresh)
                if self._sent and time.monotonic() >= self._next_confirm:
                    self._confirm()
            except Exception:
                LOG.warning('Reporting action results failed; retrying',
                            exc_info=True)
                time.sleep(0.5)
            finally:
                with self._cond:
                    self._in_hand = 0

    def _wake_at(self) -> float:
        if self._sent:
            return self._next_confirm
        return time.monotonic() + 3600.0

    def _deliver(self, fresh: list[_Result]) -> None:
        """Apply the results here (an applier was given), send those that
        could not be applied to the engines.

        Up to ``[executor] result_appliers`` threads apply them (one by
        default: fewer, larger transactions, less contention for the
        interpreter lock), each taking what
        waits when it is free: the results of one workflow execution one
        transaction at a time, and, with a batch applier, those of several
        executions in one transaction (many small workflows advancing at
        once cost one transaction per round, not one each). Under a light
        load a result is applied alone, as soon as it arrives.
        """
        if self._applier is None or not CONF.executor.apply_results:
            self._send(fresh, first=True)
            return
        if self._pool is None:
            self._pool = futures.ThreadPoolExecutor(
                max_workers=CONF.executor.result_appliers,
                thread_name_prefix='action-results-apply')
        with self._cond:
            if self._dropped:
                return
            for r in fresh:
                key = (_ctx_key(r.ctx), r.wf_ex_id)
                self._waiting.setdefault(key, []).append(r)
                self._applying += 1
            ready = sum(1 for key in self._waiting
                        if key not in self._active)
            if self._batch_applier is not None:
                ready = min(ready, 1)  # one thread takes them all
            start = max(min(ready, CONF.executor.result_appliers
                            - self._appliers), 0)
            self._appliers += start
        for _ in range(start):
            self._pool.submit(self._apply)

    def _take(self) -> list[tuple[tuple[str, str | None], list[_Result]]]:
        """(Under the lock.) Waiting results no other thread is applying:
        those of one execution without a workflow (applied alone), or of
        up to MAX_PER_MESSAGE results of distinct executions (without a
        batch applier: of one)."""
        taken: list[tuple[tuple[str, str | None], list[_Result]]] = []
        count = 0
        wfs = set()
        for key in list(self._waiting):
            if key in self._active or key[1] in wfs:
                continue
            if key[1] is None and taken:
                continue
            waiting = self._waiting[key]
            chunk = waiting[:MAX_PER_MESSAGE - count]
            if len(waiting) > len(chunk):
                self._waiting[key] = waiting[len(chunk):]
            else:
                self._waiting.pop(key)
            self._active.add(key)
            taken.append((key, chunk))
            wfs.add(key[1])
            count += len(chunk)
            if key[1] is None or self._batch_applier is None or \
                    count >= MAX_PER_MESSAGE:
                break
        return taken

    def _apply(self) -> None:
        counted = True
        try:
            while True:
                with self._cond:
                    taken = self._take()
                    if not taken:
                        # Under the lock that _deliver counts under: a
                        # result reported from now on starts a thread.
                        self._appliers -= 1
                        counted = False
                        return
                try:
                    self._apply_taken(taken)
                finally:
                    with self._cond:
                        for key, chunk in taken:
                            self._active.discard(key)
                            self._applying -= len(chunk)
                        self._cond.notify_all()
        finally:
            if counted:
                with self._cond:
                    self._appliers -= 1

    def _apply_taken(self, taken: list[tuple[tuple[str, str | None],
                                             list[_Result]]]) -> None:
        if len(taken) > 1:
            assert self._batch_applier is not None
            try:
                self._batch_applier([
                    (chunk[0].ctx, key[1] or '', [r.wire() for r in chunk])
                    for key, chunk in taken])
            except Exception:
                # One execution's trouble must not hold back the others:
                # each is tried alone.
                LOG.warning('Applying the results of %d workflow '
                            'executions together failed; applying them '
                            'one execution at a time', len(taken),
                            exc_info=True)
            else:
                self._release([r.action_ex_id for _, chunk in taken
                               for r in chunk])
                return
        for key, chunk in taken:
            self._apply_one(key, chunk)

    def _apply_one(self, key: tuple[str, str | None],
                   chunk: list[_Result]) -> None:
        assert self._applier is not None
        try:
            self._applier(chunk[0].ctx, key[1], [r.wire() for r in chunk])
        except Exception:
            LOG.warning('Applying %d action result(s) here failed; '
                        'sending them to the engines', len(chunk),
                        exc_info=True)
            with self._cond:
                if not self._dropped:
                    self._failed += chunk
        else:
            self._release([r.action_ex_id for r in chunk])

    def _send(self, results: list[_Result], first: bool) -> None:
        now = time.monotonic()
        groups: dict[str, list[_Result]] = {}
        for r in results:
            groups.setdefault(_ctx_key(r.ctx), []).append(r)
        for group in groups.values():
            for i in range(0, len(group), MAX_PER_MESSAGE):
                chunk = group[i:i + MAX_PER_MESSAGE]
                self._send_chunk(chunk)
        with self._cond:
            if self._dropped:
                return
            for r in results:
                if first:
                    r.first_sent = now
                r.copies += 1
                r.next_send = now + min(
                    RESEND_AFTER * 2 ** (r.copies - 1), RESEND_MAX)
                self._sent[r.action_ex_id] = r
            if first and self._next_confirm <= now:
                self._next_confirm = now + CONFIRM_INTERVAL

    def _send_chunk(self, chunk: list[_Result]) -> None:
        try:
            self._sender(chunk[0].ctx, [r.wire() for r in chunk])
        except (TypeError, ValueError) as e:
            # A result the message cannot carry (runner.run converts
            # results, so this is a last resort): send those one by one,
            # and an error the engine can store instead of one that fails.
            if len(chunk) > 1:
                for r in chunk:
                    self._send_chunk([r])
                return
            r = chunk[0]
            LOG.error('The result of %s cannot be sent: %s',
                      r.action_ex_id, e)
            if r.result.get('error') == UNSENDABLE:
                return
            r.result = {'error': UNSENDABLE}
            self._send_chunk([r])
        except Exception as e:
            # The bus is down: the results stay, the confirmation round
            # finds them unapplied and sends them again.
            LOG.warning('Sending %d action result(s) failed (%s); they '
                        'are sent again', len(chunk), e)

    def _confirm(self) -> None:
        now = time.monotonic()
        self._next_confirm = now + CONFIRM_INTERVAL
        with self._cond:
            sent = dict(self._sent)
        if not sent:
            return
        ae = models.ActionExecution
        unapplied: set[str] = set()
        ids = list(sent)
        with db_api.read_session() as s:
            for start in range(0, len(ids), MAX_PER_MESSAGE):
                chunk = ids[start:start + MAX_PER_MESSAGE]
                unapplied.update(s.execute(sa.select(ae.id).where(
                    ae.id.in_(chunk), ae.state == states.RUNNING,
                    ae.executor_id == self.owner)).scalars())
        done = [i for i in ids if i not in unapplied]
        again: list[_Result] = []
        given_up: list[str] = []
        with self._cond:
            for i in done:
                self._sent.pop(i, None)
            for i in unapplied:
                r = self._sent.get(i)
                if r is None:
                    continue
                if now - r.first_sent > GIVE_UP_AFTER:
                    self._sent.pop(i, None)
                    given_up.append(i)
                elif now >= r.next_send:
                    again.append(r)
        if done or given_up:
            self._release(done + given_up)
        for i in given_up:
            LOG.error('No engine applied the result of %s within %d s; '
                      'recovery takes the action over', i, GIVE_UP_AFTER)
        if again:
            LOG.warning('Sending %d action result(s) again: not applied '
                        'yet', len(again))
            self._send(again, first=False)
