"""An in-memory DataAccess for tests and tools that have no database."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


class InMemoryDataAccess:
    """Holds executions and tasks as plain dicts.

    Executions need ``id`` (plus optional ``root_execution_id``,
    ``state``, ``created_at``, ``context``); tasks need ``id``, ``name``,
    ``workflow_execution_id`` (plus optional ``state``, ``type``). Tasks
    are kept in insertion order: the last added run of a name is the one
    ``task(name)`` returns.
    """

    def __init__(self) -> None:
        self.executions_by_id: dict[str, dict[str, Any]] = {}
        self.task_list: list[dict[str, Any]] = []

    def add_execution(self, execution: dict[str, Any]) -> None:
        self.executions_by_id[execution['id']] = execution

    def add_task(self, task: dict[str, Any]) -> None:
        self.task_list.append(task)

    # -------------------------------------------------------- protocol

    @staticmethod
    def _wf_ex_id(context: Mapping[str, Any]) -> str | None:
        execution = context.get('__execution') or {}
        return execution.get('id')

    def task(self, name: str | None,
             context: Mapping[str, Any]) -> dict[str, Any] | None:
        current = context.get('__task_execution') or {}

        if name is None or name == current.get('name'):
            for task in self.task_list:
                if task['id'] == current.get('id'):
                    return copy.deepcopy(task)
            if name is None:
                return None

        wf_ex_id = self._wf_ex_id(context)
        for task in reversed(self.task_list):
            if task['name'] == name and \
                    task.get('workflow_execution_id') == wf_ex_id:
                found: dict[str, Any] = copy.deepcopy(task)
                return found
        return None

    def tasks(self, workflow_execution_id: str | None, recursive: bool,
              state: str | None, flat: bool,
              context: Mapping[str, Any]) -> list[dict[str, Any]]:
        root = workflow_execution_id or self._wf_ex_id(context)
        wf_ids = {root}

        if recursive:
            changed = True
            while changed:
                changed = False
                for task in self.task_list:
                    if task.get('workflow_execution_id') not in wf_ids:
                        continue
                    for ex in self.executions_by_id.values():
                        if ex.get('task_execution_id') == task['id'] and \
                                ex['id'] not in wf_ids:
                            wf_ids.add(ex['id'])
                            changed = True

        result = []
        for task in self.task_list:
            if task.get('workflow_execution_id') not in wf_ids:
                continue
            if state is not None and task.get('state') != state:
                continue
            if flat and task.get('type') == 'WORKFLOW':
                continue
            result.append(copy.deepcopy(task))
        return result

    def execution(self, context: Mapping[str, Any]) -> dict[str, Any]:
        ex = self.executions_by_id.get(self._wf_ex_id(context) or '')
        if ex is None:
            return dict(context.get('__execution') or {})
        return {k: copy.deepcopy(v) for k, v in ex.items()
                if k != 'context'}

    def executions(self, id: str | None, root_execution_id: str | None,
                   state: str | None, from_time: str | None,
                   to_time: str | None,
                   context: Mapping[str, Any]) -> list[dict[str, Any]]:
        result = []
        for ex in self.executions_by_id.values():
            created = ex.get('created_at') or ''
            if id is not None and ex['id'] != id:
                continue
            if root_execution_id is not None and \
                    ex.get('root_execution_id') != root_execution_id:
                continue
            if state is not None and ex.get('state') != state:
                continue
            if from_time is not None and created < from_time:
                continue
            if to_time is not None and created >= to_time:
                continue
            result.append({k: copy.deepcopy(v) for k, v in ex.items()
                           if k != 'context'})
        return result

    def global_var(self, name: str, context: Mapping[str, Any]) -> Any:
        ex = self.executions_by_id.get(self._wf_ex_id(context) or '') or {}
        return (ex.get('context') or {}).get(name)
