"""customers' ratings of replies

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_ratings",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=True),
        sa.Column("rating", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["conversation_messages.id"]),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_message_ratings_conversation_id", "message_ratings", ["conversation_id"])
    op.create_index("ix_message_ratings_created_at", "message_ratings", ["created_at"])


def downgrade() -> None:
    op.drop_table("message_ratings")
