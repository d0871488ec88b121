"""One upstream row -> one of our rows.

Columns with the same name carry over unchanged; JSON columns as the text
upstream stored (our reads parse any JSON text, so values come back
exactly as upstream's API showed them). On top of that, what our schema
has and upstream's does not is filled in here:

* workflow executions: ``active_tasks`` (tasks not yet completed), and
  ``published_global`` in ``runtime_context`` (upstream derives it from
  the execution's context when asked; so does this, the same way);
* task executions: ``type`` where upstream left it empty (from the task
  spec), ``active_children`` (children not yet completed); the inbound
  context stays whole in ``in_context`` (``context_refs`` empty: the
  engine reads such tasks as they are);
* action executions: ``workflow_execution_id`` (through the task), and
  ``executor_id`` :data:`EXECUTOR_ID` with no lease: no executor ever
  claims such a row and the recovery sweep leaves it alone, so an action
  imported RUNNING is never run again here;
* cron triggers: our hashes of input and params;
* workbooks: the spec in our form (parsed from the definition text);
* ``mistral_metrics``: the maintenance status.

Non-null columns upstream may have left empty get the value upstream's
code would have read them as (an empty namespace, ``private`` scope,
false flags).
"""

from __future__ import annotations

import datetime
import functools
from typing import Any, Callable

import sqlalchemy as sa

from mistral.db import models
from mistral.db import types as db_types
from mistral.utils import json_codec
from mistral.workflow import states

# Marks every action execution copied from upstream (see module doc).
EXECUTOR_ID = 'upstream-import'

WF_DONE = states.TERMINAL
TASK_DONE = states.COMPLETED
ACTION_DONE = states.TERMINAL

# Keys of a workflow execution's context that are not global publishes
# (upstream leaves these, and the workflow's vars, out of
# published_global).
_CONTEXT_INTERNAL = ('__execution', 'openstack')

EPOCH = datetime.datetime(1970, 1, 1)


def failed_info(state: str, previous: str | None) -> str:
    """state_info of a row imported in ERROR with ``--non-terminal=fail``.
    """
    text = ('Imported from upstream OpenStack Mistral while %s; it could '
            'not continue here, so it was set to ERROR by '
            '"mistral-db-manage import-upstream --non-terminal=fail". Rerun '
            'the failed tasks to run it again.' % state)
    if previous:
        text += ' Its state info upstream was: %s' % previous
    return text


def loads(text: Any) -> Any:
    if text is None or not isinstance(text, str):
        return text
    try:
        return json_codec.loads(text)
    except ValueError:
        return None


def _bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    return bool(value)


# --- our tables as plain text columns ----------------------------------------


@functools.lru_cache(maxsize=None)
def raw_table(name: str) -> sa.Table:
    """Our table ``name`` with JSON columns as plain text, for writing the
    JSON text upstream stored as it is (and reading ours back as text)."""
    model_table = models.Base.metadata.tables[name]
    cols = []
    for col in model_table.columns:
        kind = sa.Text() if isinstance(col.type, db_types.JsonEncoded) \
            else col.type
        cols.append(sa.Column(col.name, kind, primary_key=col.primary_key))
    return sa.Table(name, sa.MetaData(), *cols)


def json_columns(name: str) -> frozenset[str]:
    model_table = models.Base.metadata.tables[name]
    return frozenset(c.name for c in model_table.columns
                     if isinstance(c.type, db_types.JsonEncoded))


def _base(table: str, src: dict[str, Any]) -> dict[str, Any]:
    """Every column of our ``table``: from the upstream row where it has
    one of that name, else None."""
    return {c.name: src.get(c.name) for c in raw_table(table).columns}


def _secure(row: dict[str, Any]) -> dict[str, Any]:
    row['scope'] = row.get('scope') or 'private'
    if row.get('created_at') is None:
        row['created_at'] = row.get('updated_at') or EPOCH
    return row


def _definition(row: dict[str, Any]) -> dict[str, Any]:
    _secure(row)
    row['namespace'] = row.get('namespace') or ''
    row['is_system'] = _bool(row.get('is_system'))
    return row


