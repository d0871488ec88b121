"""The rules of rerunning (or skipping) a failed task and of changing an
execution's env, in one place (pure).

The API checks them on the way in, to answer the client; the engine checks
the same rules again under the execution's lock, as the task may have
changed in between. Both call these functions, so a rule and its wording
exist once. The wording is the API's (what upstream's clients see).
"""

from __future__ import annotations

from typing import Any, Mapping

from mistral import exceptions as exc
from mistral.utils import dicts
from mistral.workflow import states
from mistral.workflow import task_machine

# States in which an execution's env may be changed without a state change
# (a running execution reads its env as it goes).
ENV_UPDATE_STATES = (states.IDLE, states.PAUSED, states.ERROR)


def check_env(env: Any) -> None:
    """An env given by a client must be a JSON object (``None``: none
    given)."""
    if env is not None and not isinstance(env, dict):
        raise exc.InputException('The env must be a JSON object.')


def check_env_update(state: str) -> None:
    """The env of an execution changes on its own (no state given) only
    while the execution is not running nor finished for good."""
    if state not in ENV_UPDATE_STATES:
        raise exc.NotAllowedException(
            'Updating env to workflow execution is only permitted if it '
            'is in IDLE, PAUSED, or ERROR state.')


def params_with_env(params: Mapping[str, Any] | None,
                    env: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an execution's ``params`` with ``env`` merged into its
    env: nested values merge key by key, as upstream's env update does;
    neither input changes."""
    new = dict(params or {})
    new['env'] = dicts.deep_merged(new.get('env') or {}, env)
    return new


def check_rerun(task_ex_id: str, state: str,
                runtime_context: Mapping[str, Any] | None,
                reset: bool | None, skip: bool = False,
                invalid: type[exc.MistralError] = exc.InputException
                ) -> None:
    """Raise unless the task may be rerun (``skip`` false) or skipped.

    ``reset`` is the client's (``None``: not given, refused for a rerun).
    ``invalid`` is the class raised for a refused ``reset``: the API's
    InputException; the engine raises WorkflowException, as it always has
    (both answer 400). A task not in ERROR is a WorkflowException either
    way. The order of the checks is the API's.
    """
    if not skip:
        if reset is None:
            raise invalid('Reset field is mandatory to rerun task.')
        if not reset and not task_machine.has_with_items(runtime_context):
            raise invalid('Only with-items tasks can be rerun without '
                          'reset [task_ex_id=%s]' % task_ex_id)
    if state != states.ERROR:
        raise exc.WorkflowException(
            'Only tasks in ERROR state can be rerun or skipped '
            '[task_ex_id=%s, state=%s]' % (task_ex_id, state))
