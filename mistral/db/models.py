"""SQLAlchemy models.

Table and column names follow upstream Mistral where a column is visible
through the API, so that operators recognise the schema. Columns that only
our engine uses are commented where they are defined.

Schema changes go through Alembic (``mistral/db/migration``); a test compares
these models with the migrated schema.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import orm

from mistral.db.types import DateTime
from mistral.db.types import JsonEncoded
from mistral.db.types import LongText
from mistral.utils import timeutils

# Attribute name -> table column, per model: mappings do not change once
# configured, and the bulk writer and the list queries ask for them often.
_TABLE_COLUMNS: dict[type, dict[str, sa.Column[Any]]] = {}


def table_columns(model: type) -> dict[str, sa.Column[Any]]:
    """The table column of each mapped attribute of ``model``, keyed by the
    attribute's name (what the API calls the field), which may differ from
    the column's key and name."""
    cols = _TABLE_COLUMNS.get(model)
    if cols is None:
        mapper: orm.Mapper[Any] = sa.inspect(model)
        # Every column attribute of our models maps one table column.
        cols = {prop.key: prop.columns[0] for prop in mapper.column_attrs}
        _TABLE_COLUMNS[model] = cols
    return cols


def new_id() -> str:
    return str(uuid.uuid4())


class Base(orm.DeclarativeBase):
    if TYPE_CHECKING:
        # Every model here is mapped to a Table (SQLAlchemy declares the
        # wider FromClause, which has no insert/update/delete).
        __table__: ClassVar[sa.Table]


class _Timestamps:
    created_at: orm.Mapped[datetime.datetime] = orm.mapped_column(
        DateTime(), default=timeutils.utcnow, nullable=False)
    updated_at: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        DateTime(), nullable=True)


class _Secure(_Timestamps):
    """Rows owned by a project, visible to others when scope is public."""

    id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36), primary_key=True, default=new_id)
    project_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(80), nullable=True)
    scope: orm.Mapped[str] = orm.mapped_column(
        sa.String(80), nullable=False, default='private')


class _Definition(_Secure):
    name: orm.Mapped[str] = orm.mapped_column(sa.String(255), nullable=False)
    namespace: orm.Mapped[str] = orm.mapped_column(
        sa.String(255), nullable=False, default='')
    definition: orm.Mapped[str | None] = orm.mapped_column(
        LongText(), nullable=True)
    spec: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=True)
    tags: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=True)
    is_system: orm.Mapped[bool] = orm.mapped_column(
        sa.Boolean, nullable=False, default=False)


class Workbook(_Definition, Base):
    __tablename__ = 'workbooks_v2'
    __table_args__ = (
        sa.UniqueConstraint('name', 'namespace', 'project_id'),
    )


class WorkflowDefinition(_Definition, Base):
    __tablename__ = 'workflow_definitions_v2'
    __table_args__ = (
        sa.UniqueConstraint('name', 'namespace', 'project_id'),
        sa.Index('workflow_definitions_v2_project_id', 'project_id'),
        sa.Index('workflow_definitions_v2_scope', 'scope'),
    )

    checksum: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(32), nullable=True)
    workbook_name: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True)


class ActionDefinition(_Definition, Base):
    """Ad-hoc actions (system actions come from entry points, not here)."""

    __tablename__ = 'action_definitions_v2'
    __table_args__ = (
        sa.UniqueConstraint('name', 'namespace', 'project_id'),
    )

    workbook_name: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True)
    description: orm.Mapped[str | None] = orm.mapped_column(
        sa.Text(), nullable=True)
    input: orm.Mapped[str | None] = orm.mapped_column(
        sa.Text(), nullable=True)
    action_class: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(200), nullable=True)
    attributes: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True)


class Environment(_Secure, Base):
    __tablename__ = 'environments_v2'
    __table_args__ = (sa.UniqueConstraint('name', 'project_id'),)

    name: orm.Mapped[str] = orm.mapped_column(sa.String(200), nullable=False)
    description: orm.Mapped[str | None] = orm.mapped_column(
        sa.Text(), nullable=True)
    variables: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True)


