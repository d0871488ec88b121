"""Workbooks: a named bundle of workflows and ad-hoc actions."""

from __future__ import annotations

from typing import Any

from mistral.lang.action_spec import ActionSpec
from mistral.lang.workflow_spec import WorkflowSpec


class WorkbookSpec:
    def __init__(self, name: str, description: str | None,
                 tags: list[str], workflows: dict[str, WorkflowSpec],
                 actions: dict[str, ActionSpec], definition: str,
                 data: dict[str, Any]) -> None:
        self.name = name
        self.description = description
        self.tags = tags
        self.workflows = workflows
        self.actions = actions
        self.definition = definition
        self._data = data

    def to_dict(self) -> dict[str, Any]:
        return self._data

    def __repr__(self) -> str:
        return f'WorkbookSpec({self.name!r})'
