"""Conversations, their dialogue state and their messages, in the database.

The state is a small JSON document on the conversation row (Rasa's tracker, cut down to what
the policy needs): it survives restarts and is shared by every worker.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from assistant.compliance import AuditEvent, AuditLog
from assistant.storage import Conversation, ConversationMessage, Database, MessageRating


class PendingSlot(BaseModel):
    intent: str
    slot: str  # security | side | quantity | price
    slots: dict[str, Any]


class PendingAction(BaseModel):
    kind: str  # place_order | cancel_order | reverse_repo
    slots: dict[str, Any] = Field(default_factory=dict)  # the dialogue slots the preview came from
    draft: dict[str, Any] = Field(default_factory=dict)  # OrderDraft fields for place_order
    request: dict[str, Any] | None = None  # the checked OrderRequest
    order_id: str | None = None  # for cancel_order
    summary: str = ""
    readback: str = ""  # the preview as shown, read back when the answer is not an explicit yes
    idempotency_key: str
    created_at: datetime
    expires_at: datetime


class PendingSecurity(BaseModel):
    """A security heard by its sound only (毛台 → 贵州茅台), waiting for the customer to confirm it."""

    intent: str
    slots: dict[str, Any]  # the request's slots, the candidate security in them


class Refusal(BaseModel):
    """The last thing the assistant declined, kept to explain it ("为啥不让我买") and to correct it."""

    intent: str
    reasons: list[str]
    slots: dict[str, Any] = Field(default_factory=dict)  # an order preview that failed its checks


class DialogueState(BaseModel):
    last_intent: str | None = None
    last_slots: dict[str, Any] = Field(default_factory=dict)
    last_security: dict[str, Any] | None = None  # the security last talked about: "它", "买100股它"
    last_permission: str | None = None  # the permission last talked about: "那怎么开"
    last_refusal: Refusal | None = None
    last_order: dict[str, Any] | None = None  # the order last executed here: {"order_id", "at"}
    last_reply: str = ""  # the last reply's text, for "再说一遍"
    last_question: str | None = None  # the last question answered from the knowledge: "创业板" → "那怎么开通"
    pending_slot: PendingSlot | None = None
    pending_action: PendingAction | None = None
    pending_security: PendingSecurity | None = None
    pending_readback: str | None = None  # a spoken request read back to the customer, awaiting "对"
    unanswered_run: int = 0  # turns in a row the assistant could not answer (two hand over to a person)
    refusal_run: int = 0  # turns in a row the input guard refused


class ConversationNotFound(Exception):
    pass


_EVENTS = "conversation_events"  # Session.info key: events waiting for the commit


Publish = Callable[[str, dict], None]


def conversation_channel(conversation_id: str) -> str:
    """The event-bus channel a conversation's pages listen on."""
    return f"conversation:{conversation_id}"


