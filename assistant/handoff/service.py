"""Tickets, ownership and the agent workflow.

A conversation has one owner at a time: the assistant (status bot, or queued while it waits) or
one agent (assigned). Claims are atomic: `UPDATE handoff_tickets SET status='assigned' … WHERE
id=? AND status IN ('queued','callback')` succeeds for exactly one of two agents racing for the
same ticket, on PostgreSQL and on SQLite alike. Everything an agent does is audited
(`agent_action`); every text stored here is masked first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from assistant.compliance import AuditEvent, AuditLog, Violation, check_output, mask_pii
from assistant.domain import Handoff
from assistant.handoff.agents import AgentDirectory, AgentInfo
from assistant.handoff.summary import extractive_summary, llm_summary
from assistant.settings import Settings
from assistant.storage import AgentNote, Conversation, ConversationMessage, Database, HandoffTicket

if TYPE_CHECKING:  # the store is handed in by the app; handoff does not import the conversation package
    from assistant.conversation import ConversationStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2}
OPEN = ("queued", "assigned", "callback")
# An agent's reply that says any of these is never sent (the agent may rephrase and resend).
HARD_RULES = {"guaranteed_return", "zero_risk", "investment_advice", "aml_evasion", "inside_information", "pii"}


class HandoffError(Exception):
    def __init__(self, status: int, code: str, message: str, violations: list[Violation] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.violations = status, code, message, violations or []


@dataclass
class TicketInfo:
    ticket_id: int
    kind: str  # live | callback
    status: str
    position: int | None = None  # 1 = next to be served
    estimated_wait_s: int | None = None
    existing: bool = False  # the conversation was already waiting


@dataclass
class SendResult:
    message_id: int
    text: str
    warnings: list[Violation] = field(default_factory=list)


def _status_event(status: str, **extra: Any) -> dict:
    return {"type": "status", "status": status, **{k: v for k, v in extra.items() if v is not None}}


class HandoffService:
    def __init__(self, db: Database, audit: AuditLog, settings: Settings, *, clock: Callable[[], datetime],
                 conversations: ConversationStore, profile: Callable[[str], dict] | None = None, llm=None,
                 prompts_dir: Path | None = None) -> None:
        self.db, self.audit, self.settings, self.clock = db, audit, settings, clock
        # The conversation's rows belong to its store: status, agent and system messages change through it,
        # and its events go out after the commit.
        self.conversations = conversations
        self.agents = AgentDirectory(db, max_failed=settings.agent_max_failed_logins, lockout_s=settings.agent_lockout_s,
                                     online_s=settings.handoff_agent_online_s)
        self._profile = profile
        self.llm, self.prompts_dir = llm, prompts_dir or settings.prompts_dir

    def _queue_changed(self, s) -> None:
        self.conversations.after_commit(s, QUEUE_CHANNEL, {"type": "queue_changed"})

    # --- service hours and the queue ---

    def in_service_hours(self, now: datetime) -> bool:
        local = now.astimezone(SHANGHAI)
        return (str(local.isoweekday()) in self.settings.handoff_days
                and self.settings.handoff_open <= local.time().replace(tzinfo=None) < self.settings.handoff_close)

    def _handle_s(self, s) -> float:
        """Average minutes an agent spends on a ticket, from the last 50 closed ones (a setting until then)."""
        rows = s.execute(select(HandoffTicket.assigned_at, HandoffTicket.closed_at)
                         .where(HandoffTicket.assigned_at.is_not(None), HandoffTicket.closed_at.is_not(None))
                         .order_by(HandoffTicket.id.desc()).limit(50)).all()
        spans = [(c - a).total_seconds() for a, c in rows if c > a]
        return sum(spans) / len(spans) if len(spans) >= 5 else float(self.settings.handoff_handle_s)

    def _queued(self, s) -> list[HandoffTicket]:
        rows = s.scalars(select(HandoffTicket).where(HandoffTicket.status == "queued")).all()
        return sorted(rows, key=lambda t: (PRIORITY_RANK.get(t.priority, 9), t.created_at, t.id))

    def _position(self, s, ticket: HandoffTicket, now: datetime) -> tuple[int | None, int | None]:
        if ticket.status != "queued":
            return None, None
        queue = [t.id for t in self._queued(s)]
        position = queue.index(ticket.id) + 1 if ticket.id in queue else len(queue) + 1
        online = max(1, len(self.agents.online(now)))
        # Those ahead, and the one being served, each take about one handling time, spread over the agents online.
        return position, int(math.ceil(position * self._handle_s(s) / online))

    def queue_info(self, conversation_id: str) -> TicketInfo | None:
        now = self.clock()
        with self.db.session() as s:
            ticket = self._open_ticket(s, conversation_id)
            if ticket is None:
                return None
            position, wait = self._position(s, ticket, now)
            return TicketInfo(ticket.id, ticket.kind, ticket.status, position, wait, existing=True)

    def current_status(self, conversation_id: str) -> dict | None:
        """Where a conversation with a person stands now, as the status event that announced it (marked
        `current`): what a page that reconnects or reloads shows at once, not at the next change."""
        now = self.clock()
        with self.db.session() as s:
            ticket = self._open_ticket(s, conversation_id)
            if ticket is None or ticket.status not in ("queued", "assigned"):
                return None
            if ticket.status == "assigned":
                name = self._agent_names(s).get(ticket.agent_id) if ticket.agent_id else None
                return _status_event("assigned", agent_name=name, current=True)
            position, wait = self._position(s, ticket, now)
            return _status_event("queued", queue_position=position, estimated_wait_s=wait, current=True)

    @staticmethod
    def _open_ticket(s, conversation_id: str) -> HandoffTicket | None:
        return s.scalar(select(HandoffTicket).where(HandoffTicket.conversation_id == conversation_id,
                                                    HandoffTicket.status.in_(OPEN))
                        .order_by(HandoffTicket.id.desc()).limit(1))

    # --- escalation ---

    def escalate(self, conversation_id: str, handoff: Handoff, *, pending: list[tuple[str, str, str | None]],
                 intents: list[str], now: datetime, audit: list[AuditEvent] | None = None) -> TicketInfo:
        """Open a ticket for the conversation (or report the one already open). `pending` are this turn's
        messages (role, masked text, intent), not yet stored. With `audit`, the ticket's audit record is
        added there, to be written with the turn that caused it; otherwise it is written here."""
        # The summary (maybe an LLM call) is written first, outside the transaction that locks the row.
        with self.db.session() as s:
            known = self._open_ticket(s, conversation_id) is not None
            stored = [] if known else s.execute(
                select(ConversationMessage.role, ConversationMessage.text, ConversationMessage.intent)
                .where(ConversationMessage.conversation_id == conversation_id)
                .order_by(ConversationMessage.id)).all()
        messages = [(r, t, i) for r, t, i in stored] + pending
        summary = None if known else llm_summary(self.llm, self.prompts_dir, handoff.reason, messages)
        with self.db.session() as s:
            conv = self.conversations.locked(s, conversation_id)
            existing = self._open_ticket(s, conversation_id)
            if existing is not None:
                if PRIORITY_RANK.get(handoff.priority, 9) < PRIORITY_RANK.get(existing.priority, 9):
                    existing.priority = handoff.priority  # a fraud victim already waiting goes to the front
                position, wait = self._position(s, existing, now)
                return TicketInfo(existing.id, existing.kind, existing.status, position, wait, existing=True)
            seen = [i for r, _, i in messages if r == "customer" and i] + intents
            intents_seen = list(dict.fromkeys(seen))
            live = self.in_service_hours(now) and bool(self.agents.online(now))
            ticket = HandoffTicket(
                conversation_id=conversation_id, customer_id=conv.customer_id, kind="live" if live else "callback",
                status="queued" if live else "callback", priority=handoff.priority, reason=handoff.reason,
                intents=intents_seen, profile=self.masked_profile(conv.customer_id),
                summary=summary or extractive_summary(handoff.reason, messages, intents_seen),
                summary_mode="llm" if summary else "extractive", created_at=now, csat_comment="")
            s.add(ticket)
            s.flush()
            position, wait = self._position(s, ticket, now)
            if live:
                self.conversations.queue(s, conv, now, _status_event("queued", queue_position=position,
                                                                     estimated_wait_s=wait))
            self._queue_changed(s)
            info = TicketInfo(ticket.id, ticket.kind, ticket.status, position, wait)
            record = AuditEvent(event="handoff", actor="assistant", conversation_id=conversation_id,
                                customer_id=conv.customer_id,
                                data={"ticket_id": ticket.id, "kind": ticket.kind, "reason": handoff.reason,
                                      "priority": handoff.priority})
            if audit is None:
                self.audit.append_in(s, [record], now)
            else:
                audit.append(record)
        return info

    def masked_profile(self, customer_id: str | None) -> dict:
        if customer_id is None or self._profile is None:
            return {"signed_in": False}
        try:
            profile = self._profile(customer_id)
        except Exception:  # noqa: BLE001 - a profile the back end cannot give is not a reason to lose the ticket
            return {"signed_in": True, "customer_id": customer_id, "error": "客户资料暂时无法读取"}
        return _mask_deep(profile)

    # --- the agent workflow ---

    def queue(self) -> dict:
        now = self.clock()
        with self.db.session() as s:
            queued = self._queued(s)
            handle = self._handle_s(s)
            online = max(1, len(self.agents.online(now)))
            open_rows = s.scalars(select(HandoffTicket).where(HandoffTicket.status.in_(("assigned", "callback")))
                                  .order_by(HandoffTicket.created_at)).all()
            names = self._agent_names(s)
            out = {"queued": [self._brief(t, now, names, i + 1, int(math.ceil((i + 1) * handle / online)))
                              for i, t in enumerate(queued)],
                   "assigned": [self._brief(t, now, names) for t in open_rows if t.status == "assigned"],
                   "callbacks": [self._brief(t, now, names) for t in open_rows if t.status == "callback"]}
        return out

    @staticmethod
    def _agent_names(s) -> dict[int, str]:
        from assistant.storage import Agent

        return {a.id: a.display_name for a in s.scalars(select(Agent)).all()}

    @staticmethod
    def _brief(t: HandoffTicket, now: datetime, names: dict[int, str], position: int | None = None,
               wait: int | None = None) -> dict:
        return {"id": t.id, "conversation_id": t.conversation_id, "kind": t.kind, "status": t.status,
                "priority": t.priority, "reason": t.reason, "customer_id": t.customer_id,
                "created_at": t.created_at.isoformat(), "waiting_s": int((now - t.created_at).total_seconds()),
                "agent_id": t.agent_id, "agent_name": names.get(t.agent_id) if t.agent_id else None,
                "queue_position": position, "estimated_wait_s": wait, "summary": t.summary}

    def _ticket_for(self, s, ticket_id: int, agent: AgentInfo, *, owner: bool = True, lock: bool = False) -> HandoffTicket:
        ticket = s.get(HandoffTicket, ticket_id, with_for_update=lock)
        if ticket is None:
            raise HandoffError(404, "ticket_not_found", "工单不存在。")
        if owner and not (ticket.status == "assigned" and (ticket.agent_id == agent.id or agent.role == "supervisor")):
            raise HandoffError(409, "not_your_ticket", "该工单不在您名下或已结束，请刷新队列。")
        return ticket

    def claim(self, ticket_id: int, agent: AgentInfo) -> dict:
        if agent.role not in ("agent", "supervisor"):
            raise HandoffError(403, "forbidden", "只有客服或主管可以接入会话。")
        now = self.clock()
        with self.db.session() as s:
            # The one atomic step: of two agents racing, exactly one sees a row updated.
            won = s.execute(update(HandoffTicket)
                            .where(HandoffTicket.id == ticket_id, HandoffTicket.status.in_(("queued", "callback")))
                            .values(status="assigned", agent_id=agent.id, assigned_at=now)
                            .execution_options(synchronize_session=False)).rowcount
            if won != 1:
                exists = s.get(HandoffTicket, ticket_id) is not None
                raise HandoffError(409 if exists else 404, "already_claimed" if exists else "ticket_not_found",
                                   "该工单已被其他客服接入。" if exists else "工单不存在。")
            ticket = s.get(HandoffTicket, ticket_id)
            conv = self.conversations.locked(s, ticket.conversation_id)
            self.conversations.assign(s, conv, agent.id, now, f"人工客服{agent.name}已接入，为您服务。",
                                      _status_event("assigned", agent_name=agent.name), agent_name=agent.name)
            self._queue_changed(s)
            self._audit_in(s, agent, ticket, "claim", now)
        return self.ticket_view(ticket_id, agent)

    def ticket_view(self, ticket_id: int, agent: AgentInfo) -> dict:
        now = self.clock()
        with self.db.session() as s:
            ticket = self._ticket_for(s, ticket_id, agent, owner=False)
            conv = s.get(Conversation, ticket.conversation_id)
            rows = self.conversations.transcript(s, conv.id)
            notes = s.scalars(select(AgentNote).where(AgentNote.ticket_id == ticket.id).order_by(AgentNote.id)).all()
            names = self._agent_names(s)
            view = self._brief(ticket, now, names)
            view.update({
                "channel": conv.channel, "conversation_status": conv.status, "intents": ticket.intents,
                "profile": ticket.profile, "summary_mode": ticket.summary_mode,
                "transcript": [message_out(m) for m in rows],
                "notes": [{"id": n.id, "agent_name": names.get(n.agent_id), "text": n.text,
                           "created_at": n.created_at.isoformat()} for n in notes],
            })
            return view

    def check_reply(self, text: str, model=None, judge=None) -> tuple[list[Violation], list[Violation]]:
        """(hard, soft) violations of an agent's draft."""
        violations = check_output(text, model, judge)
        return [v for v in violations if v.rule in HARD_RULES], [v for v in violations if v.rule not in HARD_RULES]

    def reply(self, ticket_id: int, agent: AgentInfo, text: str, *, model=None, judge=None,
              acknowledge: bool = False) -> SendResult:
        """Store the agent's reply for the customer, after the output guard: hard violations block it (422),
        softer ones need the agent's acknowledgement."""
        hard, soft = self.check_reply(text, model, judge)
        if hard:
            raise HandoffError(422, "guard_blocked", "回复含有不合规内容，未发送。请修改后重新发送。", hard + soft)
        if soft and not acknowledge:
            raise HandoffError(422, "guard_warning", "回复可能不合规，请确认修改或确认无误后再发送。", soft)
        now = self.clock()
        with self.db.session() as s:
            ticket = self._ticket_for(s, ticket_id, agent, lock=True)
            message = self.conversations.add_message(
                s, ticket.conversation_id, "agent", text, now,
                payload={"agent_name": agent.name, "ticket_id": ticket.id, "flags": sorted({v.rule for v in soft})})
            self._audit_in(s, agent, ticket, "reply", now, text=text, message_id=message.id,
                           warnings=sorted({v.rule for v in soft}))
            return SendResult(message.id, text, soft)

    def note(self, ticket_id: int, agent: AgentInfo, text: str) -> dict:
        now = self.clock()
        masked = mask_pii(text).text
        with self.db.session() as s:
            ticket = self._ticket_for(s, ticket_id, agent, owner=False)
            note = AgentNote(ticket_id=ticket.id, agent_id=agent.id, text=masked, created_at=now)
            s.add(note)
            s.flush()
            self._audit_in(s, agent, ticket, "note", now, text=masked)
            return {"id": note.id, "agent_name": agent.name, "text": masked, "created_at": now.isoformat()}

    def transfer(self, ticket_id: int, agent: AgentInfo, to: AgentInfo) -> dict:
        if to.role not in ("agent", "supervisor"):
            raise HandoffError(422, "bad_target", "只能转给客服或主管。")
        if to.id == agent.id:
            raise HandoffError(422, "bad_target", "不能转给自己。")
        now = self.clock()
        with self.db.session() as s:
            ticket = self._ticket_for(s, ticket_id, agent, lock=True)
            ticket.agent_id = to.id
            conv = self.conversations.locked(s, ticket.conversation_id)
            self.conversations.assign(s, conv, to.id, now, f"已为您转接至人工客服{to.name}，对话记录已同步，无需重复描述。",
                                      _status_event("assigned", agent_name=to.name), agent_name=to.name)
            self._queue_changed(s)
            self._audit_in(s, agent, ticket, "transfer", now, to_agent=to.username)
        return self.ticket_view(ticket_id, to)

    def hand_back(self, ticket_id: int, agent: AgentInfo) -> None:
        self._close(ticket_id, agent, "returned", "bot",
                    "人工客服已将对话交回智能助手，如需再次转人工，回复“人工”即可。", "hand_back")

    def resolve(self, ticket_id: int, agent: AgentInfo) -> None:
        self._close(ticket_id, agent, "resolved", "resolved",
                    "本次人工服务已结束，感谢您的耐心。请为本次服务打分（1–5 分，5 分为非常满意），您的评价将帮助我们改进。",
                    "resolve")

    def _close(self, ticket_id: int, agent: AgentInfo, ticket_status: str, conv_status: str, text: str, action: str) -> None:
        now = self.clock()
        with self.db.session() as s:
            ticket = self._ticket_for(s, ticket_id, agent, lock=True)
            ticket.status, ticket.closed_at = ticket_status, now
            conv = self.conversations.locked(s, ticket.conversation_id)
            self.conversations.release(s, conv, conv_status, now, text, csat_request=ticket_status == "resolved",
                                       ticket_id=ticket.id)
            self._queue_changed(s)
            self._audit_in(s, agent, ticket, action, now)

    def _audit_in(self, s, agent: AgentInfo, ticket: HandoffTicket, action: str, now: datetime, text: str = "",
                  **data: Any) -> None:
        self.audit.append_in(s, [AuditEvent(event="agent_action", actor=f"agent:{agent.username}", text=text,
                                            conversation_id=ticket.conversation_id, customer_id=ticket.customer_id,
                                            data={"action": action, "ticket_id": ticket.id, **data})], now)

    # --- the customer's rating ---

    def satisfaction(self, conversation_id: str, score: int, comment: str) -> dict:
        now = self.clock()
        comment = mask_pii(comment).text
        with self.db.session() as s:
            ticket = s.scalar(select(HandoffTicket).where(HandoffTicket.conversation_id == conversation_id)
                              .order_by(HandoffTicket.id.desc()).limit(1).with_for_update())
            if ticket is None or ticket.status != "resolved":
                raise HandoffError(409, "not_resolved", "人工服务结束后才能评价。")
            if ticket.csat_score is not None:
                raise HandoffError(409, "already_rated", "您已评价过本次服务，感谢您的反馈。")
            ticket.csat_score, ticket.csat_comment, ticket.csat_at = score, comment, now
            self.audit.append_in(s, [AuditEvent(event="rating", actor=f"customer:{ticket.customer_id}"
                                                if ticket.customer_id else "visitor", text=comment,
                                                conversation_id=conversation_id, customer_id=ticket.customer_id,
                                                data={"ticket_id": ticket.id, "csat": score})], now)
            return {"ticket_id": ticket.id, "score": score}

    # --- the supervisor's view ---

    def stats(self, days: int = 7) -> dict:
        now = self.clock()
        since = now - timedelta(days=days)
        with self.db.session() as s:
            queued = self._queued(s)
            waits = [(now - t.created_at).total_seconds() for t in queued]
            claimed = s.execute(select(HandoffTicket.created_at, HandoffTicket.assigned_at)
                                .where(HandoffTicket.assigned_at >= since, HandoffTicket.kind == "live")).all()
            answered_waits = [(a - c).total_seconds() for c, a in claimed]
            talked = (select(ConversationMessage.conversation_id)
                      .where(ConversationMessage.role == "customer").distinct().subquery())
            conversations = s.scalar(select(func.count()).select_from(Conversation)
                                     .join(talked, talked.c.conversation_id == Conversation.id)
                                     .where(Conversation.created_at >= since)) or 0
            escalated = s.scalar(select(func.count(func.distinct(HandoffTicket.conversation_id)))
                                 .join(Conversation, Conversation.id == HandoffTicket.conversation_id)
                                 .where(Conversation.created_at >= since)) or 0
            scores = s.scalars(select(HandoffTicket.csat_score)
                               .where(HandoffTicket.csat_score.is_not(None), HandoffTicket.csat_at >= since)).all()
            callbacks = s.scalar(select(func.count()).select_from(HandoffTicket)
                                 .where(HandoffTicket.status == "callback")) or 0
            assigned = s.scalar(select(func.count()).select_from(HandoffTicket)
                                .where(HandoffTicket.status == "assigned")) or 0
        online = self.agents.online(now)
        return {
            "days": days,
            "queue_length": len(queued),
            "longest_wait_s": int(max(waits)) if waits else 0,
            "average_wait_s": int(sum(waits) / len(waits)) if waits else 0,
            "average_answer_wait_s": int(sum(answered_waits) / len(answered_waits)) if answered_waits else None,
            "assigned": assigned,
            "callbacks_open": callbacks,
            "agents_online": [{"id": a.id, "name": a.name, "role": a.role} for a in online],
            "conversations": conversations,
            "escalated": escalated,
            # Conversations the assistant finished alone, among those where the customer said anything.
            "containment_rate": round((conversations - escalated) / conversations, 3) if conversations else None,
            "satisfaction_average": round(sum(scores) / len(scores), 2) if scores else None,
            "satisfaction_count": len(scores),
        }


QUEUE_CHANNEL = "agent:queue"


def message_out(m: ConversationMessage) -> dict:
    return {"id": m.id, "role": m.role, "text": mask_pii(m.text).text if m.role == "customer" else m.text,
            "intent": m.intent, "agent_name": (m.payload or {}).get("agent_name"),
            "created_at": m.created_at.isoformat()}


def _mask_deep(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value).text
    if isinstance(value, dict):
        return {k: _mask_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_deep(v) for v in value]
    return value
