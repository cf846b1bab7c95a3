"""The agent console's ticket list: one group at a time, filtered, ordered and paged in the database.

A service floor with a thousand open tickets cannot work from one long column sorted by ticket
number (the old `queue()` payload, still pushed on the WebSocket for the code that reads it). This
module answers "which tickets of this group match these filters, most urgent first, page N", with
the count of every group under the same filters, so that the console can show the few tickets an
agent should take next without sending the rest. It only reads; every change of a ticket stays in
HandoffService.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import and_, case, func, select

from assistant.handoff.agents import AgentInfo
from assistant.handoff.service import PRIORITY_RANK, SHANGHAI, HandoffService
from assistant.storage import Conversation, ConversationMessage, HandoffTicket

GROUPS = ("live", "mine", "callbacks", "assigned", "resolved_today")
CLOSED = ("resolved", "returned")


@dataclass(frozen=True)
class TicketFilter:
    """What the console asked for; every field already validated by the API."""

    group: str = "live"
    reason: str | None = None
    priority: str | None = None
    channel: str | None = None
    customer: str | None = None  # a customer number, or its first digits
    page: int = 1
    page_size: int = 50


def _start_of_day(now: datetime) -> datetime:
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date(), time(0, 0), tzinfo=SHANGHAI)


def _group_condition(group: str, agent: AgentInfo, today: datetime):
    if group == "live":
        return HandoffTicket.status == "queued"
    if group == "mine":
        return and_(HandoffTicket.status == "assigned", HandoffTicket.agent_id == agent.id)
    if group == "callbacks":
        return HandoffTicket.status == "callback"
    if group == "assigned":
        return HandoffTicket.status == "assigned"
    return and_(HandoffTicket.status.in_(CLOSED), HandoffTicket.closed_at >= today)


def _filters(f: TicketFilter) -> list:
    conditions = []
    if f.reason:
        conditions.append(HandoffTicket.reason == f.reason)
    if f.priority:
        conditions.append(HandoffTicket.priority == f.priority)
    if f.channel:
        conditions.append(Conversation.channel == f.channel)
    if f.customer:
        conditions.append(HandoffTicket.customer_id.startswith(f.customer, autoescape=True))
    return conditions


# Urgent first, then by priority; within a priority the one waiting longest first.
_RANK = case(PRIORITY_RANK, value=HandoffTicket.priority, else_=9)


def ticket_page(service: HandoffService, agent: AgentInfo, f: TicketFilter) -> dict:
    """One page of a group, the counts of every group, and the reasons seen (for the filter list)."""
    now = service.clock()
    today = _start_of_day(now)
    online_after = now.timestamp() - service.settings.handoff_customer_online_s
    base = select(HandoffTicket).join(Conversation, Conversation.id == HandoffTicket.conversation_id)
    conditions = _filters(f)
    with service.db.session() as s:
        counts = {}
        for group in GROUPS:
            counts[group] = s.scalar(select(func.count()).select_from(HandoffTicket)
                                     .join(Conversation, Conversation.id == HandoffTicket.conversation_id)
                                     .where(_group_condition(group, agent, today), *conditions)) or 0
        total = counts[f.group]
        pages = max(1, math.ceil(total / f.page_size))
        page = min(f.page, pages)
        order = ((HandoffTicket.closed_at.desc(), HandoffTicket.id.desc()) if f.group == "resolved_today"
                 else (_RANK, HandoffTicket.created_at, HandoffTicket.id))
        rows = s.execute(base.add_columns(Conversation.channel)
                         .where(_group_condition(f.group, agent, today), *conditions)
                         .order_by(*order).offset((page - 1) * f.page_size).limit(f.page_size)).all()
        tickets = [t for t, _ in rows]
        channels = {t.id: channel for t, channel in rows}
        last_seen = _customer_last_seen(s, [t.conversation_id for t in tickets])
        positions = _queue_positions(s) if f.group == "live" else {}
        names = service._agent_names(s)
        reasons = sorted(r for (r,) in s.execute(select(HandoffTicket.reason).distinct()).all())
        out = []
        for t in tickets:
            item = service._brief(t, now, names, positions.get(t.id))
            seen = last_seen.get(t.conversation_id)
            item.update({
                "channel": channels[t.id],
                "closed_at": t.closed_at.isoformat() if t.closed_at else None,
                "customer_last_seen_at": seen.isoformat() if seen else None,
                # A call-back whose customer is still writing can be taken at once, in the chat.
                "customer_online": bool(seen is not None and seen.timestamp() >= online_after),
            })
            out.append(item)
    return {"group": f.group, "page": page, "page_size": f.page_size, "pages": pages, "total": total,
            "counts": counts, "reasons": reasons, "tickets": out}


def _customer_last_seen(s, conversation_ids: list[str]) -> dict[str, datetime]:
    if not conversation_ids:
        return {}
    rows = s.execute(select(ConversationMessage.conversation_id, func.max(ConversationMessage.created_at))
                     .where(ConversationMessage.conversation_id.in_(conversation_ids),
                            ConversationMessage.role == "customer")
                     .group_by(ConversationMessage.conversation_id)).all()
    return {cid: when for cid, when in rows if when is not None}


def _queue_positions(s) -> dict[int, int]:
    """Each queued ticket's place in the one live queue (1 = next), whatever the filters show."""
    ids = s.scalars(select(HandoffTicket.id).where(HandoffTicket.status == "queued")
                    .order_by(_RANK, HandoffTicket.created_at, HandoffTicket.id)).all()
    return {tid: i + 1 for i, tid in enumerate(ids)}
