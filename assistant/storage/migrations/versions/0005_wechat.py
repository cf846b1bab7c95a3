"""WeChat mini-program channel: bindings, sessions, inbound pushes (dedupe, turn queue), outbox

Revision ID: 0005_wechat
Revises: 0004
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_wechat"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_bindings",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("openid"),
    )
    op.create_index("ix_wechat_bindings_customer_id", "wechat_bindings", ["customer_id"])
    op.create_table(
        "wechat_sessions",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("openid"),
    )
    op.create_index("ix_wechat_sessions_conversation_id", "wechat_sessions", ["conversation_id"])
    op.create_table(
        "wechat_inbound",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("msg_key", sa.String(length=160), nullable=False),
        sa.Column("nonce_key", sa.String(length=160), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("msg_type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("msg_key", name="uq_wechat_inbound_msg_key"),
        sa.UniqueConstraint("nonce_key", name="uq_wechat_inbound_nonce_key"),
    )
    op.create_index("ix_wechat_inbound_openid", "wechat_inbound", ["openid"])
    op.create_index("ix_wechat_inbound_status", "wechat_inbound", ["status"])
    op.create_index("ix_wechat_inbound_received_at", "wechat_inbound", ["received_at"])
    op.create_table(
        "wechat_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("msgtype", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_wechat_outbox_openid", "wechat_outbox", ["openid"])
    op.create_index("ix_wechat_outbox_status", "wechat_outbox", ["status"])
    op.create_index("ix_wechat_outbox_next_attempt_at", "wechat_outbox", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_table("wechat_outbox")
    op.drop_table("wechat_inbound")
    op.drop_table("wechat_sessions")
    op.drop_table("wechat_bindings")
