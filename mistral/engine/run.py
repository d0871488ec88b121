"""Everything one engine transaction needs about one workflow execution."""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_config import cfg
from sqlalchemy import orm

from mistral.db import models
from mistral.engine import data_access
from mistral.handoff import outbox

CONF = cfg.CONF


@dataclasses.dataclass
class Run:
    session: orm.Session
    batch: outbox.Batch
    ctx: dict[str, Any]          # request context of the caller, as a dict
    wf_ex: models.WorkflowExecution
    spec: Any                    # mistral.lang WorkflowSpec
    _access: data_access.DbDataAccess | None = None
    _root_env: dict[str, Any] | None = None
    # Task executions this transaction created or loaded, by id: strong
    # references, so that the session's weak identity map keeps them and
    # looking one up costs no query (nor the flush a query implies).
    tasks: dict[str, Any] = dataclasses.field(default_factory=dict)
    # The latest of those by task name (finds a join task in O(1)).
    tasks_by_name: dict[str, Any] = dataclasses.field(default_factory=dict)
    # with-items tasks whose remaining elements continue in a later
    # transaction (one message each).
    continued_items: set[str] = dataclasses.field(default_factory=set)
    # True when the execution was created in this transaction: every task
    # it has is then in ``tasks`` (finishing needs no query for them).
    all_tasks_known: bool = False
    # Ids of inline actions past the budget, listed by the engine message
    # that will run them (see tasks._defer_inline).
    deferred_inline: list[str] | None = None
    # Per-transaction memos of mistral.engine.contexts.
    context_memo: dict[str, dict[str, Any]] = dataclasses.field(
        default_factory=dict)
    published_memo: dict[str, dict[str, Any]] = dataclasses.field(
        default_factory=dict)
    # Actions resolved in this transaction (mistral.actions.resolver):
    # a with-items task looks its action up once, not once per element.
    resolved_actions: dict[Any, Any] = dataclasses.field(
        default_factory=dict)
    # An executor applying results in its own process: it may take the
    # one action this transaction schedules (see
    # mistral.executor.executor.LocalClaim).
    local: Any = None
    # When set (a transaction that applies the results of many
    # executions): executions whose last task ended are put here by id and
    # finished together at the end (workflows.finish_together), their
    # ending tasks read in one query instead of one each.
    finishing: dict[str, Run] | None = None
    # Actions this transaction may still run inline (see engine.inline).
    inline_budget: int = dataclasses.field(
        default_factory=lambda: CONF.engine.inline_actions_per_transaction)

    @property
    def env(self) -> dict[str, Any]:
        """The environment of the whole tree, as upstream: ``params.env``
        of the root execution (sub-workflows store ``{}`` of their own),
        so that an env updated on the root (PUT, resume) reaches them."""
        wf_ex = self.wf_ex
        root_id = wf_ex.root_execution_id
        if not root_id or root_id == wf_ex.id:
            return (wf_ex.params or {}).get('env') or {}
        if self._root_env is None:
            # The session's copy when the root is loaded (its changes in
            # this transaction count), else its params alone.
            root = self.session.get(
                models.WorkflowExecution, root_id,
                options=[orm.load_only(models.WorkflowExecution.params)])
            self._root_env = ((root.params if root is not None else None)
                              or {}).get('env') or {}
        return self._root_env

    @property
    def wf_context(self) -> dict[str, Any]:
        return self.wf_ex.context or {}

    @property
    def wf_input(self) -> dict[str, Any]:
        return self.wf_ex.input or {}

    @property
    def access(self) -> data_access.DbDataAccess:
        if self._access is None:
            self._access = data_access.DbDataAccess(self.session, self.wf_ex,
                                                    self.spec)
        return self._access

    @property
    def merge_strategy(self) -> str:
        return CONF.engine.merge_strategy
