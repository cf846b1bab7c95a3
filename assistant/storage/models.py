"""SQLAlchemy 2 models. Every schema change comes with an Alembic revision in migrations/."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
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


class Conversation(Base):
    """A conversation and its dialogue state: what the assistant remembers between turns."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(16), default="app")
    status: Mapped[str] = mapped_column(String(16), default="bot")  # bot | queued | assigned | resolved
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the owner while assigned (migration 0005)
    state: Mapped[dict] = mapped_column(JSON, default=dict)  # last intent/slots, pending slot, pending action
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())


class ConversationMessage(Base):
    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # customer | assistant | agent | system
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(48), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # citations, pending confirmation, handoff, data
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())


class AuditRecord(Base):
    """One entry of the append-only audit trail; `hash` covers the entry and the previous hash.

    The application only ever inserts: database triggers (migration 0003) refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 1, 2, 3 … without gaps
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64))  # customer:100001 | assistant | agent:… | system
    event: Mapped[str] = mapped_column(String(32), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    customer_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    text: Mapped[str] = mapped_column(Text, default="")  # always masked
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's newest entry. Its row lock serialises appends across workers."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class MessageRating(Base):
    """A customer's thumbs up or down on one reply, with an optional reason, kept for review."""

    __tablename__ = "message_ratings"

    message_id: Mapped[int] = mapped_column(ForeignKey("conversation_messages.id"), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(36), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rating: Mapped[str] = mapped_column(String(8))  # up | down
    reason: Mapped[str] = mapped_column(Text, default="")  # masked
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)


class WeChatBinding(Base):
    """A WeChat mini-program user (openid) linked to a customer through the app's sign-in."""

    __tablename__ = "wechat_bindings"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(32), index=True)
    bound_at: Mapped[datetime] = mapped_column(AwareDateTime())


class WeChatSession(Base):
    """An openid's current conversation and its last message (which opens WeChat's 48-hour window)."""

    __tablename__ = "wechat_sessions"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    last_message_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())


class WeChatInbound(Base):
    """A push from WeChat, accepted once: the unique keys make a retried or replayed push a no-op.
    It is also the work queue of turns to run; the text is cleared once the turn has run."""

    __tablename__ = "wechat_inbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    msg_key: Mapped[str] = mapped_column(String(160), unique=True)  # MsgId, or openid+CreateTime+Event
    nonce_key: Mapped[str] = mapped_column(String(160), unique=True)  # timestamp:nonce of the signed request
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | done
    lease_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)
    processed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)


class WeChatOutbox(Base):
    """A message to send through the customer-service API, retried with backoff until sent,
    refused for good, or past its deadline (WeChat's window for answering)."""

    __tablename__ = "wechat_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    msgtype: Mapped[str] = mapped_column(String(16), default="text")
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | sent | failed | expired
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)
    lease_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    deadline: Mapped[datetime] = mapped_column(AwareDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)


class Agent(Base):
    """A member of staff who signs in to the console: agent, supervisor or compliance."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # agent | supervisor | compliance
    password_hash: Mapped[str] = mapped_column(String(256))  # argon2id
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)  # console heartbeat
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())


class HandoffTicket(Base):
    """One escalation of a conversation to a person: live (queued → assigned → resolved or handed
    back) or a call-back taken outside service hours or with no agent online."""

    __tablename__ = "handoff_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # live | callback
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued | assigned | resolved | returned | callback
    priority: Mapped[str] = mapped_column(String(8))  # normal | high | urgent
    reason: Mapped[str] = mapped_column(String(32))
    intents: Mapped[list] = mapped_column(JSON, default=list)
    profile: Mapped[dict] = mapped_column(JSON, default=dict)  # masked
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_mode: Mapped[str] = mapped_column(String(16), default="extractive")  # extractive | llm
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    csat_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    csat_comment: Mapped[str] = mapped_column(Text, default="")  # masked
    csat_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)


class LoginFailure(Base):
    """Failed sign-ins under a name that is no active account: counted and locked exactly like an
    account's own (Agent.failed_logins), so the answers never tell which usernames exist."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)


class AgentNote(Base):
    """An agent's internal note on a ticket: never shown to the customer."""

    __tablename__ = "agent_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("handoff_tickets.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)  # masked
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
