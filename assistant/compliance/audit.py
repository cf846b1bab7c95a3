"""The audit trail: every message, guard decision, tool call, confirmation, order, handoff and
agent action, append-only and hash-chained.

Each record's hash is an HMAC-SHA256, under a key kept outside the database, over the previous
record's hash and the record's own canonical JSON: editing or deleting any record breaks every
link after it, and someone who can write the database but does not hold the key cannot compute
a chain that verifies (a plain SHA-256 chain they could simply recompute). The head row (the
last id and hash) catches a deleted tail. A signed copy of the head, exported on demand and on a
schedule to storage the database's writers cannot change, anchors the chain: a later check
against it detects a rewrite even by someone holding the key.

Key rotation: the key that wrote a record verifies it. Set the new key, move the old one to the
previous keys, restart; records written before keep verifying under the old key, new ones are
written under the new one. Records written before the chain had a key verify as plain SHA-256
only up to the id the operator pins (audit_unkeyed_through).

Appends take the head row's lock first (UPDATE … RETURNING), which serialises writers on
PostgreSQL and on SQLite alike, so two workers never fork the chain. Text is masked before it
arrives here; this module masks once more as a last line of defence.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assistant.compliance.pii import mask_pii
from assistant.settings import Settings, local_secret
from assistant.storage import AuditHead, AuditRecord, Database

log = logging.getLogger(__name__)

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


def chain_hash(prev_hash: str, canonical: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 under key; plain SHA-256 (records from before the chain had a key) without one."""
    data = (prev_hash + canonical).encode("utf-8")
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short public name for a key (which key signed a head), revealing nothing of it."""
    return hmac.new(key, b"assistant-audit-key-id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKeys:
    current: bytes
    previous: tuple[bytes, ...] = ()
    unkeyed_through: int = 0  # records up to this id were written unkeyed (plain SHA-256)

    @property
    def all(self) -> tuple[bytes, ...]:
        return (self.current, *self.previous)


def audit_keys(settings: Settings) -> AuditKeys:
    """The chain's keys from the settings; without one, a key generated once under var/ (a
    warning in production, where the key must come from the environment)."""
    if settings.audit_hmac_key is not None:
        current = settings.audit_hmac_key.get_secret_value().encode("utf-8")
    else:
        if settings.environment == "production":
            log.warning("ASSISTANT_AUDIT_HMAC_KEY is not set: the audit chain uses a key generated under var/")
        current = local_secret(settings.var_dir / "audit" / "hmac-key").encode("utf-8")
    previous = tuple(k.get_secret_value().encode("utf-8") for k in settings.audit_hmac_previous_keys)
    return AuditKeys(current, previous, settings.audit_unkeyed_through)


def _head_signature(key: bytes, head: dict) -> str:
    body = json.dumps({k: head[k] for k in ("last_id", "last_hash", "exported_at", "key_id")},
                      sort_keys=True, separators=(",", ":"))
    signing_key = hmac.new(key, b"assistant-audit-head", hashlib.sha256).digest()  # not the chain's own key
    return hmac.new(signing_key, body.encode("utf-8"), hashlib.sha256).hexdigest()


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
    def __init__(self, db: Database, keys: AuditKeys) -> None:
        self.db = db
        self.keys = keys

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
            digest = chain_hash(last_hash, _canonical(last_id, created_at, e), self.keys.current)
            session.add(AuditRecord(id=last_id, created_at=created_at, actor=e.actor, event=e.event,
                                    conversation_id=e.conversation_id, customer_id=e.customer_id, text=e.text,
                                    data=e.data, prev_hash=last_hash, hash=digest))
            last_hash = digest
        session.flush()
        head.last_id, head.last_hash = last_id, last_hash

    def append(self, events: list[AuditEvent], now: datetime) -> None:
        with self.db.session() as s:
            self.append_in(s, events, now)

    def _recomputes(self, r: AuditRecord) -> bool:
        canonical = _canonical(r.id, r.created_at, r)
        keys: tuple[bytes | None, ...] = self.keys.all + ((None,) if r.id <= self.keys.unkeyed_through else ())
        return any(hmac.compare_digest(chain_hash(r.prev_hash, canonical, key), r.hash) for key in keys)

    def export_head(self, now: datetime) -> dict:
        """The chain's head, signed: keep it where the database's writers cannot change it, and
        pass it to verify later (a rewrite of the chain no longer matches it)."""
        with self.db.session() as s:
            head = s.get(AuditHead, 1)
            last_id, last_hash = (head.last_id, head.last_hash) if head is not None else (0, GENESIS)
        out = {"last_id": last_id, "last_hash": last_hash,
               "exported_at": now.astimezone(timezone.utc).isoformat(timespec="seconds"),
               "key_id": key_id(self.keys.current)}
        out["signature"] = _head_signature(self.keys.current, out)
        return out

    def _anchor_problem(self, head: dict) -> str | None:
        try:
            key = next(k for k in self.keys.all if key_id(k) == head.get("key_id"))
            signed = hmac.compare_digest(_head_signature(key, head), str(head.get("signature", "")))
        except (StopIteration, KeyError, TypeError):
            signed = False
        if not signed:
            return f"导出的链头（导出于 {head.get('exported_at', '?')}）签名无效：不是用本系统的密钥签发的"
        return None

    def verify(self, batch: int = 1000, heads: list[dict] | tuple[dict, ...] = ()) -> VerifyResult:
        """Walks the whole chain: recomputes every keyed hash, checks every link and the head, and
        that the chain still passes through every exported head given."""
        problems: list[str] = []
        anchors: dict[int, list[dict]] = {}
        for head in heads:
            if (problem := self._anchor_problem(head)) is not None:
                problems.append(problem)
            elif head["last_id"] > 0:
                anchors.setdefault(int(head["last_id"]), []).append(head)
        prev_id, prev_hash, count = 0, GENESIS, 0
        with self.db.session() as s:
            for r in self._scan(s, batch):
                count += 1
                if r.id != prev_id + 1:
                    problems.append(f"记录 {prev_id + 1}–{r.id - 1} 缺失（已被删除）")
                if r.prev_hash != prev_hash:
                    problems.append(f"记录 {r.id} 的前序哈希与上一条记录不符")
                if not self._recomputes(r):
                    problems.append(f"记录 {r.id} 的内容与其哈希不符（已被修改，或不是用本系统的密钥写入的）")
                for head in anchors.pop(r.id, []):
                    if not hmac.compare_digest(str(head["last_hash"]), r.hash):
                        problems.append(f"记录 {r.id} 与 {head['exported_at']} 导出的链头不符（审计链已被改写）")
                prev_id, prev_hash = r.id, r.hash
            for missing_id, gone in anchors.items():
                problems.append(f"{gone[0]['exported_at']} 导出的链头指向记录 {missing_id}，该记录已不存在（末尾记录被删除）")
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

