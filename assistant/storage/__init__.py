"""Relational storage: SQLAlchemy models, sessions and Alembic migrations."""

from assistant.storage.db import Database
from assistant.storage.models import Base, KbDocument

__all__ = ["Base", "Database", "KbDocument"]
