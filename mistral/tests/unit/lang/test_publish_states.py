"""The language spells the task states its publish clauses are for; they
must stay the workflow core's values."""

from __future__ import annotations

from mistral.lang import task_spec
from mistral.workflow import states


def test_publish_states_are_the_workflow_states() -> None:
    assert task_spec.PUBLISH_STATES == (
        states.SUCCESS, states.ERROR, states.SKIPPED)
