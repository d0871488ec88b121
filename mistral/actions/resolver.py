"""Resolving an action: name -> descriptor, and checking its input.

The engine resolves an action when it plans a task (an unknown action or
a wrong input fails the task before anything is sent) and the executor
resolves it again when it runs it (it needs the descriptor, and the
definition may have changed meanwhile). Both go through this module, so
the lookup order, the input check and their messages exist once.

Repeated resolutions are cheap: within one engine transaction a ``memo``
(a dict the caller keeps for the transaction) answers the same name
without another lookup, and across transactions the ad-hoc provider
keeps the parsed specs of its definitions (see
mistral.actions.adhoc.AdHocActionProvider._descriptor).
"""

from __future__ import annotations

from typing import Any

from mistral import exceptions as exc
from mistral.actions import registry

# (name, namespace, project_id) -> descriptor or None (not found)
Memo = dict[tuple[str, str, str | None], Any]


def not_found(name: str) -> exc.InvalidActionException:
    return exc.InvalidActionException(
        'Failed to find action [action_name=%s]' % name)


def lookup(name: str, namespace: str = '', project_id: str | None = None,
           memo: Memo | None = None) -> Any:
    """The descriptor of ``name`` (see registry.find), or None."""
    if memo is None:
        return registry.find(name, namespace or '', project_id=project_id)
    key = (name, namespace or '', project_id)
    if key not in memo:
        memo[key] = registry.find(name, namespace or '',
                                  project_id=project_id)
    return memo[key]


def candidates(name: str, workflow_name: str | None = None) -> list[str]:
    """Names ``name`` may stand for: inside a workbook (a workflow named
    ``<workbook>.<wf>``) a short name means the workbook's action first."""
    wf_name = workflow_name or ''
    if '.' in wf_name:
        return ['%s.%s' % (wf_name.rsplit('.', 1)[0], name), name]
    return [name]


def find(name: str, namespace: str = '', project_id: str | None = None,
         workflow_name: str | None = None, memo: Memo | None = None
         ) -> tuple[str, Any]:
    """(the name found, its descriptor); InvalidActionException when no
    candidate name is known."""
    for candidate in candidates(name, workflow_name):
        desc = lookup(candidate, namespace, project_id, memo)
        if desc is not None:
            return candidate, desc
    raise not_found(name)


def check_input(desc: Any, action_input: dict[str, Any] | None) -> None:
    """``action_input`` against the action's parameters
    (InvalidActionException/InputException when it does not fit)."""
    desc.check_parameters(action_input)


def resolve(name: str, action_input: dict[str, Any] | None,
            namespace: str = '', project_id: str | None = None,
            workflow_name: str | None = None, memo: Memo | None = None
            ) -> tuple[str, Any]:
    """As :func:`find`, and ``action_input`` checked against the action's
    parameters (InvalidActionException/InputException otherwise)."""
    found, desc = find(name, namespace, project_id, workflow_name, memo)
    check_input(desc, action_input)
    return found, desc
