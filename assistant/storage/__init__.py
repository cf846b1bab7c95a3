"""Relational storage: SQLAlchemy models, sessions and Alembic migrations."""

from assistant.storage.db import Database
from assistant.storage.models import Base, Conversation, ConversationMessage, KbDocument

__all__ = ["Base", "Conversation", "ConversationMessage", "Database", "KbDocument"]