# --- definitions -------------------------------------------------------------


def workbook(src: dict[str, Any]) -> dict[str, Any]:
    row = _definition(_base('workbooks_v2', src))
    spec = _workbook_spec(src.get('definition'))
    if spec is not None:
        row['spec'] = json_codec.dumps_compact(spec)
    return row


def _workbook_spec(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    from mistral.lang import parser

    try:
        return parser.parse_workbook(text, validate=False).to_dict()
    except Exception:
        # Upstream accepted it; its own spec is kept as it was.
        return None


def workflow_definition(src: dict[str, Any]) -> dict[str, Any]:
    return _definition(_base('workflow_definitions_v2', src))


def action_definition(src: dict[str, Any]) -> dict[str, Any]:
    return _definition(_base('action_definitions_v2', src))


def environment(src: dict[str, Any]) -> dict[str, Any]:
    row = _secure(_base('environments_v2', src))
    row['name'] = row.get('name') or ''
    return row


def code_source(src: dict[str, Any]) -> dict[str, Any]:
    row = _secure(_base('code_sources', src))
    row['namespace'] = row.get('namespace') or ''
    row['content'] = row.get('content') or ''
    row['version'] = row.get('version') or 1
    return row


def dynamic_action(src: dict[str, Any]) -> dict[str, Any]:
    row = _secure(_base('dynamic_action_definitions', src))
    row['namespace'] = row.get('namespace') or ''
    return row


def member(src: dict[str, Any]) -> dict[str, Any]:
    row = _base('resource_members_v2', src)
    row['resource_type'] = row.get('resource_type') or 'workflow'
    row['status'] = row.get('status') or 'pending'
    if row.get('created_at') is None:
        row['created_at'] = row.get('updated_at') or EPOCH
    return row


def cron_trigger(src: dict[str, Any]) -> dict[str, Any]:
    row = _secure(_base('cron_triggers_v2', src))
    # Ours, computed as our API does for a new trigger (upstream's are of
    # another serialisation).
    row['workflow_input_hash'] = models.cron_trigger_hash(
        loads(src.get('workflow_input')))
    row['workflow_params_hash'] = models.cron_trigger_hash(
        loads(src.get('workflow_params')))
    return row


def event_trigger(src: dict[str, Any]) -> dict[str, Any]:
    return _secure(_base('event_triggers_v2', src))


def service_state(src: dict[str, Any]) -> dict[str, Any]:
    return {'name': src.get('name'), 'value': src.get('value') or '',
            'updated_at': src.get('updated_at') or src.get('created_at')}


# Definition-like tables in the order they are written (referenced rows
# first): source table, target table, converter, and why a source row is
# left out (None: never).
def _no_name(row: dict[str, Any]) -> str | None:
    return None if row.get('name') else 'it has no name'


def _member_skip(row: dict[str, Any]) -> str | None:
    if not row.get('project_id'):
        return 'it has no owner project'
    if not row.get('member_id') or not row.get('resource_id'):
        return 'it has no member or resource'
    return None


def _dyn_skip(row: dict[str, Any]) -> str | None:
    if not (row.get('name') and row.get('class_name')
            and row.get('code_source_id')):
        return 'it lacks its name, class or code source'
    return None


def _event_skip(row: dict[str, Any]) -> str | None:
    if not row.get('workflow_id'):
        return 'it names no workflow'
    return None


def _cron_skip(row: dict[str, Any]) -> str | None:
    if not row.get('name'):
        return 'it has no name'
    if row.get('next_execution_time') is None:
        return 'it has no next execution time'
    return None


def _metrics_skip(row: dict[str, Any]) -> str | None:
    return None if row.get('name') else 'it has no name'


DefinitionTable = tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]],
                        Callable[[dict[str, Any]], 'str | None'], str]