class _Execution(_Secure):
    # Nullable in the schema (as upstream's), but every execution the
    # service creates has a name (the workflow's, the task's, the
    # action's), and the engine keys tasks by it: typed as str.
    name: orm.Mapped[str] = orm.mapped_column(
        sa.String(255), nullable=True)
    description: orm.Mapped[str | None] = orm.mapped_column(
        sa.Text(), nullable=True)
    workflow_name: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True)
    workflow_namespace: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True)
    workflow_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(80), nullable=True)
    state: orm.Mapped[str] = orm.mapped_column(sa.String(20), nullable=False)
    state_info: orm.Mapped[str | None] = orm.mapped_column(
        LongText(), nullable=True)
    tags: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=True)
    runtime_context: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True)


class WorkflowExecution(_Execution, Base):
    __tablename__ = 'workflow_executions_v2'
    __table_args__ = (
        sa.Index('workflow_executions_v2_project_id', 'project_id'),
        sa.Index('workflow_executions_v2_state', 'state'),
        sa.Index('workflow_executions_v2_created_at', 'created_at'),
        sa.Index('workflow_executions_v2_workflow_name', 'workflow_name'),
        sa.Index('workflow_executions_v2_root_execution_id',
                 'root_execution_id'),
        sa.Index('workflow_executions_v2_task_execution_id',
                 'task_execution_id'),
    )

    accepted: orm.Mapped[bool] = orm.mapped_column(
        sa.Boolean, nullable=False, default=False)
    # Deferred: large, and not needed to route most events.
    spec: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True, deferred=True)
    input: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=True)
    output: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True, deferred=True)
    params: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=True)
    # vars, global publishes and __execution: the workflow-wide context.
    context: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=True)
    # No foreign keys on these two: they would make the two tables depend on
    # each other. Deleting a root execution deletes its whole tree by
    # root_execution_id (see mistral.db.api).
    task_execution_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(36), nullable=True)
    root_execution_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(36), nullable=True)
    # Engine bookkeeping: tasks created and not yet completed. The workflow
    # can only be complete when this is 0, so completion checks are O(1).
    active_tasks: orm.Mapped[int] = orm.mapped_column(
        sa.Integer, nullable=False, default=0)


class TaskExecution(_Execution, Base):
    __tablename__ = 'task_executions_v2'
    __table_args__ = (
        sa.Index('task_executions_v2_wf_ex_id_name',
                 'workflow_execution_id', 'name'),
        sa.Index('task_executions_v2_project_id', 'project_id'),
        sa.Index('task_executions_v2_state', 'state'),
        sa.Index('task_executions_v2_created_at', 'created_at'),
    )

    action_spec: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True, deferred=True)
    unique_key: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True, unique=True)
    type: orm.Mapped[str] = orm.mapped_column(
        sa.String(10), nullable=False, default='ACTION')
    started_at: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        DateTime(), nullable=True)
    finished_at: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        DateTime(), nullable=True)
    processed: orm.Mapped[bool] = orm.mapped_column(
        sa.Boolean, nullable=False, default=False)
    has_next_tasks: orm.Mapped[bool] = orm.mapped_column(
        sa.Boolean, nullable=False, default=False)
    next_tasks: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True)
    error_handled: orm.Mapped[bool] = orm.mapped_column(
        sa.Boolean, nullable=False, default=False)
    in_context: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True, deferred=True)
    # Ours: {key: id of the task whose `published` holds the value}; the
    # inbound context by reference (see mistral.engine.contexts).
    context_refs: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True)
    published: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True)
    workflow_execution_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36),
        sa.ForeignKey('workflow_executions_v2.id', ondelete='CASCADE'),
        nullable=False)
    # Many-to-one, never loaded (lazy='raise'): declared only so that the
    # ORM inserts parent rows before child rows in one flush.
    workflow_execution: orm.Mapped['WorkflowExecution'] = orm.relationship(
        lazy='raise')
    # Engine bookkeeping: action/sub-workflow executions of this task not
    # yet completed (with-items and retries complete on 0).
    active_children: orm.Mapped[int] = orm.mapped_column(
        sa.Integer, nullable=False, default=0)


