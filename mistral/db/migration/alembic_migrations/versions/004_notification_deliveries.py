"""notification deliveries: the notifier's durable, ordered queue

Revision ID: 004
Revises: 003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "004"
down_revision = "003"
branch_labels = None
depends_on = None


# Spelled out rather than imported from the models (see 001).
def _long_text() -> sa.types.TypeEngine:
    return sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _datetime() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                      "mariadb")


def upgrade() -> None:
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("lane", sa.String(length=80), nullable=False),
        sa.Column("execution_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("publisher", _long_text(), nullable=False),
        sa.Column("ctx", _long_text(), nullable=True),
        sa.Column("data", _long_text(), nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("timestamp", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", _datetime(), nullable=True),
        sa.Column("last_error", sa.String(length=1024), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("not_before", _datetime(), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification_deliveries") as batch_op:
        batch_op.create_index("notification_deliveries_lane",
                              ["lane", "id"], unique=False)
        batch_op.create_index("notification_deliveries_not_before",
                              ["not_before"], unique=False)


def downgrade() -> None:
    op.drop_table("notification_deliveries")
