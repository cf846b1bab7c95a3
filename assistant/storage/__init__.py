"""Relational storage: SQLAlchemy models, sessions and Alembic migrations."""

from assistant.storage.db import Database
from assistant.storage.models import (
    AuditHead,
    AuditRecord,
    Base,
    Conversation,
    ConversationMessage,
    KbDocument,
    MessageRating,
    WeChatBinding,
    WeChatInbound,
    WeChatOutbox,
    WeChatSession,
)

__all__ = ["AuditHead", "AuditRecord", "Base", "Conversation", "ConversationMessage", "Database", "KbDocument", "MessageRating",
           "WeChatBinding", "WeChatInbound", "WeChatOutbox", "WeChatSession"]
