"""Actions run outside workflows (POST /v2/action_executions).

* ``run_sync`` or neither ``save_result`` nor an async action: the action
  runs on an executor while the caller waits; without ``save_result`` the
  answer is a transient execution (``id`` null) that is never stored.
* otherwise an action execution is stored RUNNING and handed to an
  executor through the outbox like a workflow's action; its result arrives
  through ``on_action_complete`` (or the API for async actions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from mistral import exceptions as exc
from mistral.actions import resolver
from mistral.db import models
from mistral.db import rows
from mistral.engine import limits
from mistral.engine.unit_of_work import unit_of_work
from mistral.handoff import hooks
from mistral.utils import timeutils
from mistral.workflow import states

if TYPE_CHECKING:
    from mistral.actions.descriptor import ActionDescriptor
    from mistral.context import RequestContext

CONF = cfg.CONF


def _is_sync(desc: ActionDescriptor, action_input: dict[str, Any]) -> bool:
    try:
        return bool(desc.instantiate(dict(action_input), {}).is_sync())
    except Exception as e:
        raise exc.InputException(
            'Failed to create action %s: %s' % (desc.name, e)) from e


def _transient(name: str, namespace: str, action_input: dict[str, Any],
               result: dict[str, Any]) -> dict[str, Any]:
    state = states.SUCCESS
    value = result.get('data')
    if result.get('cancel'):
        state = states.CANCELLED
    elif result.get('error') is not None:
        state, value = states.ERROR, result['error']
    return {'id': None, 'name': name, 'workflow_name': None,
            'workflow_namespace': namespace, 'task_execution_id': None,
            'state': state, 'state_info': None, 'tags': None,
            'description': None, 'project_id': None, 'accepted': None,
            'input': action_input, 'output': {'result': value},
            'created_at': None, 'updated_at': None}


def start_action(ctx_dict: dict[str, Any], ctx: RequestContext, name: str,
                 action_input: dict[str, Any], description: str,
                 namespace: str, params: dict[str, Any]) -> dict[str, Any]:
    _, desc = resolver.resolve(name, action_input, namespace,
                               ctx_dict.get('project_id'))
    limits.check_size('input', action_input, 'ActionExecution')
    timeout = params.get('timeout')
    if timeout is not None:
        try:
            timeout = float(timeout)
        except (TypeError, ValueError):
            raise exc.InputException(
                'Invalid params.timeout %r: a number of seconds is '
                'expected' % (timeout,)) from None
        if timeout < 0:
            raise exc.InputException(
                'Invalid params.timeout %r: it must not be negative'
                % (timeout,))
    run_sync = bool(params.get('run_sync'))
    save = bool(params.get('save_result'))
    is_sync = _is_sync(desc, action_input)
    if run_sync and not is_sync:
        # Upstream's sentence first (clients match it), then which action.
        raise exc.InputException(
            'Action does not support synchronous execution. '
            '[action_name=%s, run_sync=true]' % name)
    if run_sync or not (save or not is_sync):
        # An executor runs it while we wait: one over RPC, or this process
        # with ``[executor] type = local`` (where ``target`` cannot choose);
        # wired at process start (mistral.service.handoffs).
        result = hooks.require('run_action_sync')(
            ctx, action_name=name, action_input=action_input,
            namespace=namespace, action_timeout=timeout,
            target=params.get('target'))
        if not save:
            return _transient(name, namespace, action_input, result)
        return _store(ctx_dict, name, namespace, action_input, description,
                      result=result, is_sync=is_sync)
    return _store(ctx_dict, name, namespace, action_input, description,
                  result=None, is_sync=is_sync, target=params.get('target'),
                  timeout=timeout)


def _store(ctx_dict: dict[str, Any], name: str, namespace: str,
           action_input: dict[str, Any], description: str,
           result: dict[str, Any] | None, is_sync: bool,
           target: str | None = None, timeout: Any = None
           ) -> dict[str, Any]:
    now = timeutils.utcnow()
    with unit_of_work() as (session, batch):
        ax = models.ActionExecution(
            id=models.new_id(), name=name, workflow_namespace=namespace,
            state=states.RUNNING, input=action_input, accepted=False,
            is_sync=is_sync, description=description or '',
            project_id=ctx_dict.get('project_id'), scope='private',
            runtime_context={'index': 0, 'safe_rerun': False,
                             'target': target, 'timeout': timeout},
            created_at=now, updated_at=None, last_heartbeat=now)
        if result is not None:
            t = _transient(name, namespace, action_input, result)
            ax.state = t['state']
            ax.output = t['output']
            ax.accepted = True
            ax.updated_at = now
            if ax.state == states.ERROR:
                ax.state_info = str(t['output']['result'])
        session.add(ax)
        if result is None:
            batch.add('executor', 'run_action', {
                'action_ex_id': ax.id, 'action_name': name,
                'namespace': namespace, 'safe_rerun': False,
                'timeout': timeout,
                'exec_ctx': {'action_execution_id': ax.id,
                             'callback_url':
                                 '/v2/action_executions/%s' % ax.id},
            }, ctx=ctx_dict, server=target)
        session.flush()
        return rows.to_dict(ax)