class ConversationStore:
    """The one owner of a conversation's rows: its state, its messages and who holds it (the assistant,
    the queue, an agent, resolved) — Chatwoot's Conversation model. Handoff and the channels change a
    conversation only through it. Its events ("new_messages", a status change) are published once the
    change has committed, from here, and never for a change that rolled back."""

    def __init__(self, db: Database, publish: Publish | None = None) -> None:
        self.db = db
        self.publish: Publish = publish or (lambda channel, event: None)
        event.listen(db.sessions, "after_commit", self._publish_committed)
        event.listen(db.sessions, "after_rollback", lambda s: s.info.pop(_EVENTS, None))
        # SQLite serves one process: a lock per conversation in memory is enough there.
        self._local_locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()

    @contextmanager
    def turn_lock(self, conversation_id: str) -> Iterator[None]:
        """One turn at a time on a conversation, across workers: two tabs or a retried 确认 must not
        both read the same pending order and both act on it. On PostgreSQL a session advisory lock
        keyed by the conversation (no row stays locked while the turn runs, so nothing else waits
        on a slow answer); elsewhere a lock in this process."""
        if self.db.engine.dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(conversation_id.encode()).digest()[:8], "big", signed=True)
            with self.db.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
            return
        with self._guard:
            lock = self._local_locks.get(conversation_id)
            if lock is None:
                lock = threading.Lock()
                self._local_locks[conversation_id] = lock
        with lock:
            yield

    def create(self, *, customer_id: str | None, channel: str, now: datetime) -> Conversation:
        with self.db.session() as s:
            conv = Conversation(id=str(uuid.uuid4()), customer_id=customer_id, channel=channel, status="bot",
                                state=DialogueState().model_dump(mode="json"), created_at=now, updated_at=now)
            s.add(conv)
            return conv

    def get(self, conversation_id: str) -> Conversation:
        with self.db.session() as s:
            conv = s.get(Conversation, conversation_id)
            if conv is None:
                raise ConversationNotFound(conversation_id)
            return conv

    # --- events, after commit ---

    @staticmethod
    def after_commit(s: Session, channel: str, event_: dict) -> None:
        """Queue an event to be published on `channel` when `s` commits (dropped if it rolls back)."""
        s.info.setdefault(_EVENTS, []).append((channel, event_))

    def announce(self, s: Session, conversation_id: str, event_: dict) -> None:
        self.after_commit(s, conversation_channel(conversation_id), event_)

    def _publish_committed(self, s: Session) -> None:
        for channel, event_ in s.info.pop(_EVENTS, []):
            self.publish(channel, event_)

    # --- who holds the conversation (in the caller's unit of work) ---

    def locked(self, s: Session, conversation_id: str) -> Conversation:
        conv = s.get(Conversation, conversation_id, with_for_update=True)
        if conv is None:
            raise ConversationNotFound(conversation_id)
        return conv

    def queue(self, s: Session, conv: Conversation, now: datetime, status_event: dict) -> None:
        conv.status, conv.updated_at = "queued", now
        self.announce(s, conv.id, status_event)

    def assign(self, s: Session, conv: Conversation, agent_id: int, now: datetime, note: str, status_event: dict,
               **payload: Any) -> None:
        """An agent takes (or is transferred) the conversation; the customer is told in `note`."""
        conv.status, conv.agent_id, conv.updated_at = "assigned", agent_id, now
        self.announce(s, conv.id, status_event)  # the status first: a page shows who is here, then what they said
        self.add_message(s, conv.id, "system", note, now, payload=payload)

    def release(self, s: Session, conv: Conversation, status: str, now: datetime, note: str, **payload: Any) -> None:
        """Back to the assistant ("bot") or closed ("resolved"); the customer is told in `note`."""
        conv.status, conv.agent_id, conv.updated_at = status, None, now
        self.announce(s, conv.id, {"type": "status", "status": status})
        self.add_message(s, conv.id, "system", note, now, payload=payload)

    def add_message(self, s: Session, conversation_id: str, role: str, text_: str, now: datetime,
                    **fields: Any) -> ConversationMessage:
        message = ConversationMessage(conversation_id=conversation_id, role=role, text=text_, created_at=now, **fields)
        s.add(message)
        s.flush()
        self.announce(s, conversation_id, {"type": "new_messages"})
        return message

    def transcript(self, s: Session, conversation_id: str) -> list[ConversationMessage]:
        return list(s.scalars(select(ConversationMessage).where(ConversationMessage.conversation_id == conversation_id)
                              .order_by(ConversationMessage.id)).all())

    def save_turn(self, conversation_id: str, state: DialogueState, messages: list[dict], now: datetime,
                  audit: tuple[AuditLog, list[AuditEvent]] | None = None, reopen: bool = False) -> None:
        """The new state, the turn's messages and its audit records in one transaction: all or nothing.
        `reopen`: a resolved conversation the customer writes in again is the assistant's once more."""
        with self.db.session() as s:
            conv = s.get(Conversation, conversation_id)
            if conv is None:
                raise ConversationNotFound(conversation_id)
            if reopen and conv.status == "resolved":
                conv.status = "bot"
            conv.state = state.model_dump(mode="json")
            conv.updated_at = now
            for m in messages:
                s.add(ConversationMessage(conversation_id=conversation_id, created_at=now, **m))
            if messages:
                self.announce(s, conversation_id, {"type": "new_messages"})
            if audit is not None:
                log, events = audit
                log.append_in(s, events, now)

    def rate(self, conversation_id: str, message_id: int, *, customer_id: str | None, rating: str, reason: str,
             now: datetime, audit: tuple[AuditLog, list[AuditEvent]]) -> bool:
        """A rating of one of the conversation's replies (a later one replaces it). False: no such reply."""
        with self.db.session() as s:
            message = s.get(ConversationMessage, message_id)
            if message is None or message.conversation_id != conversation_id or message.role not in ("assistant", "agent"):
                return False
            row = s.get(MessageRating, message_id) or MessageRating(message_id=message_id)
            row.conversation_id, row.customer_id, row.rating, row.reason, row.created_at = (
                conversation_id, customer_id, rating, reason, now)
            s.add(row)
            log, events = audit
            log.append_in(s, events, now)
            return True

    def recent(self, conversation_id: str, n: int) -> list[ConversationMessage]:
        """The last n messages, oldest first."""
        with self.db.session() as s:
            rows = s.scalars(select(ConversationMessage).where(ConversationMessage.conversation_id == conversation_id)
                             .order_by(ConversationMessage.id.desc()).limit(n)).all()
        return list(reversed(rows))

    def messages(self, conversation_id: str, *, after_id: int = 0, limit: int = 50) -> list[ConversationMessage]:
        with self.db.session() as s:
            return list(s.scalars(
                select(ConversationMessage).where(ConversationMessage.conversation_id == conversation_id,
                                                  ConversationMessage.id > after_id)
                .order_by(ConversationMessage.id).limit(limit)
            ).all())
