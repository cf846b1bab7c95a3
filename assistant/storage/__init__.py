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
    LoginFailure,
    MessageRating,
    WeChatBinding,
    WeChatInbound,
    WeChatOutbox,
    WeChatSession,
)

__all__ = ["Agent", "AgentNote", "AuditHead", "AuditRecord", "Base", "Conversation", "ConversationMessage", "Database",
           "HandoffTicket", "KbDocument", "LoginFailure", "MessageRating", "WeChatBinding", "WeChatInbound", "WeChatOutbox", "WeChatSession"]
