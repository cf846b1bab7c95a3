"""The audit trail: every message, guard decision, tool call, confirmation, order, handoff and
agent action, append-only and hash-chained.

Each record's hash is SHA-256 over the previous record's hash and the record's own canonical
JSON, so editing or deleting any record breaks every link after it; the head row (the last id
and hash) catches a deleted tail. Appends take the head row's lock first (UPDATE … RETURNING),
which serialises writers on PostgreSQL and on SQLite alike, so two workers never fork the chain.
Text is masked before it arrives here; this module masks once more as a last line of defence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assistant.compliance.pii import mask_pii
from assistant.storage import AuditHead, AuditRecord, Database

GENESIS = "0" * 64
EVENTS = ("message_in", "message_out", "guard", "tool_call", "confirmation", "order", "handoff", "agent_action",
          "audit_read", "rating", "wechat_binding")


@dataclass
class AuditEvent:
    event: str
    actor: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    conversation_id: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    problems: list[str]


def _canonical(record_id: int, created_at: datetime, e: AuditEvent | AuditRecord) -> str:
    # UTC, as stored: SQLite gives times back in another zone than they went in, PostgreSQL too.
    when = created_at.astimezone(timezone.utc).isoformat(timespec="microseconds")
    body = {"id": record_id, "created_at": when, "actor": e.actor,
            "event": e.event, "conversation_id": e.conversation_id, "customer_id": e.customer_id, "text": e.text,
            "data": e.data}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _scrub(value: Any) -> Any:
    """Masks personal data anywhere in a JSON-like value."""
    if isinstance(value, str):
        return mask_pii(value).text
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append_in(self, session: Session, events: list[AuditEvent], now: datetime) -> None:
        """Adds events in the caller's transaction: they land with the change they record, or not at all."""
        if not events:
            return
        unknown = {e.event for e in events} - set(EVENTS)
        if unknown:
            raise ValueError(f"unknown audit events: {sorted(unknown)}")
        # Taking the head row first is the lock; reading it afterwards sees the newest committed head.
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_id=AuditHead.last_id))
        head = session.execute(select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)).scalar_one()
        last_id, last_hash = head.last_id, head.last_hash
        created_at = now
        for e in events:
            e = AuditEvent(event=e.event, actor=e.actor, text=mask_pii(e.text).text,
                           data=json.loads(json.dumps(_scrub(e.data), ensure_ascii=False, default=str)),
                           conversation_id=e.conversation_id, customer_id=e.customer_id)
            last_id += 1
            digest = chain_hash(last_hash, _canonical(last_id, created_at, e))
            session.add(AuditRecord(id=last_id, created_at=created_at, actor=e.actor, event=e.event,
                                    conversation_id=e.conversation_id, customer_id=e.customer_id, text=e.text,
                                    data=e.data, prev_hash=last_hash, hash=digest))
            last_hash = digest
        session.flush()
        head.last_id, head.last_hash = last_id, last_hash

    def append(self, events: list[AuditEvent], now: datetime) -> None:
        with self.db.session() as s:
            self.append_in(s, events, now)

    def verify(self, batch: int = 1000) -> VerifyResult:
        """Walks the whole chain: recomputes every hash, checks every link and the head."""
        problems: list[str] = []
        prev_id, prev_hash, count = 0, GENESIS, 0
        with self.db.session() as s:
            for r in self._scan(s, batch):
                count += 1
                if r.id != prev_id + 1:
                    problems.append(f"记录 {prev_id + 1}–{r.id - 1} 缺失（已被删除）")
                if r.prev_hash != prev_hash:
                    problems.append(f"记录 {r.id} 的前序哈希与上一条记录不符")
                if chain_hash(r.prev_hash, _canonical(r.id, r.created_at, r)) != r.hash:
                    problems.append(f"记录 {r.id} 的内容与其哈希不符（已被修改）")
                prev_id, prev_hash = r.id, r.hash
            head = s.get(AuditHead, 1)
            if head is not None and (head.last_id, head.last_hash) != (prev_id, prev_hash):
                problems.append(f"链尾应为记录 {head.last_id}，实际为 {prev_id}（末尾记录被删除或链头被改动）")
        return VerifyResult(ok=not problems, records=count, problems=problems)

    @staticmethod
    def _scan(s: Session, batch: int) -> Iterator[AuditRecord]:
        after = 0
        while True:
            rows = list(s.scalars(select(AuditRecord).where(AuditRecord.id > after).order_by(AuditRecord.id).limit(batch)))
            if not rows:
                return
            yield from rows
            after = rows[-1].id
            s.expunge_all()

    def records(self, *, start: datetime | None = None, end: datetime | None = None,
                conversation_id: str | None = None, after_id: int = 0, limit: int | None = None) -> Iterator[dict]:
        """Records in order, as plain dicts (for JSON Lines export and the compliance API)."""
        with self.db.session() as s:
            q = select(AuditRecord).where(AuditRecord.id > after_id).order_by(AuditRecord.id)
            if start is not None:
                q = q.where(AuditRecord.created_at >= start)
            if end is not None:
                q = q.where(AuditRecord.created_at < end)
            if conversation_id is not None:
                q = q.where(AuditRecord.conversation_id == conversation_id)
            if limit is not None:
                q = q.limit(limit)
            for r in s.scalars(q.execution_options(yield_per=1000)):  # an export may be long: stream it
                yield {"id": r.id, "created_at": r.created_at.isoformat(), "actor": r.actor, "event": r.event,
                       "conversation_id": r.conversation_id, "customer_id": r.customer_id, "text": r.text,
                       "data": r.data, "prev_hash": r.prev_hash, "hash": r.hash}

