"""one history again: the WeChat channel (0005_wechat) and human handoff (0005_handoff) were
built side by side on 0004; neither touches the other's tables

Revision ID: 0006
Revises: 0005_wechat, 0005_handoff
Create Date: 2026-11-26
"""

revision = "0006"
down_revision = ("0005_wechat", "0005_handoff")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
