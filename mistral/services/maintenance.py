"""Maintenance mode: pause every workflow, then refuse changes.

The status is stored in ``mistral_metrics`` (row ``maintenance_status``)
so that every API process and trigger sees the same value:

* ``RUNNING`` - normal operation (also when no row exists);
* ``PAUSING`` - running root executions are being paused; the API refuses
  changes except action results (running actions may still finish);
* ``PAUSED`` - no task is running any more; changes are refused.

Going back to ``RUNNING`` resumes the paused root executions, as upstream
does (including ones a user had paused before the maintenance).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import sqlalchemy as sa

from mistral import context as mistral_context
from mistral import exceptions as exc
from mistral.db import api as db_api
from mistral.db import models
from mistral.utils import timeutils
from mistral.workflow import states

LOG = logging.getLogger(__name__)

RUNNING = 'RUNNING'
PAUSING = 'PAUSING'
PAUSED = 'PAUSED'
STATUSES = (RUNNING, PAUSING, PAUSED)
# What a client may ask for; PAUSING is the way to PAUSED.
TARGETS = (RUNNING, PAUSED)

KEY = 'maintenance_status'

# How often the pausing job looks whether tasks are still running.
POLL_INTERVAL = 1.0


# Every change request of the API asks for the status: a process keeps the
# answer this long (a change made through this process applies at once, one
# made through another process within this time).
CACHE_SECONDS = 1.0
_cached: tuple[str | None, float, Any] = (None, 0.0, None)


def get_status() -> str:
    """The current maintenance status (one primary-key read, at most once
    per ``CACHE_SECONDS`` per process and database engine)."""
    global _cached
    value, expires, engine = _cached
    now = time.monotonic()
    current = db_api.get_engine()
    if value is not None and now < expires and engine is current:
        return value
    with db_api.read_session() as session:
        row = session.get(models.ServiceState, KEY)
        value = row.value if row is not None else RUNNING
    _cached = (value, now + CACHE_SECONDS, current)
    return value


def forget_status() -> None:
    """Read the status from the database next time."""
    global _cached
    _cached = (None, 0.0, None)


def _set(status: str, expected: tuple[str, ...] | None = None) -> bool:
    """Store ``status``; with ``expected``, only if the current value is
    one of them (so a late pausing job cannot undo a RUNNING)."""

    @db_api.retry_on_db_error
    def write() -> bool:
        with db_api.transaction() as session:
            # SQLite: BEGIN IMMEDIATE already made us the only writer.
            row = session.get(models.ServiceState, KEY,
                              with_for_update=not db_api.is_sqlite())
            current = row.value if row is not None else RUNNING
            if expected is not None and current not in expected:
                return False
            if row is None:
                session.add(models.ServiceState(
                    name=KEY, value=status, updated_at=timeutils.utcnow()))
            else:
                row.value = status
                row.updated_at = timeutils.utcnow()
            return True

    try:
        try:
            return write()
        except exc.DBDuplicateEntryError:
            # Two writers created the row at once: the other one won;
            # retry as an update.
            return write()
    finally:
        forget_status()


def _root_ids(state: str) -> list[str]:
    wf = models.WorkflowExecution
    with db_api.read_session() as session:
        return list(session.execute(sa.select(wf.id).where(
            wf.state == state, wf.task_execution_id.is_(None))).scalars())


def _running_tasks() -> int:
    task = models.TaskExecution
    with db_api.read_session() as session:
        return session.execute(sa.select(sa.func.count()).select_from(
            task).where(task.state == states.RUNNING)).scalar_one()


def _engine() -> Any:
    from mistral.rpc import clients

    return clients.engine()


def pause_all(timeout: float | None = None) -> bool:
    """Pause every running root execution, wait until no task runs, then
    set PAUSED. Returns False if the maintenance was called off meanwhile
    or ``timeout`` seconds passed first (the status stays PAUSING)."""
    ctx = mistral_context.admin_context()
    for wf_ex_id in _root_ids(states.RUNNING):
        try:
            _engine().pause_workflow(ctx, wf_ex_id)
        except exc.MistralError as e:
            # Finished meanwhile, or deleted: nothing to pause.
            LOG.info('Maintenance: not pausing %s: %s', wf_ex_id, e)
    deadline = None if timeout is None else time.monotonic() + timeout
    while _running_tasks():
        if get_status() != PAUSING:
            return False
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(POLL_INTERVAL)
    return _set(PAUSED, expected=(PAUSING,))


def resume_all() -> None:
    ctx = mistral_context.admin_context()
    for wf_ex_id in _root_ids(states.PAUSED):
        try:
            _engine().resume_workflow(ctx, wf_ex_id)
        except exc.MistralError as e:
            LOG.info('Maintenance: not resuming %s: %s', wf_ex_id, e)


def _pause_in_background() -> None:
    def job() -> None:
        try:
            pause_all()
        except Exception:
            LOG.exception('Maintenance: pausing executions failed')

    threading.Thread(target=job, name='maintenance-pause',
                     daemon=True).start()


def set_status(status: str, background: bool = True) -> str:
    """Ask for ``RUNNING`` or ``PAUSED``; returns the status now stored.

    ``PAUSED`` answers ``PAUSING`` at once and pauses in a background
    thread (or before returning, with ``background=False``).
    """
    if status not in TARGETS:
        raise exc.InputException(
            'The maintenance status must be one of %s, not %s'
            % (', '.join(TARGETS), status))
    current = get_status()
    if status == RUNNING:
        if current != RUNNING:
            _set(RUNNING)
            resume_all()
        return RUNNING
    if current != RUNNING:
        # Already pausing or paused.
        return current
    _set(PAUSING)
    if background:
        _pause_in_background()
        return PAUSING
    pause_all()
    return get_status()
