"""Execution states and the transitions between them (pure)."""

from __future__ import annotations

IDLE = 'IDLE'
WAITING = 'WAITING'
RUNNING = 'RUNNING'
# The wire value of the "running, but delayed by a policy" state.
RUNNING_DELAYED = 'DELAYED'
PAUSED = 'PAUSED'
SUCCESS = 'SUCCESS'
CANCELLED = 'CANCELLED'
ERROR = 'ERROR'
SKIPPED = 'SKIPPED'

ALL = (IDLE, WAITING, RUNNING, RUNNING_DELAYED, PAUSED, SUCCESS, CANCELLED,
       ERROR, SKIPPED)

COMPLETED = frozenset((SUCCESS, ERROR, CANCELLED, SKIPPED))
TERMINAL = frozenset((SUCCESS, ERROR, CANCELLED))

_TRANSITIONS: dict[str, frozenset[str]] = {
    IDLE: frozenset((RUNNING, ERROR, CANCELLED)),
    WAITING: frozenset((RUNNING,)),
    RUNNING: frozenset((PAUSED, RUNNING_DELAYED, SUCCESS, ERROR, CANCELLED)),
    RUNNING_DELAYED: frozenset((RUNNING, ERROR, CANCELLED)),
    PAUSED: frozenset((RUNNING, ERROR, CANCELLED)),
    SUCCESS: frozenset(),
    CANCELLED: frozenset((RUNNING,)),
    ERROR: frozenset((RUNNING, SKIPPED)),
    SKIPPED: frozenset(),
}


def is_valid(state: str) -> bool:
    return state in _TRANSITIONS


def is_completed(state: str) -> bool:
    return state in COMPLETED


def is_running(state: str) -> bool:
    return state in (RUNNING, RUNNING_DELAYED)


def is_waiting(state: str) -> bool:
    return state == WAITING


def is_idle(state: str) -> bool:
    return state == IDLE


def is_paused(state: str) -> bool:
    return state == PAUSED


def is_paused_or_completed(state: str) -> bool:
    return state == PAUSED or state in COMPLETED


def is_valid_transition(from_state: str, to_state: str) -> bool:
    if from_state == to_state:
        return True
    return to_state in _TRANSITIONS.get(from_state, frozenset())
