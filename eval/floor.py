"""A day's traffic on the service floor: a thousand-odd handoff tickets written straight into the
database, for the console's browser tests, its screenshots and the ticket-list benchmark.

The mix is what the issue saw and worse: most tickets are ordinary (customer requests, questions
the assistant could not answer) and were opened hours or days ago; a few suspected-fraud tickets
are urgent but the newest, so any list sorted by ticket number or age puts them at the bottom.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from assistant.storage import Conversation, ConversationMessage, Database, HandoffTicket

REASONS = [("customer_request", "normal", 50), ("unanswered", "normal", 25), ("complaint", "high", 10),
           ("negative_sentiment", "high", 8), ("licensed_advice", "normal", 5), ("guard_review", "normal", 2)]
CHANNELS = [("app", 60), ("web", 20), ("wechat", 20)]
QUESTIONS = ["我要转人工", "委托一直不成交是怎么回事", "为什么我的资金不能转出", "科创板怎么开通", "你们的服务太差了，我要投诉",
             "手续费怎么这么高", "我想找投资顾问聊聊配置", "账户被冻结了怎么办"]


@dataclass
class Floor:
    total: int
    urgent_ids: list[int]  # the suspected-fraud tickets waiting live: what must be seen first
    queued: int
    callbacks: int
    online_callback_id: int  # a call-back whose customer wrote a minute ago


def seed_floor(db: Database, now: datetime, *, tickets: int = 1000, seed: int = 24) -> Floor:
    rng = random.Random(seed)
    reasons = [r for r, _, w in REASONS for _ in range(w)]
    priority_of = {r: p for r, p, _ in REASONS}
    channels = [c for c, w in CHANNELS for _ in range(w)]
    rows: list[tuple[Conversation, HandoffTicket, list[ConversationMessage]]] = []

    def add(status: str, reason: str, priority: str, created: datetime, *, customer_wrote: datetime | None = None,
            closed: datetime | None = None, channel: str | None = None) -> None:
        cid = str(uuid.UUID(int=rng.getrandbits(128)))
        customer = f"{rng.randint(100001, 199999)}"
        conv = Conversation(id=cid, customer_id=customer, channel=channel or rng.choice(channels),
                            status={"queued": "queued", "assigned": "assigned"}.get(status, "bot"),
                            state={}, created_at=created - timedelta(minutes=2), updated_at=created)
        question = rng.choice(QUESTIONS) if reason != "fraud_victim" else "有人自称客服让我把钱转到安全账户，我已经转了两万"
        messages = [ConversationMessage(conversation_id=cid, role="customer", text=question, intent="human_agent",
                                        created_at=customer_wrote or created, payload={})]
        ticket = HandoffTicket(conversation_id=cid, customer_id=customer, kind="live" if status != "callback" else "callback",
                               status=status, priority=priority, reason=reason, intents=["human_agent"],
                               profile={"signed_in": True, "customer_id": customer}, summary=f"客户：{question}",
                               summary_mode="extractive", created_at=created, csat_comment="",
                               assigned_at=created + timedelta(minutes=3) if status in ("assigned", "resolved") else None,
                               closed_at=closed)
        rows.append((conv, ticket, messages))

    urgent_n, callback_online = 2, 1
    ordinary = tickets - urgent_n - callback_online
    for i in range(ordinary):
        reason = rng.choice(reasons)
        roll = rng.random()
        if roll < 0.55:
            status, created = "callback", now - timedelta(minutes=rng.randint(30, 60 * 24 * 4))
        elif roll < 0.85:
            status, created = "queued", now - timedelta(minutes=rng.randint(1, 60 * 5))
        elif roll < 0.93:
            status, created = "assigned", now - timedelta(minutes=rng.randint(5, 90))
        else:
            status, created = "resolved", now - timedelta(minutes=rng.randint(40, 300))
        closed = created + timedelta(minutes=rng.randint(10, 30)) if status == "resolved" else None
        if closed is not None and closed > now:
            closed = now
        add(status, reason, priority_of[reason], created, closed=closed)
    # The newest two: suspected fraud, waiting live for a person. Sorted by number or by age they come last.
    for minutes in (3, 1):
        add("queued", "fraud_victim", "urgent", now - timedelta(minutes=minutes), channel="app")
    # Taken as a call-back overnight, but the customer came back to the chat a minute ago.
    add("callback", "customer_request", "normal", now - timedelta(hours=9),
        customer_wrote=now - timedelta(minutes=1), channel="web")

    with db.session() as s:
        for conv, _, _ in rows:
            s.add(conv)
        s.flush()
        for conv, ticket, messages in rows:
            s.add(ticket)
            s.add_all(messages)
        s.flush()
        ids = [t.id for _, t, _ in rows]
        tickets_by_status = [t.status for _, t, _ in rows]
    return Floor(total=len(rows), urgent_ids=ids[-3:-1], queued=tickets_by_status.count("queued"),
                 callbacks=tickets_by_status.count("callback"), online_callback_id=ids[-1])
