"""One turn's working context, shared by the pipeline, the flows and the repair patterns.

`TurnContext` is what a step may read (the masked text, the parse, the clock, the customer) and
the two things it may do besides returning a reply: record an audit event, and call the
customer's tools (each call audited). The parts of the service a step needs are in `Services`,
built once by the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assistant.compliance import AuditEvent, AuditLog, GuardModels
from assistant.conversation.store import PendingAction
from assistant.domain import Handoff, ParseResult, PendingConfirmation, Reply
from assistant.handoff import HandoffService, LearnedView
from assistant.nlu import NluParser, SecurityMaster
from assistant.rag import FaqMatch, KnowledgeBase
from assistant.storage import Conversation
from assistant.tools import Brokerage, BrokerageError, build_account_tools, quote_tool


@dataclass
class Services:
    """The parts a turn uses, wired once in the app factory."""

    brokerage: Brokerage
    master: SecurityMaster
    parser: NluParser
    kb: Callable[[], KnowledgeBase | None]
    audit: AuditLog
    guards: GuardModels
    handoff: HandoffService | None = None


@dataclass
class TurnContext:
    conversation: Conversation
    text: str  # masked: personal data never gets past the input guard
    parse: ParseResult
    now: datetime
    services: Services
    audit: list[AuditEvent] = field(default_factory=list)
    on_partial: Callable[[str], None] | None = None  # the channel's sink for a reply streamed as it is written
    blocked: bool = False  # the output guard stopped the reply the assistant meant to send
    learned: LearnedView = field(default_factory=LearnedView)  # the learned handoff check's view of the text
    spoken_confidence: float | None = None  # set for a transcript: how sure the recogniser was
    faq: FaqMatch | None = None  # the standard question this one matched (read with the conversation's context)
    question: str = ""  # the question as read: a short follow-up joined to the question before it
    faq_read: tuple[FaqMatch | None, str] | None = None  # the FAQ reading, made once a turn
    faq_also: list[FaqMatch] = field(default_factory=list)  # other standard questions the same message asks

    @property
    def customer_id(self) -> str | None:
        return self.conversation.customer_id

    def record(self, event: str, actor: str = "assistant", text: str = "", **data: Any) -> None:
        self.audit.append(AuditEvent(event=event, actor=actor, text=text, data=data, conversation_id=self.conversation.id,
                                     customer_id=self.customer_id))

    def tools(self) -> dict[str, AuditedTool]:
        """The tools for this turn's customer: every account action goes through them, and is audited."""
        s, cid = self.services, self.customer_id
        tools = build_account_tools(s.brokerage, s.master, cid) if cid else {"get_quote": quote_tool(s.brokerage)}
        return {name: AuditedTool(name, tool, self) for name, tool in tools.items()}

    def reply(self, label: str, action: str, text: str, *, citations=None, pending: PendingConfirmation | None = None,
              handoff: Handoff | None = None, data: Any = None) -> Reply:
        if data is not None and not isinstance(data, dict):
            data = data.model_dump(mode="json")
        elif isinstance(data, dict):
            data = {k: [v.model_dump(mode="json") for v in vs] if isinstance(vs, list) else
                    (vs.model_dump(mode="json") if hasattr(vs, "model_dump") else vs) for k, vs in data.items()}
        intent = self.parse.intent
        # A label the dialogue context decided (a slot answer, a follow-up) is not the classifier's guess.
        return Reply(text=text, intent=label, confidence=intent.confidence if label == intent.label else 1.0,
                     action=action, citations=citations or [], pending_confirmation=pending, handoff=handoff, data=data)


class AuditedTool:
    """A tool whose every call lands in the audit trail with its arguments and a result summary."""

    def __init__(self, name: str, tool: Any, turn: TurnContext) -> None:
        self.name, self._tool, self._turn = name, tool, turn

    def invoke(self, args: dict) -> Any:
        try:
            result = self._tool.invoke(args)
        except BrokerageError as exc:
            self._turn.record("tool_call", tool=self.name, args=args, error=exc.message)
            raise
        self._turn.record("tool_call", tool=self.name, args=args, result=_summary(result))
        return result


def _summary(result: Any) -> Any:
    if isinstance(result, list):
        return {"count": len(result)}
    if hasattr(result, "model_dump"):
        dumped = result.model_dump(mode="json")
        return {k: v for k, v in dumped.items() if not isinstance(v, list | dict)}
    return str(result)[:200]


def pending_out(p: PendingAction) -> PendingConfirmation:
    details: dict[str, Any] = {"request": p.request} if p.request else {"order_id": p.order_id}
    return PendingConfirmation(kind=p.kind, summary=p.summary, details=details, expires_at=p.expires_at)