# (source table, target table, convert, skip reason, key column)
DEFINITION_TABLES: tuple[DefinitionTable, ...] = (
    ('workbooks_v2', 'workbooks_v2', workbook, _no_name, 'id'),
    ('workflow_definitions_v2', 'workflow_definitions_v2',
     workflow_definition, _no_name, 'id'),
    ('action_definitions_v2', 'action_definitions_v2', action_definition,
     _no_name, 'id'),
    ('environments_v2', 'environments_v2', environment, _no_name, 'id'),
    ('code_sources', 'code_sources', code_source, _no_name, 'id'),
    ('dynamic_action_definitions', 'dynamic_action_definitions',
     dynamic_action, _dyn_skip, 'id'),
    ('resource_members_v2', 'resource_members_v2', member, _member_skip,
     'id'),
    ('cron_triggers_v2', 'cron_triggers_v2', cron_trigger, _cron_skip, 'id'),
    ('event_triggers_v2', 'event_triggers_v2', event_trigger, _event_skip,
     'id'),
    ('mistral_metrics', 'mistral_metrics', service_state, _metrics_skip,
     'name'),
)


# --- executions --------------------------------------------------------------


def published_global(context: Any, spec: Any) -> dict[str, Any]:
    """What upstream's API shows as an execution's ``published_global``:
    its context without internal keys and the workflow's vars."""
    if not isinstance(context, dict):
        return {}
    exclude = set(_CONTEXT_INTERNAL)
    if isinstance(spec, dict) and isinstance(spec.get('vars'), dict):
        exclude.update(spec['vars'])
    return {k: v for k, v in context.items() if k not in exclude}


def workflow_execution(src: dict[str, Any], tasks: list[dict[str, Any]],
                       fail: bool) -> dict[str, Any]:
    """``tasks``: this execution's converted task rows."""
    row = _secure(_base('workflow_executions_v2', src))
    row['accepted'] = _bool(row.get('accepted'))
    state = row.get('state') or states.IDLE
    if fail and state not in WF_DONE:
        row['state_info'] = failed_info(state, row.get('state_info'))
        state = states.ERROR
    row['state'] = state
    row['active_tasks'] = sum(1 for t in tasks if t['state'] not in TASK_DONE)
    rctx = loads(src.get('runtime_context'))
    rctx = dict(rctx) if isinstance(rctx, dict) else {}
    rctx['published_global'] = published_global(
        loads(src.get('context')), loads(src.get('spec')))
    row['runtime_context'] = json_codec.dumps_compact(rctx)
    return row


def task_type(src: dict[str, Any]) -> str:
    if src.get('type') in ('ACTION', 'WORKFLOW'):
        return src['type']
    spec = loads(src.get('spec'))
    if isinstance(spec, dict) and spec.get('workflow'):
        return 'WORKFLOW'
    return 'ACTION'


def task_execution(src: dict[str, Any], children: list[dict[str, Any]],
                   fail: bool) -> dict[str, Any]:
    """``children``: the task's converted action or workflow executions."""
    row = _secure(_base('task_executions_v2', src))
    row['type'] = task_type(src)
    for flag in ('processed', 'has_next_tasks', 'error_handled'):
        row[flag] = _bool(row.get(flag))
    state = row.get('state') or states.IDLE
    if fail and state not in TASK_DONE:
        row['state_info'] = failed_info(state, row.get('state_info'))
        state = states.ERROR
    row['state'] = state
    row['context_refs'] = None
    done = WF_DONE if row['type'] == 'WORKFLOW' else ACTION_DONE
    row['active_children'] = sum(1 for c in children
                                 if c['state'] not in done)
    return row


def action_execution(src: dict[str, Any], wf_ex_id: str | None,
                     fail: bool) -> dict[str, Any]:
    row = _secure(_base('action_executions_v2', src))
    row['accepted'] = _bool(row.get('accepted'))
    row['is_sync'] = _bool(row.get('is_sync'), default=True)
    state = row.get('state') or states.IDLE
    if fail and state not in ACTION_DONE:
        row['state_info'] = failed_info(state, row.get('state_info'))
        state = states.ERROR
    row['state'] = state
    row['workflow_execution_id'] = wf_ex_id
    row['executor_id'] = EXECUTOR_ID
    row['lease_until'] = None
    return row
