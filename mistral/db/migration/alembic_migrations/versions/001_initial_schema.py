"""initial schema

Revision ID: 001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "001"
down_revision = None
branch_labels = None
depends_on = None


# Column types are spelled out here rather than imported from the models, so
# that later model changes cannot change what this migration creates.
def _long_text() -> sa.types.TypeEngine:
    return sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _datetime() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "action_definitions_v2",
        sa.Column("workbook_name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("input", sa.Text(), nullable=True),
        sa.Column("action_class", sa.String(length=200), nullable=True),
        sa.Column("attributes", _long_text(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("definition", _long_text(), nullable=True),
        sa.Column("spec", _long_text(), nullable=True),
        sa.Column("tags", _long_text(), nullable=True),
        sa.Column("is_system", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=80), nullable=True),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "namespace", "project_id"),
    )
    op.create_table(
        "environments_v2",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("variables", _long_text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=80), nullable=True),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "project_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("payload", _long_text(), nullable=False),
        sa.Column("server", sa.String(length=255), nullable=True),
        sa.Column("due_at", _datetime(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("lease_until", _datetime(), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("outbox_due_at", ["due_at"], unique=False)
        batch_op.create_index("outbox_lease_until", ["lease_until"], unique=False)

    op.create_table(
        "workbooks_v2",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("definition", _long_text(), nullable=True),
        sa.Column("spec", _long_text(), nullable=True),
        sa.Column("tags", _long_text(), nullable=True),
        sa.Column("is_system", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=80), nullable=True),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "namespace", "project_id"),
    )
    op.create_table(
        "workflow_definitions_v2",
        sa.Column("checksum", sa.String(length=32), nullable=True),
        sa.Column("workbook_name", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("definition", _long_text(), nullable=True),
        sa.Column("spec", _long_text(), nullable=True),
        sa.Column("tags", _long_text(), nullable=True),
        sa.Column("is_system", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=80), nullable=True),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "namespace", "project_id"),
    )
    with op.batch_alter_table("workflow_definitions_v2", schema=None) as batch_op:
        batch_op.create_index(
            "workflow_definitions_v2_project_id", ["project_id"], unique=False
        )
        batch_op.create_index("workflow_definitions_v2_scope", ["scope"], unique=False)

    op.create_table(
        "workflow_executions_v2",
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("spec", _long_text(), nullable=True),
        sa.Column("input", _long_text(), nullable=True),
        sa.Column("output", _long_text(), nullable=True),
        sa.Column("params", _long_text(), nullable=True),
        sa.Column("context", _long_text(), nullable=True),
        sa.Column("task_execution_id", sa.String(length=36), nullable=True),
        sa.Column("root_execution_id", sa.String(length=36), nullable=True),
        sa.Column("active_tasks", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("workflow_name", sa.String(length=255), nullable=True),
        sa.Column("workflow_namespace", sa.String(length=255), nullable=True),
        sa.Column("workflow_id", sa.String(length=80), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_info", _long_text(), nullable=True),
        sa.Column("tags", _long_text(), nullable=True),
        sa.Column("runtime_context", _long_text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=80), nullable=True),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("workflow_executions_v2", schema=None) as batch_op:
        batch_op.create_index(
            "workflow_executions_v2_created_at", ["created_at"], unique=False
        )
        batch_op.create_index(
            "workflow_executions_v2_project_id", ["project_id"], unique=False
        )
        batch_op.create_index(
            "workflow_executions_v2_root_execution_id",
            ["root_execution_id"],
            unique=False,
        )
        batch_op.create_index("workflow_executions_v2_state", ["state"], unique=False)
        batch_op.create_index(
            "workflow_executions_v2_task_execution_id",
            ["task_execution_id"],
            unique=False,
        )
        batch_op.create_index(
            "workflow_executions_v2_workflow_name", ["workflow_name"], unique=False
        )

    op.create_table(
        "task_executions_v2",
        sa.Column("action_spec", _long_text(), nullable=True),
        sa.Column("unique_key", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("started_at", _datetime(), nullable=True),
        sa.Column("finished_at", _datetime(), nullable=True),
        sa.Column("processed", sa.Boolean(), nullable=False),
        sa.Column("has_next_tasks", sa.Boolean(), nullable=False),
        sa.Column("next_tasks", _long_text(), nullable=True),
        sa.Column("error_handled", sa.Boolean(), nullable=False),
        sa.Column("in_context", _long_text(), nullable=True),
        sa.Column("context_refs", _long_text(), nullable=True),
        sa.Column("published", _long_text(), nullable=True),
        sa.Column("workflow_execution_id", sa.String(length=36), nullable=False),
        sa.Column("active_children", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("workflow_name", sa.String(length=255), nullable=True),
        sa.Column("workflow_namespace", sa.String(length=255), nullable=True),
        sa.Column("workflow_id", sa.String(length=80), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_info", _long_text(), nullable=True),
        sa.Column("tags", _long_text(), nullable=True),
        sa.Column("runtime_context", _long_text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=80), nullable=True),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workflow_execution_id"], ["workflow_executions_v2.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unique_key"),
    )
    with op.batch_alter_table("task_executions_v2", schema=None) as batch_op:
        batch_op.create_index(
            "task_executions_v2_created_at", ["created_at"], unique=False
        )
        batch_op.create_index(
            "task_executions_v2_project_id", ["project_id"], unique=False
        )
        batch_op.create_index("task_executions_v2_state", ["state"], unique=False)
        batch_op.create_index(
            "task_executions_v2_wf_ex_id_name",
            ["workflow_execution_id", "name"],
            unique=False,
        )

    op.create_table(
        "action_executions_v2",
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("input", _long_text(), nullable=True),
        sa.Column("output", _long_text(), nullable=True),
        sa.Column("spec", _long_text(), nullable=True),
        sa.Column("last_heartbeat", _datetime(), nullable=True),
        sa.Column("is_sync", sa.Boolean(), nullable=False),
        sa.Column("task_execution_id", sa.String(length=36), nullable=True),
        sa.Column("workflow_execution_id", sa.String(length=36), nullable=True),
        sa.Column("executor_id", sa.String(length=255), nullable=True),
        sa.Column("lease_until", _datetime(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("workflow_name", sa.String(length=255), nullable=True),
        sa.Column("workflow_namespace", sa.String(length=255), nullable=True),
        sa.Column("workflow_id", sa.String(length=80), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_info", _long_text(), nullable=True),
        sa.Column("tags", _long_text(), nullable=True),
        sa.Column("runtime_context", _long_text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=80), nullable=True),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_execution_id"], ["task_executions_v2.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("action_executions_v2", schema=None) as batch_op:
        batch_op.create_index(
            "action_executions_v2_created_at", ["created_at"], unique=False
        )
        batch_op.create_index(
            "action_executions_v2_lease", ["state", "lease_until"], unique=False
        )
        batch_op.create_index(
            "action_executions_v2_project_id", ["project_id"], unique=False
        )
        batch_op.create_index("action_executions_v2_state", ["state"], unique=False)
        batch_op.create_index(
            "action_executions_v2_task_execution_id",
            ["task_execution_id"],
            unique=False,
        )
    op.create_table(
        "with_items_pending",
        sa.Column("task_execution_id", sa.String(length=36), nullable=False),
        sa.Column("item_index", sa.Integer(), autoincrement=False,
                  nullable=False),
        sa.Column("run", _long_text(), nullable=False),
        sa.ForeignKeyConstraint(["task_execution_id"],
                                ["task_executions_v2.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_execution_id", "item_index"),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; children go before parents.
    for table in ('outbox', 'with_items_pending', 'action_executions_v2',
                  'task_executions_v2', 'workflow_executions_v2',
                  'workflow_definitions_v2',
                  'workbooks_v2', 'environments_v2', 'action_definitions_v2'):
        op.drop_table(table)
