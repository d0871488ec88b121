"""Custom functions available in YAQL and Jinja expressions.

Each function takes the expression data context first (a Mapping holding
``__env``, ``__execution``, ``__task_execution`` and the workflow data).
They are registered through the ``mistral.expression.functions`` entry
point; :func:`load_functions` reads it (falling back to this module when
the package metadata is not installed, e.g. in a source checkout).

Functions that need stored data (tasks, executions, globals) ask the
:class:`~mistral.expressions.data_access.DataAccess` passed to
``evaluate()``.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid as _uuid
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from mistral import exceptions as exc
from mistral.expressions import data_access as da
from mistral.expressions import deadline
from mistral.expressions import options
from mistral.utils import hardened_yaml

LOG = logging.getLogger(__name__)

ENTRY_POINT_GROUP = 'mistral.expression.functions'


def _ask(function_name: str, method: str, *args: Any) -> Any:
    """Call ``method`` of the current DataAccess.

    Mistral errors (e.g. "not found") become ordinary evaluation errors;
    anything else (database failures) passes through unchanged.
    """
    access = da.current_data_access()

    if access is None:
        raise exc.DataAccessException(
            f"Function '{function_name}()' needs access to stored data, "
            "but none was given to the expression evaluator."
        )

    try:
        with deadline.shielded():  # never interrupted inside a DB query
            return getattr(access, method)(*args)
    except exc.MistralError:
        raise
    except Exception as e:
        raise da.PassThrough(e) from e


def env_(context: Mapping[str, Any]) -> Any:
    """The execution environment (``params.env`` of the root execution)."""
    env = context.get('__env')

    return env if env is not None else {}


def execution_(context: Mapping[str, Any]) -> dict[str, Any]:
    """The current workflow execution: id, name, spec, input, params..."""
    found: dict[str, Any] = _ask('execution', 'execution', context)
    return found


def executions_(context: Mapping[str, Any], id: str | None = None,
                root_execution_id: str | None = None,
                state: str | None = None, from_time: str | None = None,
                to_time: str | None = None) -> list[dict[str, Any]]:
    """Workflow executions matching all given filters."""
    found: list[dict[str, Any]] = _ask(
        'executions', 'executions', id, root_execution_id, state, from_time,
        to_time, context)
    return found


def global_(context: Mapping[str, Any], var_name: str) -> Any:
    """A variable of the workflow's global context (vars, global publish)."""
    return _ask('global', 'global_var', var_name, context)


def task_(context: Mapping[str, Any],
          task_name: str | None = None) -> dict[str, Any] | None:
    """The current task, or the last execution of the named task."""
    result: dict[str, Any] | None = _ask('task', 'task', task_name, context)

    if result is None:
        LOG.warning("Task '%s' not found in the current workflow "
                    "execution.", task_name)

    return result


def tasks_(context: Mapping[str, Any],
           workflow_execution_id: str | None = None,
           recursive: bool = False, state: str | None = None,
           flat: bool = False) -> list[dict[str, Any]]:
    """Tasks of a workflow execution (default: the current one)."""
    found: list[dict[str, Any]] = _ask(
        'tasks', 'tasks', workflow_execution_id, recursive, state, flat,
        context)
    return found


def _plain(data: Any) -> Any:
    """Mappings (ChainMap views, yaql FrozenDict) and sequences as
    dicts/lists, so they can be serialised."""
    if isinstance(data, str):
        return data
    if isinstance(data, Mapping):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple, set, frozenset)):
        return [_plain(v) for v in data]
    return data


def json_dump_(context: Mapping[str, Any], data: Any) -> str:
    return json.dumps(_plain(data), indent=4)


def json_parse_(context: Mapping[str, Any], data: str) -> Any:
    return json.loads(data)


def yaml_dump_(context: Mapping[str, Any], data: Any) -> str:
    return yaml.safe_dump(_plain(data), default_flow_style=False)


def yaml_parse_(context: Mapping[str, Any], data: str) -> Any:
    # The limits of DSL documents apply (the libyaml crash on deep nesting).
    settings = options.current()
    return hardened_yaml.load(data, settings.max_definition_size_kb,
                              settings.max_nesting_depth)


def uuid_(context: Mapping[str, Any] | None = None) -> str:
    return str(_uuid.uuid4())


BUILTIN_FUNCTIONS: dict[str, Callable[..., Any]] = {
    'env': env_,
    'execution': execution_,
    'executions': executions_,
    'global': global_,
    'json_dump': json_dump_,
    'json_parse': json_parse_,
    'task': task_,
    'tasks': tasks_,
    'uuid': uuid_,
    'yaml_dump': yaml_dump_,
    'yaml_parse': yaml_parse_,
}

# Functions whose piped value in a Jinja filter is the data they work on
# (``{{ _.x | json_dump }}``). For the others the piped value stands for
# the context, as upstream filters do (``{{ _ | task('t') }}``).
DATA_FILTERS = frozenset(
    ('global', 'json_dump', 'json_parse', 'yaml_dump', 'yaml_parse'))


@functools.cache
def load_functions() -> dict[str, Callable[..., Any]]:
    """Name -> function for every registered expression function."""
    from importlib import metadata

    functions = dict(BUILTIN_FUNCTIONS)

    try:
        entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception:  # broken metadata must not break expressions
        LOG.exception('Could not read %s entry points.', ENTRY_POINT_GROUP)
        entry_points = metadata.EntryPoints()

    for ep in entry_points:
        try:
            functions[ep.name] = ep.load()
        except Exception:
            LOG.exception('Could not load expression function %s.', ep.name)

    return functions
