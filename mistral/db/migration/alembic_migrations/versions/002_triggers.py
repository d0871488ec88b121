"""cron and event triggers

Revision ID: 002
Revises: 001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "002"
down_revision = "001"
branch_labels = None
depends_on = None


# Spelled out rather than imported from the models (see 001).
def _long_text() -> sa.types.TypeEngine:
    return sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _datetime() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                      "mariadb")


def _secure_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=80), nullable=True),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "cron_triggers_v2",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("pattern", sa.String(length=100), nullable=True),
        sa.Column("first_execution_time", _datetime(), nullable=True),
        sa.Column("next_execution_time", _datetime(), nullable=False),
        sa.Column("workflow_name", sa.String(length=255), nullable=True),
        sa.Column("workflow_id", sa.String(length=36), nullable=True),
        sa.Column("workflow_input", _long_text(), nullable=True),
        sa.Column("workflow_input_hash", sa.String(length=64),
                  nullable=True),
        sa.Column("workflow_params", _long_text(), nullable=True),
        sa.Column("workflow_params_hash", sa.String(length=64),
                  nullable=True),
        sa.Column("remaining_executions", sa.Integer(), nullable=True),
        sa.Column("trust_id", sa.String(length=80), nullable=True),
        *_secure_columns(),
        sa.ForeignKeyConstraint(["workflow_id"],
                                ["workflow_definitions_v2.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "project_id"),
        sa.UniqueConstraint(
            "workflow_input_hash", "workflow_name", "pattern", "project_id",
            "workflow_params_hash", "remaining_executions",
            "first_execution_time"),
    )
    with op.batch_alter_table("cron_triggers_v2", schema=None) as batch_op:
        batch_op.create_index("cron_triggers_v2_next_execution_time",
                              ["next_execution_time"], unique=False)
        batch_op.create_index("cron_triggers_v2_project_id",
                              ["project_id"], unique=False)
        batch_op.create_index("cron_triggers_v2_scope", ["scope"],
                              unique=False)
        batch_op.create_index("cron_triggers_v2_workflow_name",
                              ["workflow_name"], unique=False)

    op.create_table(
        "event_triggers_v2",
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("workflow_id", sa.String(length=36), nullable=False),
        sa.Column("workflow_params", _long_text(), nullable=True),
        sa.Column("workflow_input", _long_text(), nullable=True),
        sa.Column("exchange", sa.String(length=80), nullable=False),
        sa.Column("topic", sa.String(length=80), nullable=False),
        sa.Column("event", sa.String(length=80), nullable=False),
        sa.Column("trust_id", sa.String(length=80), nullable=True),
        *_secure_columns(),
        sa.ForeignKeyConstraint(["workflow_id"],
                                ["workflow_definitions_v2.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exchange", "topic", "event", "workflow_id",
                            "project_id"),
    )
    with op.batch_alter_table("event_triggers_v2", schema=None) as batch_op:
        batch_op.create_index("event_triggers_v2_project_id",
                              ["project_id"], unique=False)
        batch_op.create_index("event_triggers_v2_workflow_id",
                              ["workflow_id"], unique=False)