class ActionExecution(_Execution, Base):
    __tablename__ = 'action_executions_v2'
    __table_args__ = (
        sa.Index('action_executions_v2_task_execution_id',
                 'task_execution_id'),
        sa.Index('action_executions_v2_project_id', 'project_id'),
        sa.Index('action_executions_v2_state', 'state'),
        sa.Index('action_executions_v2_created_at', 'created_at'),
        sa.Index('action_executions_v2_lease', 'state', 'lease_until'),
    )

    accepted: orm.Mapped[bool] = orm.mapped_column(
        sa.Boolean, nullable=False, default=False)
    input: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True, deferred=True)
    output: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True, deferred=True)
    spec: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True, deferred=True)
    last_heartbeat: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        DateTime(), nullable=True)
    is_sync: orm.Mapped[bool] = orm.mapped_column(
        sa.Boolean, nullable=False, default=True)
    task_execution_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(36),
        sa.ForeignKey('task_executions_v2.id', ondelete='CASCADE'),
        nullable=True)
    task_execution: orm.Mapped['TaskExecution | None'] = orm.relationship(
        lazy='raise')
    # Ours: the workflow execution to lock when a result arrives, without a
    # join through the task.
    workflow_execution_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(36), nullable=True)
    # Ours: which executor claimed the action and until when; a claim whose
    # lease ran out belongs to a dead executor.
    executor_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True)
    lease_until: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        DateTime(), nullable=True)


class PendingItem(Base):
    """A with-items element waiting for a free slot (``concurrency``).

    Elements beyond the concurrency limit wait here, already evaluated, so
    that each completion starts the next one with a primary-key lookup
    rather than re-evaluating the whole list.
    """

    __tablename__ = 'with_items_pending'

    task_execution_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36),
        sa.ForeignKey('task_executions_v2.id', ondelete='CASCADE'),
        primary_key=True)
    item_index: orm.Mapped[int] = orm.mapped_column(
        sa.Integer, primary_key=True, autoincrement=False)
    run: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=False)


class OutboxMessage(Base):
    """A message written in the same transaction as the state it follows.

    The writer sends it after commit and deletes it. A row whose lease ran
    out was left by a process that died: any relay may claim and send it.
    ``due_at`` in the future makes it a delayed message (policy delays,
    timeouts), sent by a scheduler once due.
    """

    __tablename__ = 'outbox'
    __table_args__ = (
        sa.Index('outbox_due_at', 'due_at'),
        sa.Index('outbox_lease_until', 'lease_until'),
    )

    # Generated by the writer so that rows can be inserted in bulk and
    # deleted by id after sending without a RETURNING round trip.
    id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36), primary_key=True, default=new_id)
    # Logical destination: 'engine', 'executor', 'notifier', ...
    target: orm.Mapped[str] = orm.mapped_column(
        sa.String(64), nullable=False)
    method: orm.Mapped[str] = orm.mapped_column(sa.String(64), nullable=False)
    payload: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=False)
    # Optional routing key (an executor host for task `target:`).
    server: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True)
    due_at: orm.Mapped[datetime.datetime] = orm.mapped_column(
        DateTime(), nullable=False, default=timeutils.utcnow)
    owner: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True)
    lease_until: orm.Mapped[datetime.datetime] = orm.mapped_column(
        DateTime(), nullable=False, default=timeutils.utcnow)
    created_at: orm.Mapped[datetime.datetime] = orm.mapped_column(
        DateTime(), nullable=False, default=timeutils.utcnow)


