"""The real engine and executor in one thread, driven step by step.

Nothing here reimplements the engine: requests go to
:class:`mistral.engine.engine.Engine` and actions to a
:class:`mistral.executor.executor.Executor`, on a SQLite database whose
schema is built as the embedded server builds it. What changes is how work
travels between them:

* the outbox relay is replaced by :class:`_QueueRelay`, whose senders put
  each message on one FIFO queue (no broker, no threads); ``drain`` takes
  messages off that queue and hands them to the engine or executor method
  they name until nothing is left;
* the executor runs the actions it claims at once in the calling thread
  and reports their results onto the same queue (no worker pool, no
  reporter thread);
* ``mistral.utils.timeutils`` reads a :class:`FakeClock`: delayed messages
  (wait-before/after, retry delays, timeouts) are rows with a future
  ``due_at`` that :meth:`Harness.advance` or :meth:`Harness.settle` claim
  once the fake time reaches them;
* actions may be answered instead of run (``answer``, see
  :class:`ActionCall`); ``std.sleep`` and a delayed ``std.echo`` move the
  fake clock rather than sleep.

Only one harness may be active in a process at a time: the engine's
database, configuration and relay are process-wide.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import dataclasses
import datetime
import heapq
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
from typing import Any, Callable

import sqlalchemy as sa
from oslo_config import cfg

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Fake time starts here unless told otherwise: a fixed instant, so that a
# rehearsal's timestamps are the same on every run.
DEFAULT_START = datetime.datetime(2030, 1, 1, 0, 0, 0)

# A harness that handles more messages than this without settling is
# looping (a message that fails every time it is sent again).
MAX_MESSAGES = 200_000


class HarnessError(RuntimeError):
    """The harness could not drive the engine (misuse, or a loop)."""


class FakeClock:
    """Naive-UTC time that moves only when told to, and by one
    microsecond each time it is read, so that timestamps written one after
    the other are in order, as real ones are (the engine finds a task's
    latest run by its creation time)."""

    TICK = datetime.timedelta(microseconds=1)

    def __init__(self, start: datetime.datetime | None = None) -> None:
        self.start = start or DEFAULT_START
        self._now = self.start

    def now(self) -> datetime.datetime:
        self._now += self.TICK
        return self._now

    def peek(self) -> datetime.datetime:
        """The time now, without moving it."""
        return self._now

    def elapsed(self) -> float:
        """Seconds since the start, to the millisecond (the ticks of the
        reads left out)."""
        return round((self._now - self.start).total_seconds(), 3)

    def set(self, when: datetime.datetime) -> None:
        """Move to ``when`` (never back: a time already passed is a
        no-op)."""
        if when > self._now:
            self._now = when

    def advance(self, seconds: float) -> None:
        self._now += datetime.timedelta(seconds=seconds)


@dataclasses.dataclass(frozen=True)
class ActionCall:
    """What an answering function learns about an action about to run.

    ``call`` counts the actions of that task run so far in this harness
    (0 for the first): with-items elements and retry attempts each run one
    action, so ``call`` tells them apart.
    """

    task: str | None
    workflow: str | None
    action: str
    input: dict[str, Any]
    call: int


# (call) -> a result dict ({'data'|'error'|'cancel': ...}), None for "the
# action is asynchronous and has not answered yet", or RUN for "run it".
Answer = Callable[[ActionCall], Any]
RUN = object()

_lock = threading.Lock()
_active: Harness | None = None
_template_lock = threading.Lock()
_template: str | None = None


def _template_db() -> str:
    """A SQLite file with the embedded server's schema and pre-installed
    content, built once per process and copied for each harness."""
    global _template
    with _template_lock:
        if _template is not None and os.path.exists(_template):
            return _template
        from mistral.db import api as db_api
        from mistral.service import startup

        tmp = tempfile.mkdtemp(prefix='mistral-testing-template-')
        path = os.path.join(tmp, 'template.sqlite')
        CONF.set_override('connection', 'sqlite:///' + path,
                          group='database')
        db_api.dispose()
        try:
            startup.upgrade_embedded_schema()
        finally:
            db_api.dispose()
            CONF.clear_override('connection', group='database')
        _template = path
        return path


_state: str | None = None


def _state_dir() -> str:
    global _state
    if _state is None:
        _state = tempfile.mkdtemp(prefix='mistral-testing-state-')
        atexit.register(shutil.rmtree, _state, ignore_errors=True)
    return _state


def _copy_db(src: str, dst: str) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


class _Scratch:
    """The private SQLite database of the harnesses of this process.

    Each harness starts from the template's content, but the file and its
    SQLAlchemy engine are kept from one harness to the next: a new engine
    has an empty compiled-statement cache, and compiling the engine's
    statements again cost more than running a small workflow.
    """

    path: str | None = None
    # (engine, sessionmaker) of mistral.db.api while no harness is active.
    kept: tuple[Any, Any] | None = None

    @classmethod
    def url(cls) -> str:
        if cls.path is None or not os.path.exists(cls.path):
            tmp = tempfile.mkdtemp(prefix='mistral-testing-')
            atexit.register(shutil.rmtree, tmp, ignore_errors=True)
            path = os.path.join(tmp, 'mistral.sqlite')
            _copy_db(_template_db(), path)
            cls.path, cls.kept = path, None
        return 'sqlite:///' + cls.path

    @classmethod
    def attach(cls) -> None:
        """Give mistral.db.api the kept engine (if any), its database reset
        to the template's content."""
        from mistral.db import api as db_api

        if cls.kept is None:
            return
        with db_api._init_lock:
            db_api._engine, db_api._sessionmaker = cls.kept
        cls.kept = None
        _reset_content(db_api.get_engine(), _template_db())

    @classmethod
    def detach(cls) -> None:
        """Take the engine back from mistral.db.api without closing it."""
        from mistral.db import api as db_api

        with db_api._init_lock:
            cls.kept = (db_api._engine, db_api._sessionmaker)
            db_api._engine = None
            db_api._sessionmaker = None
        if cls.kept[0] is None:
            cls.kept = None


