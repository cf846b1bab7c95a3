"""The turn pipeline: understand → resolve against the dialogue state → act → reply → persist.

Policy in short (Rasa-style: NLU, state and actions kept apart):
1. A pending confirmation is settled first: yes executes it (once), no drops it, a correction
   ("不对，是300股") re-previews it, anything else drops it and is handled on its own.
   It expires after two minutes; nothing is ever placed without a fresh, explicit yes.
2. A pending slot question takes the answer ("买多少?" → "200股", or a bare "200").
3. Context carries: "那五粮液呢?" after a quote asks the same thing about another security.
4. A low-confidence turn is tried against the knowledge base, then clarified.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from assistant.compliance import (
    QUOTE_DISCLOSURE,
    RISK_DISCLOSURE,
    AuditEvent,
    AuditLog,
    GuardModels,
    InputDecision,
    RuleClassifier,
    check_output,
    inspect_input,
    mask_pii,
    review_output,
)
from assistant.compliance.rules import settled_matter
from assistant.conversation import templates as T
from assistant.conversation.store import ConversationNotFound, ConversationStore, DialogueState, PendingAction, PendingSlot
from assistant.domain import Handoff, ParseResult, PendingConfirmation, Reply
from assistant.handoff import (
    PRIORITY_RANK,
    HandoffService,
    LearnedView,
    TurnSignals,
    asks_question,
    evaluate,
    informational,
    judged_view,
    learned_view,
    mild_frustration,
    not_a_request_for_person,
    unanswered,
)
from assistant.handoff import texts as H
from assistant.nlu import NluParser, SecurityMaster, chinese_to_number
from assistant.rag import KnowledgeBase
from assistant.storage import Conversation
from assistant.tools import (
    Brokerage,
    BrokerageError,
    OrderDraft,
    OrderRequest,
    build_account_tools,
    estimate_fees,
    quote_tool,
)

CONFIRM_TTL = timedelta(minutes=2)
MIN_CONFIDENCE = 0.5
READBACK_CONFIDENCE = 0.5  # a spoken order transcribed with less confidence is read back first
# Intents whose question can be re-asked about another security, date or permission.
CARRY_OVER = {"market_quote", "positions", "order_status", "trade_history", "open_permission", "place_order", "fees"}
NEEDS_SIGN_IN = {"account_balance", "positions", "order_status", "trade_history", "place_order", "cancel_order",
                 "account_opening_status"}
_CORRECTION = re.compile(r"不对|不是|改成|改为|换成|改一下|应该是|错了|我说的是|重新")
_NEGATION = re.compile(r"不|别|没|否|错|改|算了|取消")
_DECLINE = re.compile(r"不撤|别撤|不卖|别卖|不买|别买|不下|别下|先不|不要了|不用了|不办了")
_FOLLOW_UP = re.compile(r"呢[?？]?$|^那|^还有|^再查|^换")
_BARE_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万点]+)\s*(股|手|元|块)?\s*[。.!！]?\s*$")


@dataclass
class Turn:
    conversation: Conversation
    text: str  # masked: personal data never gets past the input guard
    parse: ParseResult
    now: datetime
    audit: list[AuditEvent] = field(default_factory=list)
    on_partial: Callable[[str], None] | None = None  # the channel's sink for a reply streamed as it is written
    blocked: bool = False  # the output guard stopped the reply the assistant meant to send
    learned: LearnedView = field(default_factory=LearnedView)  # the learned handoff check's view of the text

    @property
    def customer_id(self) -> str | None:
        return self.conversation.customer_id

    def record(self, event: str, actor: str = "assistant", text: str = "", **data: Any) -> None:
        self.audit.append(AuditEvent(event=event, actor=actor, text=text, data=data, conversation_id=self.conversation.id,
                                     customer_id=self.customer_id))


class _AuditedTool:
    """A tool whose every call lands in the audit trail with its arguments and a result summary."""

    def __init__(self, name: str, tool: Any, turn: Turn) -> None:
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


# Replies about products and markets carry the risk disclosure (适当性管理办法; our disclosure policy).
_FREE_TEXT = {"answer_from_kb"}  # replies whose words are not all ours: the learned check reads them
_DISCLOSED_INTENTS = {"kb_question", "fees", "open_permission", "risk_assessment"}
_INVESTMENT_CONTENT = re.compile(r"基金|理财|股票|债券|可转债|期权|融资融券|融券|两融|科创板|创业板|北交所|ETF|收益|投资")


class ConversationEngine:
    def __init__(self, *, store: ConversationStore, parser: NluParser, brokerage: Brokerage,
                 master: SecurityMaster, kb: Callable[[], KnowledgeBase | None], audit: AuditLog,
                 guards: GuardModels | None = None, min_confidence: float = MIN_CONFIDENCE,
                 readback_confidence: float = READBACK_CONFIDENCE, handoff: HandoffService | None = None,
                 triggers: RuleClassifier | None = None) -> None:
        self.store = store
        self.triggers = triggers  # the learned half of the handoff triggers
        self.handoff = handoff  # tickets and the queue; without it handoffs are only flagged on the reply
        self.audit = audit
        self.guards = guards or GuardModels()
        self.parser = parser
        self.brokerage = brokerage
        self.master = master
        self._kb = kb
        self.min_confidence = min_confidence
        self.readback_confidence = readback_confidence

    # --- conversations ---

    def start(self, *, customer_id: str | None, channel: str = "app") -> Conversation:
        if customer_id is not None:
            self.brokerage.customer(customer_id)  # an unknown customer is refused here, not mid-chat
        return self.store.create(customer_id=customer_id, channel=channel, now=self.brokerage.now())

    def conversation_for(self, conversation_id: str, customer_id: str | None) -> Conversation:
        """The conversation if this caller may see it. Someone else's is reported as missing."""
        conv = self.store.get(conversation_id)
        if conv.customer_id is not None and conv.customer_id != customer_id:
            raise ConversationNotFound(conversation_id)
        return conv

    def handle(self, conversation_id: str, customer_id: str | None, text: str, *, channel: str | None = None,
               transcript_confidence: float | None = None, on_partial: Callable[[str], None] | None = None) -> Reply:
        """One customer turn, guarded on the way in and on the way out, stored with its audit trail.
        `transcript_confidence` is set for speech: the text is a transcript. `on_partial` receives a
        generated answer's text so far, whole sentences that have passed the output guard; the
        returned Reply is still the final word."""
        conv = self.conversation_for(conversation_id, customer_id)
        now = self.brokerage.now()
        if conv.status == "assigned":
            return self._while_agent(conv, text, channel, now)
        state = DialogueState.model_validate(conv.state or {})
        decision, turn = self._inbound(conv, text, channel, now)
        parse = turn.parse
        # The judge's reading of the message, when it gave one, stands in for the learned handoff check.
        turn.on_partial = on_partial
        turn.learned = judged_view(decision.judged.handoff) if decision.judged is not None else \
            learned_view(self.triggers, turn.text)
        if decision.reply is not None:
            reply = self._guard_reply(turn, state, decision)
        else:
            # --- voice read-back (speech): kept in one block; see _voice_readback ---
            turn, reply = self._voice_readback(turn, state, decision.text, transcript_confidence)
            if reply is None:
                reply = self._decide(turn, state)
            if decision.notice:
                reply.text = decision.notice + reply.text
            reply.flags = decision.rules
        reply = self._review(turn, state, reply)
        reply = self._escalation(turn, state, reply)
        if reply.handoff is not None:
            turn.record("handoff", reason=reply.handoff.reason, priority=reply.handoff.priority)
        turn.record("message_out", text=reply.text, intent=reply.intent, action=reply.action,
                    citations=[c.chunk_id for c in reply.citations])
        self.store.save_turn(conversation_id, state, [
            {"role": "customer", "text": decision.text, "intent": parse.intent.label,
             "confidence": parse.intent.confidence, "payload": {"slots": parse.slots.filled(), "flags": decision.rules}},
            {"role": "assistant", "text": reply.text, "intent": reply.intent, "confidence": reply.confidence,
             "payload": reply.model_dump(mode="json", exclude={"text", "intent", "confidence"})},
        ], now, audit=(self.audit, turn.audit), reopen=True)
        return reply

    # --- human handoff ---

    def _escalation(self, turn: Turn, state: DialogueState, reply: Reply) -> Reply:
        """The triggers read the turn; a handoff opens a ticket (or reports the one open) and tells the
        customer what happens next: their place in the queue and the wait, or a call-back."""
        handoff, runs = evaluate(turn.text, reply, TurnSignals(state.unanswered_run, state.refusal_run),
                                 blocked=turn.blocked, learned=turn.learned.reason, doubt=turn.learned.doubt)
        state.unanswered_run, state.refusal_run = runs.unanswered_run, runs.refusal_run
        if handoff is not None and reply.handoff is None:
            lead = H.HANDOFF_LEADS.get(handoff.reason, T.HUMAN_AGENT)
            # A reply that said nothing useful gives way to the handoff; a refusal (the guard's, or a
            # blocked reply's safe text) stays and the handoff is added to it.
            replace = unanswered(reply) or reply.action == "small_talk"
            if replace:
                reply.text, reply.action, reply.citations, reply.data = lead, "escalate", [], None
            else:
                reply.text += "\n" + lead
            reply.handoff = handoff
        elif handoff is not None:
            # The triggers may name the reason better (anger rather than a complaint; staff misconduct
            # rather than fraud), but never make it less urgent: a victim the guard escalated stays urgent.
            priority = min(handoff.priority, reply.handoff.priority, key=PRIORITY_RANK.__getitem__)
            reply.handoff = Handoff(reason=handoff.reason, priority=priority)
        if self.handoff is None:
            return reply
        conv = turn.conversation
        if reply.handoff is not None:
            info = self.handoff.escalate(conv.id, reply.handoff, now=turn.now, intents=[turn.parse.intent.label],
                                         pending=[("customer", turn.text, turn.parse.intent.label),
                                                  ("assistant", reply.text, reply.intent)])
            if info.kind == "callback":
                if info.existing:
                    reply.text += "\n" + H.ALREADY_CALLBACK
                else:
                    why = H.CALLBACK_WHY["hours" if not self.handoff.in_service_hours(turn.now) else "busy"]
                    if reply.text.startswith(T.HUMAN_AGENT):  # "please hold" is not true for a call-back
                        reply.text = "好的。" + reply.text[len(T.HUMAN_AGENT):]
                    reply.text = (reply.text + "\n" if reply.text not in ("好的。", "") else reply.text) + \
                        H.CALLBACK.format(why=why)
            elif info.existing:
                reply.text += "\n" + H.still_queued_text(info.position, info.estimated_wait_s)
            else:
                reply.text += "\n" + H.queue_text(info.position, info.estimated_wait_s)
        elif conv.status == "queued":
            info = self.handoff.queue_info(conv.id)
            if info is not None and info.position:
                reply.text += "\n" + H.still_queued_text(info.position, info.estimated_wait_s)
        return reply

    def _inbound(self, conv: Conversation, text: str, channel: str | None, now: datetime,
                 **message_in: Any) -> tuple[InputDecision, Turn]:
        """The input guard, then the parser on the masked text, and both in the turn's audit trail.
        Only the masked text goes further: to the parser, the state, the store, the audit and any LLM."""
        decision = inspect_input(text, customer_id=conv.customer_id, model=self.guards.input, judge=self.guards.judge,
                                 context=self._context(conv) if self.guards.judge is not None else ())
        parse = self.parser.parse(decision.text, now.date())
        turn = Turn(conversation=conv, text=parse.text, parse=parse, now=now)
        actor = f"customer:{conv.customer_id}" if conv.customer_id else "visitor"
        turn.record("message_in", actor=actor, text=decision.text, channel=channel or conv.channel, **message_in)
        turn.record("guard", actor="system", stage="input", handling=decision.handling, rules=decision.rules,
                    masked=sorted(decision.masked.kinds), judge=decision.judge)
        return decision, turn

    def _while_agent(self, conv: Conversation, text: str, channel: str | None, now: datetime) -> Reply:
        """An agent owns the conversation: the message is stored (masked) for the agent, guarded, and the
        assistant says nothing of its own. Only the input guard may still speak: a refusal, a warning
        about a typed password, a fraud alert (which also moves the ticket to the front)."""
        decision, turn = self._inbound(conv, text, channel, now, owner="agent")
        parse = turn.parse
        said = (decision.reply or decision.notice or "").strip()
        handoff = None
        if decision.handling == "escalate":
            handoff = Handoff(reason=decision.rules[0], priority=decision.priority or "urgent")
            if self.handoff is not None:
                self.handoff.escalate(conv.id, handoff, now=now, intents=[parse.intent.label],
                                      pending=[("customer", decision.text, parse.intent.label)])
        reply = Reply(text=said, intent=parse.intent.label, confidence=parse.intent.confidence, action="agent",
                      handoff=handoff, flags=decision.rules)
        messages = [{"role": "customer", "text": decision.text, "intent": parse.intent.label,
                     "confidence": parse.intent.confidence, "payload": {"flags": decision.rules, "owner": "agent"}}]
        if said:
            turn.record("message_out", text=said, intent=reply.intent, action="guard")
            messages.append({"role": "assistant", "text": said, "intent": reply.intent, "confidence": reply.confidence,
                             "payload": {"flags": decision.rules, "guard": True}})
        state = DialogueState.model_validate(conv.state or {})
        self.store.save_turn(conv.id, state, messages, now, audit=(self.audit, turn.audit))
        return reply

    def _guard_reply(self, turn: Turn, state: DialogueState, decision: InputDecision) -> Reply:
        """The input guard answers by itself: nothing of the request is acted on, a pending order is dropped."""
        notice = ""
        if state.pending_action is not None:
            dropped = state.pending_action
            state.pending_action = None
            turn.record("confirmation", stage="dropped", kind=dropped.kind, summary=dropped.summary)
            notice = "（刚才待确认的委托没有提交。）\n" if dropped.kind == "place_order" else "（刚才的撤单没有办理。）\n"
        state.pending_slot = state.pending_readback = None
        state.last_intent, state.last_slots = None, {}
        # The intent stays the classifier's reading; the guard's rules are the reply's flags.
        label = turn.parse.intent.label
        if decision.handling == "escalate":
            reply = self._reply(turn, label, "escalate", notice + (decision.reply or ""),
                                handoff=Handoff(reason="fraud_victim", priority=decision.priority or "urgent"))
        else:  # refuse, or answer a question about a rule with the guard's own explanation
            action = "refuse" if decision.handling == "refuse" else "small_talk"
            reply = self._reply(turn, label, action, notice + (decision.reply or ""))
        reply.flags = decision.rules
        return reply

    def _review(self, turn: Turn, state: DialogueState, reply: Reply) -> Reply:
        """The output guard, and the disclosures product and market content must carry.

        Every reply passes the patterns and the personal-data check. The learned check reads free
        text (knowledge-base passages, an LLM's words); our own templates filled with tool results
        are reviewed where they are written (tests run every fixed text through the full check),
        and a statistical false alarm must not swallow an order preview."""
        if reply.intent == "market_quote" and reply.action == "run_tool" and QUOTE_DISCLOSURE not in reply.text:
            reply.text += QUOTE_DISCLOSURE
        elif (reply.intent in _DISCLOSED_INTENTS and reply.action == "answer_from_kb" and reply.citations
              and _INVESTMENT_CONTENT.search(reply.text) and RISK_DISCLOSURE not in reply.text):
            reply.text += "\n" + RISK_DISCLOSURE
        free = reply.action in _FREE_TEXT
        review = review_output(reply.text, self.guards.output if free else None, self.guards.judge if free else None)
        turn.record("guard", actor="system", stage="output", action=review.action,
                    rules=sorted({v.rule for v in review.violations}), spans=[v.span for v in review.violations],
                    judge="llm" if review.judged else None)
        if review.action != "pass":
            turn.blocked = review.action == "blocked"
            reply.text = review.text
            reply.flags = [*reply.flags, *(f"output:{v.rule}" for v in review.violations)]
            if review.action == "blocked":
                reply.action, reply.citations, reply.data = "refuse", [], None
                if reply.pending_confirmation is not None:  # never confirm what the customer was not shown
                    reply.pending_confirmation, state.pending_action = None, None
        return reply

    # --- voice read-back ---

    def _voice_readback(self, turn: Turn, state: DialogueState, heard_text: str,
                        transcript_confidence: float | None) -> tuple[Turn, Reply | None]:
        """A spoken order (or a yes to a pending one) that was heard unsurely, or that names a
        security only by a similar sound, is read back before anything else happens: "我听到的是……，
        对吗？". A plain yes then carries on with the words read back, through the usual preview and
        its own explicit confirmation; a no asks again. Typed turns never come here."""
        heard = state.pending_readback
        if heard is not None:
            state.pending_readback = None
            if turn.parse.intent.label == "confirm" and not _NEGATION.search(turn.text):
                parse = self.parser.parse(heard, turn.now.date())
                return Turn(conversation=turn.conversation, text=parse.text, parse=parse, now=turn.now,
                            audit=turn.audit, learned=learned_view(self.triggers, parse.text)), None
            if turn.parse.intent.label == "deny" and state.pending_action is None:
                return turn, self._reply(turn, "deny", "clarify", "好的，这句没有办理。请您再说一遍，或直接输入文字。")
            return turn, None  # something else (or a no to a pending order): the policy handles it
        if transcript_confidence is None:
            return turn, None
        label, slots = turn.parse.intent.label, turn.parse.slots
        order_turn = (label in ("place_order", "cancel_order")
                      or (state.pending_slot is not None and state.pending_slot.intent in ("place_order", "cancel_order")))
        unsure = transcript_confidence < self.readback_confidence
        vague_security = bool(slots.security_candidates) or (slots.security is not None and slots.security.match == "pinyin")
        if (order_turn and (unsure or vague_security)) or (state.pending_action is not None and unsure):
            heard_text = heard_text.strip().rstrip("。.")
            state.pending_readback = heard_text
            return turn, self._reply(turn, label, "confirm",
                                     f"我听到的是“{heard_text}”，对吗？说“对”我就继续办理，说“不对”请您再说一遍。")
        return turn, None

    def rate(self, conversation_id: str, customer_id: str | None, message_id: int, rating: str, reason: str) -> bool:
        """A customer's thumbs up or down on a reply; the reason is masked like any message."""
        conv = self.conversation_for(conversation_id, customer_id)
        reason = mask_pii(reason).text
        event = AuditEvent(event="rating", actor=f"customer:{conv.customer_id}" if conv.customer_id else "visitor",
                           text=reason, data={"message_id": message_id, "rating": rating},
                           conversation_id=conversation_id, customer_id=conv.customer_id)
        return self.store.rate(conversation_id, message_id, customer_id=conv.customer_id, rating=rating, reason=reason,
                               now=self.brokerage.now(), audit=(self.audit, [event]))

    # --- the policy ---

    def _decide(self, turn: Turn, state: DialogueState) -> Reply:
        intent = turn.parse.intent
        label, slots = intent.label, turn.parse.slots.filled()
        notice = ""

        pending = state.pending_action
        if pending is not None:
            state.pending_action = None
            settled = self._settle(turn, pending)
            if turn.now > pending.expires_at:
                settled("expired")
                if label == "confirm":
                    return self._reply(turn, "confirm", "confirm",
                                       "确认已超时（预览后 2 分钟内有效），这笔委托没有提交。如仍需办理，请重新告诉我。")
                notice = "之前的委托预览已超时失效，没有提交。"
            elif pending.kind == "place_order" and self._is_correction(turn, label, slots):
                settled("corrected")
                merged = {**pending.slots, **_order_slots(slots)}
                return self._place_order(turn, state, merged, prefix="已按您的修改重新生成委托。\n")
            elif self._is_explicit_yes(turn):
                settled("given")
                return self._execute(turn, state, pending)
            elif label == "confirm":
                # A hesitant or mixed "yes" is not consent to trade: ask again, keep the preview.
                state.pending_action = pending
                settled("unclear")
                return self._reply(turn, "confirm", "confirm",
                                   "为确保是您本人的明确意愿，请直接回复“确认”提交，或回复“取消”放弃。",
                                   pending=self._pending_out(pending))
            elif label == "deny" or _DECLINE.search(turn.text):
                settled("declined")
                if pending.kind == "place_order":
                    return self._reply(turn, "deny", "confirm", "好的，已取消，这笔委托没有提交。还有什么可以帮您？")
                return self._reply(turn, "deny", "confirm", "好的，不撤单，这笔委托继续有效。还有什么可以帮您？")
            else:
                settled("dropped")
                notice = ("刚才待确认的委托没有提交。" if pending.kind == "place_order"
                          else "刚才的撤单没有办理，原委托继续有效。")

        asked = state.pending_slot
        if asked is not None:
            state.pending_slot = None
            if label == "deny":
                return self._reply(turn, "deny", "small_talk", T.ABANDONED)
            answer = self._slot_answer(asked, turn)
            if answer:
                return self._run(asked.intent, turn, state, {**asked.slots, **answer}, notice)

        carried = False
        if state.last_intent in CARRY_OVER and self._carries_over(turn, label, intent.confidence, slots):
            label, carried = state.last_intent, True
            # The follow-up's slots replace the last turn's; stale candidates never survive.
            last = {k: v for k, v in state.last_slots.items() if k != "security_candidates"}
            slots = {**last, **slots}

        if not carried and _BARE_NUMBER.match(turn.text) and intent.source == "model":
            # A lone number answers nothing that was asked: a code is a quote, anything else is unclear.
            if "security" in slots:
                return self._run("market_quote", turn, state, slots, notice)
            return self._reply(turn, label, "clarify", notice + "请问这个数字是指什么？例如要查询的证券代码、"
                               "买卖的数量或价格，请说完整一些，比如“买入 600519 100股”。")
        if not carried and intent.confidence < self.min_confidence and intent.source == "model":
            return self._low_confidence(turn, state, notice)
        return self._run(label, turn, state, slots, notice)

    @staticmethod
    def _settle(turn: Turn, pending: PendingAction) -> Callable[[str], None]:
        def record(stage: str) -> None:
            turn.record("confirmation", actor=f"customer:{turn.customer_id}", stage=stage, kind=pending.kind,
                        summary=pending.summary, idempotency_key=pending.idempotency_key, text=turn.text)
        return record

    def _is_explicit_yes(self, turn: Turn) -> bool:
        """Consent to execute: a plain yes (rule) or a confident one with no negation or new terms."""
        intent = turn.parse.intent
        if intent.label != "confirm":
            return False
        if intent.source == "rule":
            return True
        return intent.confidence >= 0.85 and not _NEGATION.search(turn.text) and not _order_slots(turn.parse.slots.filled())

    def _is_correction(self, turn: Turn, label: str, slots: dict) -> bool:
        changes = _order_slots(slots)
        if not changes:
            return False
        return bool(_CORRECTION.search(turn.text)) or label in ("place_order", "deny") or turn.parse.intent.confidence < 0.6

    def _carries_over(self, turn: Turn, label: str, confidence: float, slots: dict) -> bool:
        if not any(k in slots for k in ("security", "date_range", "permission", "security_candidates")):
            return False
        short = len(turn.text) <= 12
        follow_up = bool(_FOLLOW_UP.search(turn.text))
        return (follow_up or short) and (confidence < 0.8 or label in ("kb_question", "market_quote", "out_of_scope"))

    def _slot_answer(self, asked: PendingSlot, turn: Turn) -> dict:
        slots = turn.parse.slots.filled()
        answer = {k: v for k, v in slots.items() if k in _SLOT_KEYS.get(asked.slot, ())}
        if asked.slot in ("quantity", "price", "order_id") and not answer:
            m = _BARE_NUMBER.match(turn.text)
            value = chinese_to_number(m.group(1)) if m else None
            if value is not None and value > 0:
                if asked.slot == "quantity" and value == value.to_integral_value():
                    shares = int(value) * (100 if m.group(2) == "手" else 1)
                    answer = {"quantity": shares, "quantity_mode": "shares"}
                elif asked.slot == "price":
                    answer = {"price_type": "limit", "price": str(value)}
                elif asked.slot == "order_id" and value == value.to_integral_value():
                    answer = {"order_id": str(int(value))}
        if asked.slot == "security" and not answer and slots.get("security_candidates"):
            answer = {"security_candidates": slots["security_candidates"]}
        return answer

    def _low_confidence(self, turn: Turn, state: DialogueState, notice: str) -> Reply:
        kb = self._kb()
        if kb is not None and kb.ready:
            answer = kb.answer(turn.text)
            if answer.found:
                state.last_intent, state.last_slots = "kb_question", {}
                return self._reply(turn, "kb_question", "answer_from_kb", notice + answer.text, citations=answer.citations)
        state.last_intent, state.last_slots = None, {}
        return self._reply(turn, turn.parse.intent.label, "clarify", notice + T.CLARIFY)

    # --- actions ---

    def _run(self, label: str, turn: Turn, state: DialogueState, slots: dict, notice: str = "") -> Reply:
        if label in ("complaint", "human_agent") and informational(turn.text):
            label = "kb_question"  # "投诉渠道有哪些？" is a question about the service: the knowledge base answers
        elif label == "complaint" and mild_frustration(turn.text):
            state.last_intent, state.last_slots = None, {}
            return self._reply(turn, label, "small_talk", notice + H.MILD_FRUSTRATION)
        elif (label == "complaint" and (turn.learned.doubts("complaint", "negative_sentiment")
                                        or settled_matter(turn.text))) or \
                (label == "human_agent" and (turn.learned.doubts("customer_request")
                                             or not_a_request_for_person(turn.text))):
            # The intent model heard 投诉 or 人工, the handoff check hears no such request ("上个月投诉的事已经
            # 处理好了", "不用转人工，我自己看看"): a question goes to the knowledge base, a remark is noted.
            if asks_question(turn.text):
                label = "kb_question"
            else:
                state.last_intent, state.last_slots = None, {}
                return self._reply(turn, label, "small_talk", notice + H.NOTED)
        state.last_intent, state.last_slots = label, slots
        if label in NEEDS_SIGN_IN and turn.customer_id is None:
            return self._reply(turn, label, "refuse", notice + T.SIGN_IN)
        try:
            reply = self._dispatch(label, turn, state, slots)
        except BrokerageError as exc:
            reply = self._reply(turn, label, "run_tool", exc.message)
        if notice:
            reply.text = notice + reply.text
        return reply

    def _tools(self, turn: Turn) -> dict:
        """The tools for this turn's customer: every account action goes through them, and is audited."""
        cid = turn.customer_id
        tools = build_account_tools(self.brokerage, self.master, cid) if cid else {"get_quote": quote_tool(self.brokerage)}
        return {name: _AuditedTool(name, tool, turn) for name, tool in tools.items()}

    def _dispatch(self, label: str, turn: Turn, state: DialogueState, slots: dict) -> Reply:
        cid = turn.customer_id
        tools = self._tools(turn)
        security = slots.get("security")

        if label == "account_balance":
            b = tools["get_balance"].invoke({})
            return self._reply(turn, label, "run_tool", T.balance_text(b), data=b)
        if label == "positions":
            items = tools["get_positions"].invoke({})
            return self._reply(turn, label, "run_tool", T.positions_text(items, security["code"] if security else None),
                               data={"positions": items})
        if label == "order_status":
            status = slots.get("order_status")
            items = tools["get_orders"].invoke({"status": status, "today_only": True})
            if security:
                items = [o for o in items if o.code == security["code"]]
            return self._reply(turn, label, "run_tool", T.orders_text(items, status), data={"orders": items})
        if label == "trade_history":
            rng = slots.get("date_range")
            if rng:  # slots are kept as JSON, so the dates are ISO strings
                start, end = date.fromisoformat(rng["start"]), date.fromisoformat(rng["end"])
            else:
                end = turn.now.date()
                start = end - timedelta(days=29)
            items = tools["get_trades"].invoke({"start": start, "end": end})
            if security:
                items = [t for t in items if t.code == security["code"]]
            return self._reply(turn, label, "run_tool", T.trades_text(items, start, end), data={"trades": items})
        if label == "market_quote":
            if not security:
                return self._ask(turn, state, label, "security", slots, self._which_security(slots, "查询行情"))
            q = tools["get_quote"].invoke({"code": security["code"]})
            return self._reply(turn, label, "run_tool", T.quote_text(q), data=q)
        if label == "place_order":
            return self._place_order(turn, state, slots)
        if label == "cancel_order":
            return self._cancel_order(turn, state, slots, tools)
        if label == "account_opening_status":
            a = tools["get_account_opening_status"].invoke({})
            return self._reply(turn, label, "run_tool", T.opening_text(a), data=a)
        if label == "risk_assessment":
            if cid is None:
                return self._kb_reply(turn, label, suffix="\n如需查询您本人的测评结果，请先登录。")
            r = tools["get_risk_profile"].invoke({})
            return self._reply(turn, label, "run_tool", T.risk_text(r), data=r)
        if label == "open_permission":
            if cid is None:
                return self._kb_reply(turn, label, suffix="\n登录后我可以对照您的账户情况，告诉您是否满足开通条件。")
            items = tools["check_permission_eligibility"].invoke({"permission": slots.get("permission")})
            return self._reply(turn, label, "run_tool", T.permissions_text(items), data={"permissions": items})
        if label in T.APP_PAGES:
            return self._reply(turn, label, "answer_from_kb", T.APP_PAGES[label])
        if label == "fees":
            return self._fees(turn, slots)
        if label == "kb_question":
            return self._kb_reply(turn, label)
        if label == "investment_advice_request":
            return self._reply(turn, label, "refuse", T.ADVICE_REFUSAL)
        if label == "human_agent":
            return self._reply(turn, label, "escalate", T.HUMAN_AGENT, handoff=Handoff(reason="customer_request"))
        if label == "complaint":
            return self._reply(turn, label, "escalate", T.COMPLAINT, handoff=Handoff(reason="complaint", priority="high"))
        if label == "greeting":
            return self._reply(turn, label, "small_talk", T.GREETING)
        if label == "goodbye":
            return self._reply(turn, label, "small_talk", T.GOODBYE)
        if label == "confirm":
            return self._reply(turn, label, "small_talk", T.NOTHING_PENDING)
        if label == "deny":
            return self._reply(turn, label, "small_talk", "好的。还有什么可以帮您？")
        return self._reply(turn, label, "small_talk", T.OUT_OF_SCOPE)

    def _which_security(self, slots: dict, purpose: str) -> str:
        candidates = slots.get("security_candidates") or []
        if candidates:
            names = "、".join(f"{c['name']}（{c['code']}）" for c in candidates[:4])
            return f"您提到了几只证券：{names}。请问您要{purpose}的是哪一只？"
        return f"请问您要{purpose}的是哪只证券？可以告诉我名称或 6 位代码。"

    def _place_order(self, turn: Turn, state: DialogueState, slots: dict, prefix: str = "") -> Reply:
        label = "place_order"
        state.last_intent, state.last_slots = label, slots
        if turn.customer_id is None:
            return self._reply(turn, label, "refuse", T.SIGN_IN)
        security = slots.get("security")
        if not security:
            return self._ask(turn, state, label, "security", slots, self._which_security(slots, "交易"))
        side = slots.get("side")
        if side is None:
            return self._ask(turn, state, label, "side", slots, f"请问您要买入还是卖出{security['name']}？")
        if not slots.get("quantity") and slots.get("quantity_mode") not in ("all", "half"):
            unit = {"star": "科创板单笔不少于 200 股", "bse": "北交所单笔不少于 100 股"}.get(
                security.get("board", ""), "以 100 股为一手")
            return self._ask(turn, state, label, "quantity", slots,
                             f"请问{T.SIDE[side]}{security['name']}多少股？（{unit}）")
        if not slots.get("price_type"):
            q = self.brokerage.quote(security["code"])
            return self._ask(turn, state, label, "price", slots,
                             f"请问按什么价格{T.SIDE[side]}？{security['name']}现价 {T.price(q.last)} 元{T.SIM_NOTE}。"
                             f"您可以说一个限价（例如“{T.price(q.last)}元”），或者说“市价”。")
        draft = OrderDraft(
            code=security["code"], side=side,
            quantity=slots.get("quantity") if slots.get("quantity_mode", "shares") == "shares" else None,
            quantity_mode=slots.get("quantity_mode") or "shares",
            price_type=slots["price_type"], price=Decimal(str(slots["price"])) if slots.get("price") else None,
        )
        preview = self._tools(turn)["preview_order"].invoke(draft.model_dump())
        if not preview.ok:
            return self._reply(turn, label, "refuse", prefix + T.preview_problems_text(preview), data=preview)
        pending = PendingAction(
            kind="place_order", slots=slots, draft=draft.model_dump(mode="json"),
            request=preview.request.model_dump(mode="json"),
            summary=f"{T.SIDE[preview.request.side]} {preview.name} {preview.request.quantity} 股",
            idempotency_key=f"{turn.conversation.id}:{uuid.uuid4().hex[:16]}",
            created_at=turn.now, expires_at=turn.now + CONFIRM_TTL,
        )
        state.pending_action = pending
        turn.record("confirmation", stage="requested", kind="place_order", summary=pending.summary,
                    idempotency_key=pending.idempotency_key, request=pending.request)
        return self._reply(turn, label, "confirm", prefix + T.preview_text(preview), data=preview,
                           pending=self._pending_out(pending))

    def _cancel_order(self, turn: Turn, state: DialogueState, slots: dict, tools: dict) -> Reply:
        label = "cancel_order"
        open_orders = tools["get_orders"].invoke({"status": "open", "today_only": True})
        if slots.get("order_id"):
            chosen = [o for o in open_orders if o.order_id == slots["order_id"]]
            if not chosen:
                return self._reply(turn, label, "run_tool",
                                   f"没有找到您今天可撤的委托 {slots['order_id']}（可能已成交、已撤销或编号有误）。"
                                   + ("您当前未成交的委托：\n" + "\n".join(T.order_line(o) for o in open_orders) if open_orders else ""))
        else:
            chosen = open_orders
            if slots.get("security"):
                chosen = [o for o in open_orders if o.code == slots["security"]["code"]]
            if not chosen:
                return self._reply(turn, label, "run_tool", "您今天没有可以撤销的未成交委托。")
            if len(chosen) > 1:
                return self._ask(turn, state, label, "order_id", slots,
                                 "您有多笔未成交委托，请告诉我要撤销哪一笔的委托号：\n" + "\n".join(T.order_line(o) for o in chosen))
        order = chosen[0]
        pending = PendingAction(kind="cancel_order", order_id=order.order_id, summary=T.order_line(order),
                                idempotency_key=f"{turn.conversation.id}:{uuid.uuid4().hex[:16]}",
                                created_at=turn.now, expires_at=turn.now + CONFIRM_TTL)
        state.pending_action = pending
        turn.record("confirmation", stage="requested", kind="cancel_order", summary=pending.summary,
                    idempotency_key=pending.idempotency_key, order_id=order.order_id)
        return self._reply(turn, label, "confirm",
                           f"请确认撤销以下委托：\n{T.order_line(order)}\n确认撤单请回复“确认”，不撤请回复“取消”。",
                           pending=self._pending_out(pending), data=order)

    def _execute(self, turn: Turn, state: DialogueState, pending: PendingAction) -> Reply:
        if turn.customer_id is None:  # cannot happen: pending actions are created for signed-in customers only
            return self._reply(turn, "confirm", "refuse", T.SIGN_IN)
        tools = self._tools(turn)
        # Write-ahead: the request is in the audit trail (with the turn so far) before the broker
        # sees it, so no order can exist that the trail does not show, whatever happens next.
        turn.record("order", operation="submit", kind=pending.kind, order_id=pending.order_id,
                    idempotency_key=pending.idempotency_key)
        self.audit.append(turn.audit, turn.now)
        turn.audit.clear()
        try:
            if pending.kind == "cancel_order":
                order = tools["cancel_order"].invoke({"order_id": pending.order_id})
                turn.record("order", operation="cancel", order_id=order.order_id, code=order.code, status=order.status)
                return self._reply(turn, "confirm", "run_tool", f"已为您撤单：{T.order_line(order)}。", data=order)
            # Everything is checked again: the price or the session may have changed since the preview.
            preview = tools["preview_order"].invoke(pending.draft)
            if not preview.ok:
                return self._reply(turn, "confirm", "refuse", "委托没有提交。" + T.preview_problems_text(preview), data=preview)
            order = tools["place_order"].invoke({"request": OrderRequest.model_validate(pending.request),
                                                 "idempotency_key": pending.idempotency_key})
        except BrokerageError as exc:
            return self._reply(turn, "confirm", "run_tool", f"委托没有提交：{exc.message}")
        turn.record("order", operation="place", order_id=order.order_id, code=order.code, side=order.side,
                    quantity=order.quantity, price_type=order.price_type, limit_price=order.limit_price,
                    status=order.status, idempotency_key=pending.idempotency_key)
        state.last_intent, state.last_slots = "place_order", {}
        return self._reply(turn, "confirm", "run_tool", T.order_placed_text(order), data=order)

    def _fees(self, turn: Turn, slots: dict) -> Reply:
        security, qty = slots.get("security"), slots.get("quantity")
        estimate = ""
        if security and qty:
            sec = self.master.get(security["code"])
            px = Decimal(str(slots["price"])) if slots.get("price") else self.brokerage.quote(sec.code).last
            amount = (px * qty).quantize(Decimal("0.01"))
            side = slots.get("side") or "buy"
            f = estimate_fees(sec, side, amount)
            estimate = (f"按 {T.price(px)} 元{T.SIDE[side]} {qty} 股{sec.name}（成交金额约 {T.yuan(amount)}）估算："
                        f"佣金 {T.yuan(f.commission)}，印花税 {T.yuan(f.stamp_duty)}，过户费 {T.yuan(f.transfer_fee)}，"
                        f"合计约 {T.yuan(f.total)}。\n")
        return self._kb_reply(turn, "fees", prefix=estimate)

    def _kb_reply(self, turn: Turn, label: str, prefix: str = "", suffix: str = "") -> Reply:
        kb = self._kb()
        if kb is None or not kb.ready:
            return self._reply(turn, label, "answer_from_kb", prefix + T.KB_NOT_READY)
        answer = kb.answer(turn.text, on_text=self._guarded_stream(turn.on_partial, prefix))
        if not answer.found:
            return self._reply(turn, label, "answer_from_kb", prefix + answer.text)
        return self._reply(turn, label, "answer_from_kb", prefix + answer.text + suffix, citations=answer.citations)

    def _guarded_stream(self, sink: Callable[[str], None] | None, prefix: str) -> Callable[[str], None] | None:
        """Pass a streamed answer on sentence by sentence, each prefix checked by the output guard
        first; after the first violation nothing more is shown (the final, reviewed reply replaces
        the draft)."""
        if sink is None or self.guards.judge is not None:
            return None  # with a judge, nothing is shown before it has read the whole reply
        shown, stopped = 0, False

        def on_text(so_far: str) -> None:
            nonlocal shown, stopped
            end = max(so_far.rfind(mark) for mark in "。！？；\n") + 1
            if stopped or end <= shown:
                return
            draft = prefix + so_far[:end]
            model = self.guards.output  # a draft never waits for the learned check to finish training
            if check_output(draft, model if model is not None and model.ready else None):
                stopped = True
                return
            shown = end
            sink(draft)

        return on_text

    # --- helpers ---

    def _context(self, conv: Conversation) -> list[tuple[str, str]]:
        """The last few messages (masked, as stored), oldest first, for the judge's reading."""
        return [(m.role, m.text) for m in self.store.recent(conv.id, self.guards.judge.context_turns)]

    def _ask(self, turn: Turn, state: DialogueState, label: str, slot: str, slots: dict, question: str) -> Reply:
        state.pending_slot = PendingSlot(intent=label, slot=slot, slots=slots)
        return self._reply(turn, label, "ask_for_slot", question)

    @staticmethod
    def _pending_out(p: PendingAction) -> PendingConfirmation:
        details: dict[str, Any] = {"request": p.request} if p.request else {"order_id": p.order_id}
        return PendingConfirmation(kind=p.kind, summary=p.summary, details=details, expires_at=p.expires_at)

    def _reply(self, turn: Turn, label: str, action: str, text: str, *, citations=None, pending=None, handoff=None, data=None) -> Reply:
        if data is not None and not isinstance(data, dict):
            data = data.model_dump(mode="json")
        elif isinstance(data, dict):
            data = {k: [v.model_dump(mode="json") for v in vs] if isinstance(vs, list) else vs for k, vs in data.items()}
        intent = turn.parse.intent
        # A label the dialogue context decided (a slot answer, a follow-up) is not the classifier's guess.
        return Reply(text=text, intent=label,
                     confidence=intent.confidence if label == intent.label else 1.0,
                     action=action, citations=citations or [], pending_confirmation=pending, handoff=handoff, data=data)


_SLOT_KEYS = {
    "security": ("security",),
    "side": ("side",),
    "quantity": ("quantity", "quantity_mode"),
    "price": ("price_type", "price"),
    "order_id": ("order_id", "security"),
}
_ORDER_KEYS = ("security", "side", "quantity", "quantity_mode", "price_type", "price")


def _order_slots(slots: dict) -> dict:
    return {k: v for k, v in slots.items() if k in _ORDER_KEYS}
