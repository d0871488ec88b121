"""What the engine, executor, relay and scheduler call.

Every hook is cheap (a dict lookup and prometheus-client's per-metric
lock) and never raises into its caller: metrics must not break a request.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from typing import Any, Callable, Iterable, TypeVar

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import orm

from mistral.metrics import definitions as m
from mistral.utils import log_context
from mistral.utils import timeutils

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

F = TypeVar('F', bound=Callable[..., Any])

_PENDING = 'mistral_metrics_pending'

WORKFLOW_FINAL = frozenset(('SUCCESS', 'ERROR', 'CANCELLED'))

# Labelled children by label values: labels() takes the metric's lock and
# costs a few microseconds on every call, a dict lookup does not. The
# label sets are small and fixed, so these never grow beyond a few keys.
_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *values: str) -> Any:
    key = (metric, *values)
    child = _children.get(key)
    if child is None:
        child = _children.setdefault(key, metric.labels(*values))
    return child


# --- engine: state changes ------------------------------------------------

def _flush(session: Any) -> None:
    for child in session.info.pop(_PENDING, ()):
        child.inc()


def _forget(session: Any, *_args: Any) -> None:
    session.info.pop(_PENDING, None)


_listening = False
_listen_lock = threading.Lock()


def _listen() -> None:
    """One class-level listener for all sessions: listening on each
    session instance costs more than the engine transaction's own
    bookkeeping."""
    global _listening
    with _listen_lock:
        if not _listening:
            sa.event.listen(orm.Session, 'after_commit', _flush)
            sa.event.listen(orm.Session, 'after_rollback', _forget)
            _listening = True


def _count_after_commit(session: Any, child: Any) -> None:
    """Increment ``child`` once ``session`` commits.

    Events happen inside the engine's transaction, which is retried whole
    on deadlocks: counting at once would count a retried change twice.
    """
    if not isinstance(session, orm.Session):
        child.inc()  # not a real session (some tests): nothing to wait for
        return
    if not _listening:
        _listen()
    session.info.setdefault(_PENDING, []).append(child)


def workflow_event(run: Any, event: str) -> None:
    """A workflow execution reached ``event`` (WORKFLOW_*)."""
    try:
        wf_ex = run.wf_ex
        log_context.setdefault(execution_id=wf_ex.id)
        if event == 'WORKFLOW_LAUNCHED':
            child = m.WORKFLOWS_STARTED
        elif wf_ex.state in WORKFLOW_FINAL:
            child = _child(m.WORKFLOWS_FINISHED, wf_ex.state)
        else:
            return
        _count_after_commit(run.session, child)
    except Exception:
        LOG.debug('Workflow metrics failed', exc_info=True)


def task_event(run: Any, task_ex: Any, event: str) -> None:
    """A task execution reached ``event`` (TASK_*)."""
    try:
        log_context.setdefault(execution_id=run.wf_ex.id,
                               task_id=task_ex.id)
        _count_after_commit(run.session,
                            _child(m.TASK_TRANSITIONS, task_ex.state))
    except Exception:
        LOG.debug('Task metrics failed', exc_info=True)


def _arg_positions(func: Callable[..., Any], names: Iterable[str]
                   ) -> dict[str, int]:
    params = list(inspect.signature(func).parameters)
    return {n: params.index(n) for n in names if n in params}


_ID_ARGS = {'wf_ex_id': 'execution_id', 'task_ex_id': 'task_id',
            'action_ex_id': 'action_execution_id'}


def engine_request(func: F) -> F:
    """Engine RPC method: log lines carry the ids it was called with, and
    its duration goes into ``mistral_engine_request_duration_seconds``."""
    positions = _arg_positions(func, _ID_ARGS)
    histogram = m.ENGINE_REQUESTS.labels(func.__name__)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ids = {}
        for arg, field in _ID_ARGS.items():
            value = kwargs.get(arg)
            if value is None and arg in positions \
                    and positions[arg] < len(args):
                value = args[positions[arg]]
            if isinstance(value, str):
                ids[field] = value
        started = time.perf_counter()
        try:
            with log_context.bind(**ids):
                return func(*args, **kwargs)
        finally:
            histogram.observe(time.perf_counter() - started)
    return wrapper  # type: ignore[return-value]


# --- actions -------------------------------------------------------------

def results_applied(count: int) -> None:
    """One committed transaction applied ``count`` action results."""
    try:
        m.RESULTS_PER_TRANSACTION.observe(count)
    except Exception:
        LOG.debug('Result batch metrics failed', exc_info=True)


def action_done(mode: str, started: float,
                result: dict[str, Any] | None) -> None:
    """An action run that began at ``started`` (``time.perf_counter()``)
    has its result; ``mode`` is ``executor`` or ``inline``."""
    outcome = 'error' if result and 'error' in result else 'success'
    _child(m.ACTION_LATENCY, mode, outcome).observe(
        time.perf_counter() - started)


def action_claimed() -> None:
    m.ACTIONS_RUNNING.inc()


def action_released() -> None:
    m.ACTIONS_RUNNING.dec()


# --- outbox relay and scheduler -----------------------------------------

def _late(row: dict[str, Any], now: Any) -> float | None:
    due = row.get('due_at')
    if due is None:
        return None
    return max((now - due).total_seconds(), 0.0)


def message_sent(row: dict[str, Any]) -> None:
    """The relay handed ``row`` to the bus: its RPC queue lag."""
    try:
        lag = _late(row, timeutils.utcnow())
        if lag is not None:
            _child(m.OUTBOX_SEND_LAG, row['target']).observe(lag)
    except Exception:
        LOG.debug('Outbox metrics failed', exc_info=True)


def delayed_sent(rows: Iterable[dict[str, Any]]) -> None:
    """The scheduler is sending these delayed rows now they are due."""
    now = timeutils.utcnow()
    for row in rows:
        try:
            late = _late(row, now)
        except Exception:
            continue
        if late is not None:
            m.SCHEDULER_LATENESS.observe(late)


class _DepthSampler:
    """At most one COUNT on the outbox every ``outbox_depth_interval``
    seconds per process, whichever relay or thread asks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0

    def maybe_sample(self) -> None:
        if not CONF.metrics.enabled or time.monotonic() < self._next:
            return
        # Never wait for another thread's sample.
        if not self._lock.acquire(blocking=False):
            return
        try:
            if time.monotonic() < self._next:
                return
            self._next = time.monotonic() + CONF.metrics.outbox_depth_interval
            self.sample()
        finally:
            self._lock.release()

    @staticmethod
    def sample() -> None:
        from mistral.db import api as db_api
        from mistral.db import models

        table = models.OutboxMessage
        now = timeutils.utcnow()
        try:
            with db_api.read_session() as s:
                total, due = s.execute(sa.select(
                    sa.func.count(),
                    sa.func.count(sa.case((table.due_at <= now, 1))))
                    .select_from(table)).one()
        except Exception:
            LOG.debug('Sampling the outbox depth failed', exc_info=True)
            return
        m.OUTBOX_DEPTH.labels('due').set(due or 0)
        m.OUTBOX_DEPTH.labels('delayed').set((total or 0) - (due or 0))


outbox_depth = _DepthSampler()
