"""knowledge-base document registry

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_documents",
        sa.Column("path", sa.String(512), primary_key=True),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("doc_type", sa.String(32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False, server_default=""),
        sa.Column("effective_date", sa.String(32), nullable=False, server_default=""),
        sa.Column("version", sa.String(64), nullable=False, server_default=""),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("embedding_model", sa.String(128), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_kb_documents_doc_type", "kb_documents", ["doc_type"])


def downgrade() -> None:
    op.drop_index("ix_kb_documents_doc_type", table_name="kb_documents")
    op.drop_table("kb_documents")