def _reset_content(engine: Any, template: str) -> None:
    """Make the database's rows those of ``template`` (same schema)."""
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.execute('PRAGMA foreign_keys=OFF')
        conn.execute('ATTACH DATABASE ? AS template', (template,))
        try:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM template.sqlite_master WHERE type = "
                "'table' AND name NOT LIKE 'sqlite_%'")]
            conn.execute('BEGIN IMMEDIATE')
            for name in tables:
                conn.execute('DELETE FROM main."%s"' % name)
                conn.execute('INSERT INTO main."%s" SELECT * FROM '
                             'template."%s"' % (name, name))
            conn.execute('COMMIT')
        finally:
            conn.execute('DETACH DATABASE template')
            conn.execute('PRAGMA foreign_keys=ON')
    finally:
        raw.close()


class _InlinePool:
    """The executor's worker pool, run in the caller's thread."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(*args)


class _QueueRelay:
    """Builds the outbox relay whose senders queue messages."""

    @staticmethod
    def make(harness: Harness) -> Any:
        from mistral.handoff import outbox

        def sender(target: str) -> outbox.Sender:
            def send(ctx: dict[str, Any], method: str, server: str | None,
                     payload: dict[str, Any]) -> None:
                harness._queue_message(target, ctx, method, payload,
                                       server)
            return send

        class Relay(outbox.Relay):
            def deliver(self, rows: list[dict[str, Any]]) -> None:
                super().deliver(rows)
                # Rows the receiver does not delete itself go now, not
                # from a background thread.
                self._flush_deletes()

            def deliver_soon(self, rows: list[dict[str, Any]]) -> None:
                # No threads in the harness: queued now, in order.
                self.deliver(rows)

        return Relay({t: sender(t) for t in
                      ('engine', 'executor', 'notifier', 'event_engine')})


class _Reporter:
    """The executor's result reporter, without its thread: results of one
    workflow execution gather until the queue reaches them, then are
    applied in one transaction as the real reporter applies them."""

    def __init__(self, harness: Harness, executor: Any) -> None:
        self._harness = harness
        self._executor = executor
        self._waiting: dict[tuple[str, str | None],
                            list[dict[str, Any]]] = {}
        self._ctx: dict[tuple[str, str | None], dict[str, Any]] = {}

    def report(self, ctx: dict[str, Any], action_ex_id: str,
               wf_ex_id: str | None, result: dict[str, Any]) -> None:
        from mistral.executor import results as results_mod

        key = (results_mod._ctx_key(ctx), wf_ex_id)
        item = {'id': action_ex_id, 'wf': wf_ex_id, 'result': result}
        if key in self._waiting:
            self._waiting[key].append(item)
            return
        self._waiting[key] = [item]
        self._ctx[key] = ctx
        self._harness._queue(lambda: self._apply(key))

    def _apply(self, key: tuple[str, str | None]) -> None:
        items = self._waiting.pop(key)
        ctx = self._ctx.pop(key)
        if CONF.executor.apply_results:
            try:
                self._executor.apply_results(ctx, key[1], items)
                self._executor._applied([i['id'] for i in items])
                return
            except Exception:
                LOG.warning('Applying results in the executor failed; '
                            'sending them to the engine', exc_info=True)
        self._harness._queue_message('engine', ctx, 'on_action_results',
                                     {'results': items})

    def pending(self) -> int:
        return sum(len(v) for v in self._waiting.values())

    def wait_applied(self, deadline: float | None) -> bool:
        return True

    def drop_all(self) -> None:
        self._waiting.clear()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def _make_executor(harness: Harness) -> Any:
    from mistral.executor import executor as executor_mod

    class Executor(executor_mod.Executor):
        def __init__(self) -> None:
            super().__init__()
            self.results = _Reporter(harness, self)  # type: ignore

        def _worker_pool(self) -> Any:
            return _InlinePool()

    return Executor()


class Harness:
    """The engine and an executor on a private SQLite database, driven
    synchronously. Use as a context manager::

        with Harness() as h:
            ex = h.engine.start_workflow(h.context, 'wf', wf_input={})
            h.settle()

    ``answer(call)`` decides each action: a result dict, None (an
    asynchronous action that has not answered), or :data:`RUN` to run it
    for real. ``conf``: ``{group: {option: value}}`` overridden while the
    harness is active. ``database_url``: a database that has the schema
    already, to use instead of a private SQLite copy (the engine's own
    tests run the harness on PostgreSQL and MariaDB too).
    """

    def __init__(self, clock: FakeClock | None = None,
                 answer: Answer | None = None,
                 conf: dict[str, dict[str, Any]] | None = None,
                 database_url: str | None = None) -> None:
        self.clock = clock or FakeClock()
        self._database_url = database_url
        self._answer = answer
        self._conf = conf or {}
        self._overrides: list[tuple[str, str | None]] = []
        self._messages: collections.deque[Callable[[], None]] = \
            collections.deque()
        self._task_names: dict[str, tuple[str, str | None]] = {}
        self._calls: collections.Counter[str] = collections.Counter()
        self._saved_relay: Any = None
        self._saved_run: Any = None
        self._saved_wake: Any = None
        self._entered = False
        self._handled = 0
        self._seq = 0
        self._timers: list[tuple[datetime.datetime, int,
                                 Callable[[], None]]] = []
        # Exceptions raised by message handlers (the real services log
        # them and the message is sent again later).
        self.errors: list[BaseException] = []
        # (method, payload) of the notifier messages, in order.
        self.notifications: list[tuple[str, dict[str, Any]]] = []
        # (method, payload) of messages for executor hosts nobody serves.
        self.unserved: list[tuple[str, dict[str, Any]]] = []
        self.engine: Any = None
        self.executor: Any = None
        self.context: Any = None

    # -- set-up and tear-down

    def __enter__(self) -> Harness:
        global _active
        with _lock:
            if _active is not None:
                raise HarnessError('another harness is active in this '
                                   'process')
            _active = self
        try:
            self._setup()
        except BaseException:
            self._teardown()
            raise
        self._entered = True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._teardown()

    def _override(self, name: str, value: Any,
                  group: str | None = None) -> None:
        CONF.set_override(name, value, group=group)
        self._overrides.append((name, group))

    def _setup(self) -> None:
        from mistral import config
        from mistral.actions import registry
        from mistral.actions import runner
        from mistral.context import default_context
        from mistral.db import api as db_api
        from mistral.db import models
        from mistral.engine import engine as engine_mod
        from mistral.handoff import outbox
        from mistral.service import handoffs
        from mistral.utils import timeutils

        if not getattr(config, '_parsed', False):
            # No configuration yet (a user's test, mistral-rehearse): the
            # embedded defaults, with their state directory in a temporary
            # one rather than the user's home.
            CONF.set_default('state_path', _state_dir())
            config.parse_args([], default_config_files=[])
        url = self._database_url or _Scratch.url()
        self._override('connection', url, group='database')
        for group, opts in self._conf.items():
            for name, value in opts.items():
                self._override(name, value, group=group)
        db_api.dispose()
        if self._database_url is None:
            _Scratch.attach()
        if 'action_providers' in self._conf:
            # The providers are built from that configuration. Otherwise
            # they are kept: they read definitions from the database on
            # each lookup, and loading the plugins again costs 80 ms.
            registry.reset()
        timeutils.set_clock(self.clock.now)
        # What a server process wires at start (an ad-hoc action run while
        # its caller waits goes to the executor through it); the relay and
        # the scheduler wake-up are then replaced below.
        handoffs.wire()
        # The process's relay is replaced for the harness's lifetime (the
        # module keeps it in _relay; there is no other way to inject one).
        with outbox._relay_lock:
            self._saved_relay = outbox._relay
            outbox._relay = _QueueRelay.make(self)
        # Both the executor and the engine's inline actions call
        # runner.run through the module: one place answers every action.
        self._saved_run = runner.run
        runner.run = self._run_action
        # No scheduler to wake: this harness sends delayed messages itself.
        self._saved_wake = outbox.wake_schedulers
        outbox.wake_schedulers = _no_wake
        sa.event.listen(models.TaskExecution, 'init', self._task_init)
        sa.event.listen(models.TaskExecution, 'load', self._task_load)
        self.engine = engine_mod.Engine()
        self.executor = _make_executor(self)
        self.context = default_context()

    def _teardown(self) -> None:
        global _active
        from mistral.actions import registry
        from mistral.actions import runner
        from mistral.db import api as db_api
        from mistral.db import models
        from mistral.handoff import outbox
        from mistral.utils import timeutils

        try:
            for fn, event in ((self._task_init, 'init'),
                              (self._task_load, 'load')):
                if sa.event.contains(models.TaskExecution, event, fn):
                    sa.event.remove(models.TaskExecution, event, fn)
            if self._saved_run is not None:
                runner.run = self._saved_run
                self._saved_run = None
            if self._saved_wake is not None:
                outbox.wake_schedulers = self._saved_wake
                self._saved_wake = None
            with outbox._relay_lock:
                outbox._relay = self._saved_relay
            timeutils.set_clock(None)
            if self._database_url is None:
                _Scratch.detach()
            db_api.dispose()
            if 'action_providers' in self._conf:
                registry.reset()
            for name, group in reversed(self._overrides):
                CONF.clear_override(name, group=group)
            self._overrides = []
        finally:
            with _lock:
                if _active is self:
                    _active = None

    # -- knowing which task an action belongs to

    def _task_init(self, target: Any, args: Any,
                   kwargs: dict[str, Any]) -> None:
        if kwargs.get('id') and kwargs.get('name'):
            self._task_names[kwargs['id']] = (kwargs['name'],
                                              kwargs.get('workflow_name'))

    def _task_load(self, target: Any, _context: Any) -> None:
        if target.id not in self._task_names:
            self._task_names[target.id] = (target.name, target.workflow_name)

    def _task_of(self, task_ex_id: str | None
                 ) -> tuple[str | None, str | None]:
        if not task_ex_id:
            return None, None
        known = self._task_names.get(task_ex_id)
        if known is not None:
            return known
        from mistral.db import api as db_api
        from mistral.db import models

        t = models.TaskExecution
        with db_api.read_session() as s:
            row = s.execute(sa.select(t.name, t.workflow_name).where(
                t.id == task_ex_id)).first()
        if row is None:
            return None, None
        self._task_names[task_ex_id] = (row.name, row.workflow_name)
        return row.name, row.workflow_name

    # -- actions

    def _run_action(self, descriptor_or_action: Any,
                    input: dict[str, Any] | None, ctx: Any,
                    timeout: float | None = None,
                    wf_ctx: dict[str, Any] | None = None,
                    request_ctx: Any = None) -> dict[str, Any] | None:
        execution = getattr(ctx, 'execution', None)
        task, workflow = self._task_of(
            getattr(execution, 'task_execution_id', None))
        name = str(getattr(descriptor_or_action, 'name', None)
                   or type(descriptor_or_action).__name__)
        key = '%s\x00%s' % (workflow, task)
        call = ActionCall(task=task, workflow=workflow, action=name,
                          input=dict(input or {}), call=self._calls[key])
        self._calls[key] += 1
        answer: Any = (self._answer(call) if self._answer is not None
                       else RUN)
        if answer is not RUN:
            answered: dict[str, Any] | None = answer
            return answered
        action_ex_id = getattr(execution, 'action_execution_id', None)
        if action_ex_id and name == 'std.sleep':
            return self._answer_later(
                action_ex_id, _seconds(call.input.get('seconds', 1)), None)
        if action_ex_id and name == 'std.echo' and call.input.get('delay'):
            return self._answer_later(
                action_ex_id, _seconds(call.input['delay']),
                call.input.get('output'))
        result: dict[str, Any] | None = self._saved_run(
            descriptor_or_action, input, ctx, timeout, wf_ctx, request_ctx)
        return result

    def _answer_later(self, action_ex_id: str, seconds: float,
                      data: Any) -> dict[str, Any] | None:
        """An action that takes ``seconds`` of fake time: it is running
        (as an asynchronous action) until then, and its timeout can fire
        meanwhile."""
        def done() -> None:
            self.engine.on_action_complete(self.context, action_ex_id,
                                           {'data': data})
        self.later(seconds, done)
        return None

    # -- messages

    def _queue(self, job: Callable[[], None]) -> None:
        self._messages.append(job)

    def _queue_message(self, target: str, ctx: dict[str, Any], method: str,
                       payload: dict[str, Any],
                       server: str | None = None) -> None:
        from mistral.context import MistralContext

        if target == 'notifier':
            self.notifications.append((method, dict(payload)))
            return
        if target == 'event_engine':
            return
        if target == 'executor' and server not in (None,
                                                   self.executor.host):
            # For an executor host nobody serves: it waits on its queue.
            self.unserved.append((method, dict(payload)))
            return
        receiver = self.engine if target == 'engine' else self.executor
        handler = getattr(receiver, method)
        args = dict(payload)

        def job() -> None:
            handler(MistralContext.from_dict(dict(ctx or {})), **args)
        self._queue(job)

    def drain(self, until: Callable[[], bool] | None = None) -> int:
        """Handle queued messages (and those they cause) until none is
        left, or ``until()`` holds after one; the number handled."""
        self._check_active()
        n = 0
        while self._messages:
            job = self._messages.popleft()
            n += 1
            self._handled += 1
            if self._handled > MAX_MESSAGES:
                raise HarnessError('more than %d messages: the engine is '
                                   'looping' % MAX_MESSAGES)
            try:
                job()
            except Exception as e:
                LOG.warning('A message handler failed: %s', e,
                            exc_info=True)
                self.errors.append(e)
            if until is not None and until():
                break
        return n

    def _check_active(self) -> None:
        if not self._entered or _active is not self:
            raise HarnessError('the harness is not active (use it in a '
                               'with block)')

    # -- time

    def later(self, seconds: float, job: Callable[[], None]) -> None:
        """Run ``job`` (as a message) once the fake clock has moved
        ``seconds`` on."""
        due = self.clock.peek() + datetime.timedelta(seconds=seconds)
        self._seq += 1
        heapq.heappush(self._timers, (due, self._seq, job))

    def next_due(self) -> datetime.datetime | None:
        """When the next thing is due: a delayed outbox row (or one whose
        send failed), or a timer of the harness. Rows for an executor
        target nobody serves are not counted: nothing would take them."""
        from mistral.db import api as db_api
        from mistral.db import models

        ob = models.OutboxMessage
        with db_api.read_session() as s:
            found: datetime.datetime | None = s.execute(
                sa.select(sa.func.min(ob.lease_until)).where(sa.or_(
                    ob.server.is_(None), ob.target != 'executor',
                    ob.server == self.executor.host))).scalar()
        if self._timers and (found is None or self._timers[0][0] < found):
            return self._timers[0][0]
        return found

    def _fire_due(self, until: Callable[[], bool] | None = None) -> int:
        """Send the outbox rows and run the timers that are due; the
        number of them."""
        from mistral.handoff import outbox

        fired = 0
        while True:
            if until is not None and until():
                return fired
            now = self.clock.peek()
            if self._timers and self._timers[0][0] <= now:
                _due, _seq, job = heapq.heappop(self._timers)
                self._queue(job)
                fired += 1
                self.drain(until)
                continue
            rows = outbox.claim_due(limit=200,
                                    lease_seconds=CONF.engine.outbox_lease,
                                    now=now)
            if not rows:
                return fired
            outbox.relay().deliver(rows)
            fired += len(rows)
            self.drain(until)

    def advance(self, seconds: float) -> None:
        """Move the fake clock forward by ``seconds``; what falls due
        meanwhile happens at its time, in order."""
        self._check_active()
        end = self.clock.peek() + datetime.timedelta(seconds=seconds)
        self.drain()
        while True:
            due = self.next_due()
            if due is None or due > end:
                break
            if due > self.clock.peek():
                self.clock.set(due)
            if not self._fire_due():
                break
        self.clock.set(end)
        self._fire_due()

    def settle(self, until: Callable[[], bool] | None = None,
               max_seconds: float = 7 * 24 * 3600.0) -> None:
        """Handle every message, jumping the clock to each thing due in
        turn, until nothing is left, ``until()`` holds (it is checked
        after every message), or ``max_seconds`` of fake time passed."""
        self._check_active()
        limit = self.clock.peek() + datetime.timedelta(seconds=max_seconds)
        self.drain(until)
        while until is None or not until():
            if self._messages:
                self.drain(until)
                continue
            due = self.next_due()
            if due is None or due > limit:
                return
            if due > self.clock.peek():
                self.clock.set(due)
            if not self._fire_due(until):
                # Due but not claimable yet: nudge.
                self.clock.advance(0.001)

    # -- reading

    def read(self) -> contextlib.AbstractContextManager[Any]:
        """A read-only session on the harness's database."""
        from mistral.db import api as db_api

        return db_api.read_session()


def _no_wake(due_at: datetime.datetime) -> None:
    """The harness is the scheduler: nobody to wake."""


def _seconds(value: Any) -> float:
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 0.0
