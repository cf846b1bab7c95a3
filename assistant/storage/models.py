"""SQLAlchemy 2 models. Every schema change comes with an Alembic revision in migrations/."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from assistant.storage.types import AwareDateTime


class Base(DeclarativeBase):
    pass


class KbDocument(Base):
    """One ingested knowledge-base file: what the index holds for it, so re-indexing is incremental."""

    __tablename__ = "kb_documents"

    path: Mapped[str] = mapped_column(String(512), primary_key=True)  # relative to the KB root
    content_sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(256))
    doc_type: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(Text, default="")
    effective_date: Mapped[str] = mapped_column(String(32), default="")
    version: Mapped[str] = mapped_column(String(64), default="")
    chunk_count: Mapped[int] = mapped_column(Integer)
    embedding_model: Mapped[str] = mapped_column(String(128))
    indexed_at: Mapped[datetime] = mapped_column(AwareDateTime())
