"""Relational storage: SQLAlchemy models, sessions and Alembic migrations."""

from assistant.storage.db import Database
from assistant.storage.models import (
    Agent,
    AgentNote,
    AuditHead,
    AuditRecord,
    Base,
    Conversation,
    ConversationMessage,
    HandoffTicket,
    KbDocument,
    MessageRating,
)

__all__ = ["Agent", "AgentNote", "HandoffTicket", "AuditHead", "AuditRecord", "Base", "Conversation", "ConversationMessage", "Database", "KbDocument", "MessageRating"]