def cron_trigger_hash(value: Any) -> str:
    """What CronTrigger's ``workflow_input_hash`` and
    ``workflow_params_hash`` hold for ``value``: the columns of its unique
    constraint stand for the JSON values they hash."""
    text = json.dumps(value or {}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class CronTrigger(_Secure, Base):
    """A workflow started on a cron pattern.

    ``next_execution_time`` doubles as the firing token: a scheduler fires
    a trigger only if it moves that value forward (compare-and-set), so one
    firing starts one execution however many schedulers run.
    """

    __tablename__ = 'cron_triggers_v2'
    __table_args__ = (
        sa.UniqueConstraint('name', 'project_id'),
        sa.UniqueConstraint(
            'workflow_input_hash', 'workflow_name', 'pattern', 'project_id',
            'workflow_params_hash', 'remaining_executions',
            'first_execution_time'),
        sa.Index('cron_triggers_v2_next_execution_time',
                 'next_execution_time'),
        sa.Index('cron_triggers_v2_project_id', 'project_id'),
        sa.Index('cron_triggers_v2_scope', 'scope'),
        sa.Index('cron_triggers_v2_workflow_name', 'workflow_name'),
    )

    name: orm.Mapped[str] = orm.mapped_column(sa.String(200), nullable=False)
    pattern: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(100), nullable=True)
    first_execution_time: orm.Mapped[datetime.datetime | None] = (
        orm.mapped_column(DateTime(), nullable=True))
    next_execution_time: orm.Mapped[datetime.datetime] = orm.mapped_column(
        DateTime(), nullable=False)
    workflow_name: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True)
    # No cascade: a workflow used by a trigger cannot be deleted.
    workflow_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(36), sa.ForeignKey('workflow_definitions_v2.id'),
        nullable=True)
    workflow_input: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True)
    workflow_input_hash: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(64), nullable=True)
    workflow_params: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True)
    workflow_params_hash: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(64), nullable=True)
    remaining_executions: orm.Mapped[int | None] = orm.mapped_column(
        sa.Integer, nullable=True)
    trust_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(80), nullable=True)


class EventTrigger(_Secure, Base):
    """A workflow started when a matching notification arrives."""

    __tablename__ = 'event_triggers_v2'
    __table_args__ = (
        sa.UniqueConstraint('exchange', 'topic', 'event', 'workflow_id',
                            'project_id'),
        sa.Index('event_triggers_v2_project_id', 'project_id'),
        sa.Index('event_triggers_v2_workflow_id', 'workflow_id'),
    )

    name: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(200), nullable=True)
    workflow_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36), sa.ForeignKey('workflow_definitions_v2.id'),
        nullable=False)
    workflow_params: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True)
    workflow_input: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=True)
    exchange: orm.Mapped[str] = orm.mapped_column(
        sa.String(80), nullable=False)
    topic: orm.Mapped[str] = orm.mapped_column(sa.String(80), nullable=False)
    event: orm.Mapped[str] = orm.mapped_column(sa.String(80), nullable=False)
    trust_id: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(80), nullable=True)


class ResourceMember(_Timestamps, Base):
    """A workflow shared by its owner project with another project.

    The owner creates the row (``pending``); the member project accepts or
    rejects it. Accepted shares make the workflow visible to the member.
    """

    __tablename__ = 'resource_members_v2'
    __table_args__ = (
        sa.UniqueConstraint('resource_id', 'resource_type', 'member_id'),
        sa.Index('resource_members_v2_member_id', 'member_id'),
    )

    id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36), primary_key=True, default=new_id)
    resource_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(80), nullable=False)
    resource_type: orm.Mapped[str] = orm.mapped_column(
        sa.String(50), nullable=False, default='workflow')
    # The owner's project (the one that shares).
    project_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(80), nullable=False)
    member_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(80), nullable=False)
    status: orm.Mapped[str] = orm.mapped_column(
        sa.String(20), nullable=False, default='pending')


class CodeSource(_Secure, Base):
    """A Python module (as text) that dynamic actions take classes from."""

    __tablename__ = 'code_sources'
    __table_args__ = (
        sa.UniqueConstraint('name', 'namespace', 'project_id'),
        sa.Index('code_sources_project_id', 'project_id'),
        sa.Index('code_sources_scope', 'scope'),
    )

    name: orm.Mapped[str] = orm.mapped_column(sa.String(255), nullable=False)
    namespace: orm.Mapped[str] = orm.mapped_column(
        sa.String(255), nullable=False, default='')
    content: orm.Mapped[str] = orm.mapped_column(LongText(), nullable=False)
    # Bumped on every update: loaded modules are cached by (id, version).
    version: orm.Mapped[int] = orm.mapped_column(
        sa.Integer, nullable=False, default=1)
    tags: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=True)


