"""resource members, code sources, dynamic actions, service state

Revision ID: 003
Revises: 002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "003"
down_revision = "002"
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
        "resource_members_v2",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.String(length=80), nullable=False),
        sa.Column("resource_type", sa.String(length=50), nullable=False),
        sa.Column("project_id", sa.String(length=80), nullable=False),
        sa.Column("member_id", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resource_id", "resource_type", "member_id"),
    )
    with op.batch_alter_table("resource_members_v2") as batch_op:
        batch_op.create_index("resource_members_v2_member_id",
                              ["member_id"], unique=False)

    op.create_table(
        "code_sources",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("content", _long_text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tags", _long_text(), nullable=True),
        *_secure_columns(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "namespace", "project_id"),
    )
    with op.batch_alter_table("code_sources") as batch_op:
        batch_op.create_index("code_sources_project_id", ["project_id"],
                              unique=False)
        batch_op.create_index("code_sources_scope", ["scope"],
                              unique=False)

    op.create_table(
        "dynamic_action_definitions",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("class_name", sa.String(length=255), nullable=False),
        sa.Column("code_source_name", sa.String(length=255),
                  nullable=False),
        sa.Column("code_source_id", sa.String(length=36), nullable=False),
        *_secure_columns(),
        sa.ForeignKeyConstraint(["code_source_id"], ["code_sources.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "namespace", "project_id"),
    )
    with op.batch_alter_table("dynamic_action_definitions") as batch_op:
        batch_op.create_index("dynamic_action_definitions_project_id",
                              ["project_id"], unique=False)
        batch_op.create_index("dynamic_action_definitions_scope",
                              ["scope"], unique=False)
        batch_op.create_index("dynamic_action_definitions_code_source_id",
                              ["code_source_id"], unique=False)

    op.create_table(
        "mistral_metrics",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
