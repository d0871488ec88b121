"""What the core asks the engine to do next (pure data)."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

ENGINE_COMMANDS = ('noop', 'fail', 'succeed', 'pause')


@dataclasses.dataclass
class RunTask:
    """Create and start a task execution."""

    task_name: str
    # Outbound context of the task that led here ({} for start tasks).
    in_context: Mapping[str, Any]
    # [{'task_id': ..., 'event': 'on-success'|...}] as upstream shows it.
    triggered_by: list[dict[str, str]] = dataclasses.field(
        default_factory=list)


@dataclasses.dataclass
class FailWorkflow:
    msg: str | None = None


@dataclasses.dataclass
class SucceedWorkflow:
    msg: str | None = None


@dataclasses.dataclass
class PauseWorkflow:
    msg: str | None = None


@dataclasses.dataclass
class Noop:
    pass


Command = RunTask | FailWorkflow | SucceedWorkflow | PauseWorkflow | Noop


def truncate_after_final(commands: list[Command]) -> list[Command]:
    """Drop every command after the first fail/succeed: nothing may run
    once the workflow's outcome is decided."""
    out: list[Command] = []
    for cmd in commands:
        out.append(cmd)
        if isinstance(cmd, (FailWorkflow, SucceedWorkflow)):
            break
    return out