class DynamicActionDefinition(_Secure, Base):
    """An action implemented by a class of a stored code source."""

    __tablename__ = 'dynamic_action_definitions'
    __table_args__ = (
        sa.UniqueConstraint('name', 'namespace', 'project_id'),
        sa.Index('dynamic_action_definitions_project_id', 'project_id'),
        sa.Index('dynamic_action_definitions_scope', 'scope'),
        sa.Index('dynamic_action_definitions_code_source_id',
                 'code_source_id'),
    )

    name: orm.Mapped[str] = orm.mapped_column(sa.String(255), nullable=False)
    namespace: orm.Mapped[str] = orm.mapped_column(
        sa.String(255), nullable=False, default='')
    class_name: orm.Mapped[str] = orm.mapped_column(
        sa.String(255), nullable=False)
    code_source_name: orm.Mapped[str] = orm.mapped_column(
        sa.String(255), nullable=False)
    code_source_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36),
        sa.ForeignKey('code_sources.id', ondelete='CASCADE'),
        nullable=False)


class ServiceState(Base):
    """Small named service-wide values (the maintenance status)."""

    __tablename__ = 'mistral_metrics'

    name: orm.Mapped[str] = orm.mapped_column(
        sa.String(255), primary_key=True)
    value: orm.Mapped[str] = orm.mapped_column(
        sa.String(255), nullable=False)
    updated_at: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        DateTime(), nullable=True)


class NotificationDelivery(Base):
    """One event for one publisher, waiting to be published.

    The engine inserts these in the transaction of the state change they
    report; a notifier deletes a row once its publisher accepted it, so an
    event survives notifier restarts and is published at least once. Rows
    of one ``lane`` (an execution and a publisher) are published one at a
    time in ``id`` order; a failed row is retried after ``not_before``
    (backoff) until ``[notifier] retry_timeout`` after its first failure.
    """

    __tablename__ = 'notification_deliveries'
    __table_args__ = (
        sa.Index('notification_deliveries_lane', 'lane', 'id'),
        sa.Index('notification_deliveries_not_before', 'not_before'),
    )

    # Ordered: the insertion order of one execution's events (its engine
    # transactions are serialised by the execution's row lock).
    id: orm.Mapped[int] = orm.mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
        primary_key=True, autoincrement=True)
    lane: orm.Mapped[str] = orm.mapped_column(sa.String(80), nullable=False)
    execution_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36), nullable=False)
    event: orm.Mapped[str] = orm.mapped_column(sa.String(64), nullable=False)
    publisher: orm.Mapped[Any] = orm.mapped_column(
        JsonEncoded(), nullable=False)
    ctx: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=True)
    data: orm.Mapped[Any] = orm.mapped_column(JsonEncoded(), nullable=False)
    # The event's own id (a task or workflow execution) and time.
    entity_id: orm.Mapped[str] = orm.mapped_column(
        sa.String(36), nullable=False)
    timestamp: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(64), nullable=True)
    attempts: orm.Mapped[int] = orm.mapped_column(
        sa.Integer, nullable=False, default=0)
    first_failed_at: orm.Mapped[datetime.datetime | None] = (
        orm.mapped_column(DateTime(), nullable=True))
    last_error: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(1024), nullable=True)
    owner: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), nullable=True)
    # Claimable from then on: a retry's backoff or a claim's lease.
    not_before: orm.Mapped[datetime.datetime] = orm.mapped_column(
        DateTime(), nullable=False, default=timeutils.utcnow)
    created_at: orm.Mapped[datetime.datetime] = orm.mapped_column(
        DateTime(), nullable=False, default=timeutils.utcnow)
