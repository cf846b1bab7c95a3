"""The turn: `handle(Turn) -> Reply`, the one port every channel calls.

input guard → parse → (voice read-back) → policy.decide → the decided flow step or repair
pattern → escalation → output guard → store (state, messages, audit in one transaction).

Turns on one conversation run one at a time (the store's turn lock), so two tabs, a retried
确认 or two workers can never both act on the same pending order. Escalation is decided and
worded before the output guard, so the guard has the last word on every text sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.compliance import (
    FRAUD_ESCALATION_TAIL,
    QUOTE_DISCLOSURE,
    REFUSAL_LEADS,
    RISK_DISCLOSURE,
    AuditEvent,
    InputDecision,
    RuleClassifier,
    inspect_input,
    mask_pii,
    review_output,
)
from assistant.compliance.rules import asks_about
from assistant.conversation import escalation, repair
from assistant.conversation import templates as T
from assistant.conversation.flows import CONFIRMABLE, DISCLOSED, flow_for, run_flow
from assistant.conversation.flows.answers import kb_reply
from assistant.conversation.policy import SCAM_TOPICS, Decision, TurnView, decide
from assistant.conversation.store import (
    ConversationNotFound,
    ConversationStore,
    DialogueState,
    Refusal,
)
from assistant.conversation.turn import Services, TurnContext, pending_out
from assistant.domain import Handoff, Reply, Turn
from assistant.handoff import judged_view, learned_view
from assistant.handoff import texts as H
from assistant.rag import FaqMatch
from assistant.storage import Conversation
from assistant.tools import BrokerageError

MIN_CONFIDENCE = 0.5
READBACK_CONFIDENCE = 0.5  # a spoken order transcribed with less confidence is read back first
# A question that leans on the one before: "收益怎么算", "那北交所呢", "要啥条件" (short, and naming
# no board, market or product of its own), or one that opens or ends as a follow-up does.
_ELLIPTICAL = re.compile(r"^(那|还有|那么|另外|然后|再问)|呢[?？]?$|"
                         r"(一样|相同|有区别|不一样|都收|都要|也收|也要|也是|也能|也行|也可以)(吗|么|嘛)?[?？]?$")


def _elliptical(text: str) -> bool:
    text = text.strip()
    return bool(_ELLIPTICAL.search(text)) or (len(text) <= 10 and not _SUBJECTS.search(text))
# What a follow-up may ask the same question of: boards, markets and products.
_SUBJECTS = re.compile(r"港股通|沪股通|深股通|A股|港股|美股|沪市|深市|主板|科创板|创业板|北交所|新三板|可转债|ETF|LOF|国债逆回购|逆回购|"
                       r"货币基金|债券基金|股票型基金|场外基金|基金|融资融券|融资|融券|两融|期权|新股|打新|ST股?|个人养老金|养老金")
_ABOUT_ANOTHER = re.compile(r"^(?:那|那么|还有)?\s*(" + _SUBJECTS.pattern + r")(?:的|里的|那边)?\s*(?:呢)?[,，\s]*(?:怎么样|怎么算|也?一样吗|也?是这样吗)?[?？]?$")
_PARTS = re.compile(r"[，,。；;？?！!\s]+|还有|另外|以及")  # where a message of several questions divides
_SOMEONE_ELSE = re.compile(r"有人|有个|群里|老师|朋友|别人|对方|网上|中介|业务员|他说|她说")  # an offer made by someone else
_RISK_TOPICS = {"risk", "risk-topics", "fraud", "margin"}  # what a refused message's specific answer may come from
_KNOWLEDGE_INTENTS = {"kb_question", "open_permission", "fees", "risk_assessment"}
_FREE_TEXT = {"answer_from_kb"}  # replies whose words are not all ours: the learned check reads them
_INVESTMENT_CONTENT = re.compile(r"基金|理财|股票|债券|可转债|期权|融资融券|融券|两融|科创板|创业板|北交所|ETF|收益|投资")
_NEGATION = re.compile(r"不|别|没|否|错|改|算了|取消")
# Spoken turns that read the customer's account or act on it; below the floor they are read back first.
_ACCOUNT_INTENTS = {"place_order", "cancel_order", "account_balance", "positions", "order_status", "trade_history",
                    "account_opening_status", "risk_assessment"}


def _follow_up(previous: str, text: str) -> str:
    """The question a follow-up asks: "那北交所的呢" after "股票一天最多涨多少" asks it of 北交所, and
    "那A股呢" after "港股通印花税多少" asks it of A股 instead of 港股通."""
    about = _ABOUT_ANOTHER.match(text.strip())
    if about is not None:
        other = about.group(1)
        named = [w for w in _SUBJECTS.findall(previous) if w != other]
        if named:
            return previous.replace(named[0], other, 1)
        return other + previous
    return f"{previous}，{text}"


def _on_topic(joined_text: str, before: FaqMatch | None, kb) -> FaqMatch | None:
    """A follow-up's standard question when the documents' relevance check turned it down but it is on
    the topic of the question before it (`before`: "我已经在别的券商开户了" then "还能在你们这开吗"): the
    conversation is already inside what the knowledge base covers, which is what that check is for."""
    joined = kb.faq.match(joined_text) if before is not None else None
    return joined if joined is not None and joined.entry.topic == before.entry.topic else None


class ConversationPipeline:
    def __init__(self, *, store: ConversationStore, services: Services, triggers: RuleClassifier | None = None,
                 min_confidence: float = MIN_CONFIDENCE, readback_confidence: float = READBACK_CONFIDENCE) -> None:
        self.store = store
        self.services = services
        self.triggers = triggers  # the learned half of the handoff triggers
        self.min_confidence = min_confidence
        self.readback_confidence = readback_confidence

    # Channels and operator APIs read these parts; they are the service's, not the pipeline's state.
    @property
    def brokerage(self):
        return self.services.brokerage

    @property
    def audit(self):
        return self.services.audit

    @property
    def handoff(self):
        return self.services.handoff

    @property
    def parser(self):
        return self.services.parser

    @property
    def guards(self):
        return self.services.guards

    # --- the port channels use besides handle(): nothing of the pipeline's insides ---

    def now(self):
        """The service's clock (the simulator's, when it is pinned)."""
        return self.brokerage.now()

    def history(self, conversation_id: str, *, after_id: int = 0, limit: int = 50):
        """The conversation's stored messages after `after_id`, oldest first (masked, as stored)."""
        return self.store.messages(conversation_id, after_id=after_id, limit=limit)

    def handoff_status(self, conversation_id: str) -> dict | None:
        """Where a conversation with a person stands now (queued, assigned), or None."""
        return self.handoff.current_status(conversation_id) if self.handoff is not None else None

    def check_customer(self, customer_id: str) -> None:
        """Raises BrokerageError when the broker does not know this customer."""
        self.brokerage.customer(customer_id)

    # --- conversations ---

    def start(self, *, customer_id: str | None, channel: str = "app") -> Conversation:
        if customer_id is not None:
            self.brokerage.customer(customer_id)  # an unknown customer is refused here, not mid-chat
        return self.store.create(customer_id=customer_id, channel=channel, now=self.brokerage.now())

    def get(self, conversation_id: str) -> Conversation:
        return self.store.get(conversation_id)

    def conversation_for(self, conversation_id: str, customer_id: str | None) -> Conversation:
        """The conversation if this caller may see it. Someone else's is reported as missing."""
        conv = self.store.get(conversation_id)
        if conv.customer_id is not None and conv.customer_id != customer_id:
            raise ConversationNotFound(conversation_id)
        return conv

    def rate(self, conversation_id: str, customer_id: str | None, message_id: int, rating: str, reason: str) -> bool:
        """A customer's thumbs up or down on a reply; the reason is masked like any message."""
        conv = self.conversation_for(conversation_id, customer_id)
        reason = mask_pii(reason).text
        event = AuditEvent(event="rating", actor=f"customer:{conv.customer_id}" if conv.customer_id else "visitor",
                           text=reason, data={"message_id": message_id, "rating": rating},
                           conversation_id=conversation_id, customer_id=conv.customer_id)
        return self.store.rate(conversation_id, message_id, customer_id=conv.customer_id, rating=rating, reason=reason,
                               now=self.brokerage.now(), audit=(self.audit, [event]))

    # --- the turn ---

    def handle(self, turn: Turn, on_partial: Callable[[str], None] | None = None) -> Reply:
        """One customer turn, guarded on the way in and on the way out, stored with its audit trail.
        `on_partial` receives a generated answer's text so far, whole sentences that have passed the
        output guard; the returned Reply is still the final word."""
        self.conversation_for(turn.conversation_id, turn.customer_id)  # refuse a stranger before waiting
        with self.store.turn_lock(turn.conversation_id):
            conv = self.conversation_for(turn.conversation_id, turn.customer_id)  # fresh, under the lock
            now = self.brokerage.now()
            if conv.status == "assigned":
                return self._while_agent(conv, turn, now)
            state = DialogueState.model_validate(conv.state or {})
            decision, ctx = self._inbound(conv, turn, now)
            if decision.handling in ("refuse", "escalate") and self._standard_question(ctx, state, decision):
                decision = InputDecision(decision.masked, [], "answer", judged=decision.judged)
            ctx.on_partial = on_partial
            # The judge's reading of the message, when it gave one, stands in for the learned handoff check.
            ctx.learned = judged_view(decision.judged.handoff) if decision.judged is not None else \
                learned_view(self.triggers, ctx.text)
            if decision.reply is not None:
                reply = self._guard_reply(ctx, state, decision)
            else:
                ctx, reply = self._voice_readback(ctx, state, decision.text)
                if reply is None:
                    reply = self._decide_and_act(ctx, state)
                if decision.notice:
                    reply.text = decision.notice + reply.text
                reply.flags = decision.rules
            reply = escalation.escalate(ctx, state, reply)
            reply = self._review(ctx, state, reply)
            self._remember(ctx, state, reply)
            if reply.handoff is not None and self.handoff is None:  # with a service, the ticket's record says it
                ctx.record("handoff", reason=reply.handoff.reason, priority=reply.handoff.priority)
            ctx.record("message_out", text=reply.text, intent=reply.intent, action=reply.action,
                       citations=[c.chunk_id for c in reply.citations])
            parse = ctx.parse
            self.store.save_turn(conv.id, state, [
                {"role": "customer", "text": decision.text, "intent": parse.intent.label,
                 "confidence": parse.intent.confidence, "payload": {"slots": parse.slots.filled(), "flags": decision.rules}},
                {"role": "assistant", "text": reply.text, "intent": reply.intent, "confidence": reply.confidence,
                 "payload": reply.model_dump(mode="json", exclude={"text", "intent", "confidence"})},
            ], now, audit=(self.audit, ctx.audit), reopen=True)
            return reply

    def _decide_and_act(self, ctx: TurnContext, state: DialogueState) -> Reply:
        ctx.faq, asked = self._faq_reading(ctx, state)
        ctx.question = asked
        view = TurnView(text=ctx.text, parse=ctx.parse, now=ctx.now, signed_in=ctx.customer_id is not None,
                        learned=ctx.learned, faq=ctx.faq, follow_up=asked != ctx.text)
        decision = decide(view, state, self.min_confidence)
        pending = state.pending_action
        if decision.settle is not None and pending is not None:
            ctx.record("confirmation", actor=f"customer:{ctx.customer_id}", stage=decision.settle, kind=pending.kind,
                       summary=pending.summary, idempotency_key=pending.idempotency_key, text=ctx.text)
        was_asking = state.pending_slot is not None or state.pending_security is not None
        for name in decision.clear:
            setattr(state, name, None)
        try:
            reply = self._act(ctx, state, decision, pending, was_asking)
        except BrokerageError as exc:
            reply = ctx.reply(decision.name, "run_tool", exc.message)
        if decision.resume:
            if state.pending_action is not None and decision.settle == "kept":
                reply.text += repair.resume_note(state.pending_action, ctx.now)
                reply.pending_confirmation = pending_out(state.pending_action)  # the buttons stay on the page
            elif state.pending_slot is not None:
                reply.text += f"\n\n另外，您刚才要办理的{escalation.intent_name(state.pending_slot.intent)}还没有完成，" \
                              "请接着告诉我需要的信息，或回复“取消”放弃。"
        if decision.notice:
            reply.text = decision.notice + reply.text
        # "创业板" then "那怎么开通": the next short question is read with this one.
        # What a visitor told us before being asked to sign in ("5万买7天逆回购", "我已经在别的券商开户了")
        # is the context of the question that follows ("年化1.8%能拿多少", "还能在你们这开吗").
        context = reply.action == "answer_from_kb" or reply.intent in _KNOWLEDGE_INTENTS or \
            (ctx.customer_id is None and T.SIGN_IN in reply.text)
        state.last_question = asked if context else None
        return reply

    def _faq_reading(self, ctx: TurnContext, state: DialogueState) -> tuple[FaqMatch | None, str]:
        """The standard question this message asks, and the question as read: a short follow-up
        ("收益怎么算", "那北交所呢") is read together with the question answered just before it.
        Read once a turn: the guard's path and the policy's ask the same question of the same text."""
        if ctx.faq_read is None:
            ctx.faq_read = self._read_faq(ctx, state)
            if ctx.faq_read[0] is not None and ctx.faq_read[1] == ctx.text:
                ctx.faq_also = self._also_asked(ctx, ctx.faq_read[0])
        return ctx.faq_read

    def _also_asked(self, ctx: TurnContext, main: FaqMatch) -> list[FaqMatch]:
        """The other standard question a message of two parts asks ("今天几点开盘 打新要多少市值"): each
        part read alone (a part that leans on the one before, with it), kept when it finds a different
        entry the documents also cover. At most one more: the matcher's second choice is often a
        neighbour of the first, and a wrong second answer costs more than a missing one."""
        parts = [p for p in _PARTS.split(ctx.text) if len(re.sub(r"\W", "", p)) >= 2][:3]  # (each read costs a search)
        if len(parts) < 2 or len(ctx.text) > 80:
            return []
        kb = self.services.kb()
        for before, part in zip(parts, parts[1:]):
            text = _follow_up(before, part) if _elliptical(part) else part
            found = kb.faq_match(text) if len(re.sub(r"\W", "", text)) >= 4 else None
            if found is not None and found.entry.id != main.entry.id:
                return [found]
        first = kb.faq_match(parts[0]) if len(re.sub(r"\W", "", parts[0])) >= 4 else None
        return [first] if first is not None and first.entry.id != main.entry.id else []

    def _read_faq(self, ctx: TurnContext, state: DialogueState) -> tuple[FaqMatch | None, str]:
        kb = self.services.kb()
        if kb is None or kb.faq is None:
            return None, ctx.text
        alone = kb.faq_match(ctx.text) or self._risk_entry(ctx, asked_about=True)
        previous = state.last_question
        if previous and _elliptical(ctx.text):
            joined_text = _follow_up(previous, ctx.text)
            before = kb.faq.match(previous)
            joined = kb.faq_match(joined_text) or _on_topic(joined_text, before, kb)
            # "那北交所呢" asks the last question of 北交所: that reading wins whenever it finds an answer.
            about_another = bool(_ABOUT_ANOTHER.match(ctx.text.strip()))
            # A reading that stays on the topic just answered wins unless the message alone is clearly
            # closer to another ("股票型基金" then "股票仓位最低多少" is about funds, not lot sizes).
            on_topic = joined is not None and before is not None and joined.entry.topic == before.entry.topic
            if joined is not None and (alone is None or about_another or joined.entry.id == alone.entry.id
                                       or joined.score >= alone.score - (0.05 if on_topic else 0.01)):
                return joined, joined_text  # (the same answer either way: the joined text keeps the figures said before)
        return alone, ctx.text

    def _act(self, ctx: TurnContext, state: DialogueState, decision: Decision, pending, was_asking: bool) -> Reply:
        if decision.kind == "execute":
            return CONFIRMABLE[decision.name].execute(ctx, state, pending)
        if decision.kind == "flow":
            slots = {**decision.slots, "_prefix": decision.prefix} if decision.prefix else decision.slots
            reply = run_flow(flow_for(decision.name, ctx.customer_id is not None), ctx, state, slots)
            state.last_slots.pop("_prefix", None)
            return reply
        name = decision.name
        if name == "cancel":
            return repair.cancel(ctx, state, pending if decision.settle == "declined" else None, was_asking)
        if name == "reconfirm":
            return repair.reconfirm(ctx, pending)
        if name == "expired":
            return repair.expired(ctx, pending)
        if name == "ask_why":
            return repair.ask_why(ctx, state)
        if name == "repeat":
            return repair.repeat(ctx, state)
        if name == "completed":
            return repair.completed(ctx, state)
        if name == "which_security":
            return run_flow(flow_for(state.last_intent or "place_order", True), ctx, state,
                            {k: v for k, v in decision.slots.items() if v is not None})
        if name == "think_over":
            state.last_intent, state.last_slots = None, {}
            return ctx.reply("goodbye", "small_talk", H.THINK_OVER)
        if name == "noted":
            state.last_intent, state.last_slots = None, {}
            return ctx.reply(ctx.parse.intent.label, "small_talk", H.NOTED)
        if name == "mild_frustration":
            state.last_intent, state.last_slots = None, {}
            return ctx.reply("complaint", "small_talk", H.MILD_FRUSTRATION)
        if name == "bare_number":
            return ctx.reply(ctx.parse.intent.label, "clarify", "请问这个数字是指什么？例如要查询的证券代码、"
                             "买卖的数量或价格，请说完整一些，比如“买入 600519 100股”。")
        return self._low_confidence(ctx, state)

    def _low_confidence(self, ctx: TurnContext, state: DialogueState) -> Reply:
        reply = kb_reply(ctx, "kb_question")
        if reply.citations:
            state.last_intent, state.last_slots = "kb_question", {}
            return reply
        state.last_intent, state.last_slots = None, {}
        return ctx.reply(ctx.parse.intent.label, "clarify", T.CLARIFY)

    def _remember(self, ctx: TurnContext, state: DialogueState, reply: Reply) -> None:
        """What the next turn may refer to: the security, the last words, whether a refusal still stands."""
        security = (state.last_slots or {}).get("security") or ctx.parse.slots.filled().get("security")
        if security and security.get("match") != "pinyin":
            state.last_security = security
        # A refusal stands (to be asked about, or corrected) until the conversation moves on: not while
        # it is explained, clarified, or the same order is still asking for a detail.
        stands = reply.action in ("refuse", "clarify") or repair.asks_why(ctx.text) or \
            (reply.intent == "place_order" and reply.action == "ask_for_slot")
        if not stands:
            state.last_refusal = None
        state.last_reply = reply.text

    # --- the guards ---

    def _inbound(self, conv: Conversation, turn: Turn, now, **message_in) -> tuple[InputDecision, TurnContext]:
        """The input guard, then the parser on the masked text, and both in the turn's audit trail.
        Only the masked text goes further: to the parser, the state, the store, the audit and any LLM."""
        guards = self.services.guards
        decision = inspect_input(turn.text, customer_id=conv.customer_id, model=guards.input, judge=guards.judge,
                                 context=self._context(conv) if guards.judge is not None else ())
        parse = self.parser.parse(decision.text, now.date())
        ctx = TurnContext(conversation=conv, text=parse.text, parse=parse, now=now, services=self.services,
                          spoken_confidence=turn.transcript_confidence)
        actor = f"customer:{conv.customer_id}" if conv.customer_id else "visitor"
        ctx.record("message_in", actor=actor, text=decision.text, channel=turn.channel or conv.channel, **message_in)
        ctx.record("guard", actor="system", stage="input", handling=decision.handling, rules=decision.rules,
                   masked=sorted(decision.masked.kinds), judge=decision.judge)
        return decision, ctx

    def _while_agent(self, conv: Conversation, turn: Turn, now) -> Reply:
        """An agent owns the conversation: the message is stored (masked) for the agent, guarded, and the
        assistant says nothing of its own. Only the input guard may still speak: a refusal, a warning
        about a typed password, a fraud alert (which also moves the ticket to the front)."""
        decision, ctx = self._inbound(conv, turn, now, owner="agent")
        parse = ctx.parse
        said = (decision.reply or decision.notice or "").strip()
        handoff = None
        if decision.handling == "escalate":
            handoff = Handoff(reason=decision.rules[0], priority=decision.priority or "urgent")
            if self.handoff is not None:
                self.handoff.escalate(conv.id, handoff, now=now, intents=[parse.intent.label],
                                      pending=[("customer", decision.text, parse.intent.label)], audit=ctx.audit)
        reply = Reply(text=said, intent=parse.intent.label, confidence=parse.intent.confidence, action="agent",
                      handoff=handoff, flags=decision.rules)
        messages = [{"role": "customer", "text": decision.text, "intent": parse.intent.label,
                     "confidence": parse.intent.confidence, "payload": {"flags": decision.rules, "owner": "agent"}}]
        if said:
            ctx.record("message_out", text=said, intent=reply.intent, action="guard")
            messages.append({"role": "assistant", "text": said, "intent": reply.intent, "confidence": reply.confidence,
                             "payload": {"flags": decision.rules, "guard": True}})
        state = DialogueState.model_validate(conv.state or {})
        self.store.save_turn(conv.id, state, messages, now, audit=(self.audit, ctx.audit))
        return reply

    def _standard_question(self, ctx: TurnContext, state: DialogueState, decision: InputDecision) -> bool:
        """A refusal only the learned input check made, of a message that closely matches a standard
        question ("收盘前最后三分钟能撤单吗"): the FAQ answers it. A pattern's refusal, or a judge's,
        stands (a hostile request keeps its refusal; the reply then says what the FAQ says about it)."""
        if decision.judged is not None or "crisis" in decision.rules:
            return False
        if inspect_input(ctx.text, customer_id=ctx.customer_id).handling == decision.handling:
            return False  # the patterns alone decide the same
        faq, _ = self._faq_reading(ctx, state)
        if faq is None or (decision.handling == "escalate" and faq.entry.topic in SCAM_TOPICS):
            return False  # a possible scam victim keeps the person the learned check called
        ctx.record("guard", actor="system", stage="input", handling="answer", overruled=decision.rules,
                   faq=faq.entry.id)
        return True

    def _risk_entry(self, ctx: TurnContext, asked_about: bool = False) -> FaqMatch | None:
        """For a message the guard refused, or one that asks about a prohibited practice (`asked_about`:
        "有私募说保证年化15% 正规吗", "用USDT炒币合法吗"): the standard question about that risk, when
        one matches it. The documents' relevance check is not asked here: it keeps off-topic questions
        from an FAQ answer, and such a message is about exactly these risks."""
        if asked_about and not asks_about(ctx.text):
            return None
        kb = self.services.kb()
        match = kb.faq.match(ctx.text) if kb is not None and kb.faq is not None else None
        return match if match is not None and match.entry.topic in _RISK_TOPICS else None

    def _guard_reply(self, ctx: TurnContext, state: DialogueState, decision: InputDecision) -> Reply:
        """The input guard answers by itself: nothing of the request is acted on, a pending order is dropped."""
        notice = ""
        if state.pending_action is not None:
            dropped = state.pending_action
            state.pending_action = None
            ctx.record("confirmation", stage="dropped", kind=dropped.kind, summary=dropped.summary)
            notice = "（刚才的撤单没有办理。）\n" if dropped.kind == "cancel_order" else "（刚才待确认的委托没有提交。）\n"
        state.pending_slot = state.pending_readback = state.pending_security = None
        state.last_intent, state.last_slots = None, {}
        label = ctx.parse.intent.label  # the intent stays the classifier's reading; the guard's rules are the flags
        faq = self._faq_reading(ctx, state)[0] if decision.handling == "escalate" and "crisis" not in decision.rules \
            else None
        if faq is not None and faq.entry.topic in SCAM_TOPICS:
            # The scam the customer describes, answered as the FAQ does, then what to do now; a person is coming.
            ctx.faq = faq
            state.last_question = ctx.text  # "是不是真的" next asks about this scam
            reply = ctx.reply(label, "escalate", notice + faq.entry.answer + "\n" + FRAUD_ESCALATION_TAIL,
                              citations=faq.entry.cited(), handoff=Handoff(reason="fraud_victim", priority="urgent"))
        elif decision.handling == "escalate":
            reply = ctx.reply(label, "escalate", notice + (decision.reply or ""),
                              handoff=Handoff(reason="crisis" if "crisis" in decision.rules else "fraud_victim",
                                              priority=decision.priority or "urgent"))
        elif decision.handling == "refuse" and decision.rules[0] in REFUSAL_LEADS and \
                (faq := self._faq_reading(ctx, state)[0] or self._risk_entry(ctx)) is not None:
            # A specific refusal: what we cannot do, then what the customer needs to know about it
            # (not principal-protected; illegal; leverage can lose more than the principal).
            ctx.faq = faq
            # A warning about someone else's offer ("有人卖内部消息 要不要买": 不要买, it is illegal) says
            # so itself; the line about what we cannot do is for a request made of us.
            offered = faq.entry.topic in SCAM_TOPICS or _SOMEONE_ELSE.search(ctx.text)
            lead = "" if offered else REFUSAL_LEADS[decision.rules[0]] + "\n"
            reply = ctx.reply(label, "refuse", notice + lead + faq.entry.answer,
                              citations=faq.entry.cited())
        else:  # refuse, or answer a question about a rule with the guard's own explanation
            reply = ctx.reply(label, "refuse" if decision.handling == "refuse" else "small_talk",
                              notice + (decision.reply or ""))
            if decision.handling == "refuse":  # "为什么" then hears the same reason, not "out of scope"
                state.last_refusal = Refusal(intent=label, reasons=[decision.reply or ""])
        reply.flags = decision.rules
        return reply

    def _review(self, ctx: TurnContext, state: DialogueState, reply: Reply) -> Reply:
        """The output guard, and the disclosures product and market content must carry.

        Every reply passes the patterns and the personal-data check. The learned check reads free
        text (knowledge-base passages, an LLM's words); our own templates filled with tool results
        are reviewed where they are written (tests run every fixed text through the full check),
        and a statistical false alarm must not swallow an order preview."""
        if reply.intent == "market_quote" and reply.action == "run_tool" and QUOTE_DISCLOSURE not in reply.text:
            reply.text += QUOTE_DISCLOSURE
        elif (reply.intent in DISCLOSED and reply.action == "answer_from_kb" and reply.citations
              and _INVESTMENT_CONTENT.search(reply.text) and RISK_DISCLOSURE not in reply.text):
            reply.text += "\n" + RISK_DISCLOSURE
        guards = self.services.guards
        free = reply.action in _FREE_TEXT
        review = review_output(reply.text, guards.output if free else None, guards.judge if free else None)
        ctx.record("guard", actor="system", stage="output", action=review.action,
                   rules=sorted({v.rule for v in review.violations}), spans=[v.span for v in review.violations],
                   judge="llm" if review.judged else None)
        if review.action != "pass":
            ctx.blocked = review.action == "blocked"
            reply.text = review.text
            reply.flags = [*reply.flags, *(f"output:{v.rule}" for v in review.violations)]
            if review.action == "blocked":
                reply.action, reply.citations, reply.data = "refuse", [], None
                if reply.pending_confirmation is not None:  # never confirm what the customer was not shown
                    reply.pending_confirmation, state.pending_action = None, None
        return reply

    # --- voice read-back ---

    def _voice_readback(self, ctx: TurnContext, state: DialogueState, heard_text: str) -> tuple[TurnContext, Reply | None]:
        """A spoken request that reads or acts on the account (or a yes to a pending order) heard
        unsurely, or that names a security only by a similar sound, is read back before anything
        else happens: "我听到的是……，对吗？". A plain yes then carries on with the words read back,
        through the usual steps and the order's own explicit confirmation; a no asks again. Typed
        turns never come here."""
        heard = state.pending_readback
        if heard is not None:
            state.pending_readback = None
            if ctx.parse.intent.label == "confirm" and not _NEGATION.search(ctx.text):
                parse = self.parser.parse(heard, ctx.now.date())
                return TurnContext(conversation=ctx.conversation, text=parse.text, parse=parse, now=ctx.now,
                                   services=self.services, audit=ctx.audit, on_partial=ctx.on_partial,
                                   learned=learned_view(self.triggers, parse.text)), None
            if ctx.parse.intent.label == "deny" and state.pending_action is None:
                return ctx, ctx.reply("deny", "clarify", "好的，这句没有办理。请您再说一遍，或直接输入文字。")
            return ctx, None  # something else (or a no to a pending order): the policy handles it
        confidence = ctx.spoken_confidence
        if confidence is None:
            return ctx, None
        label, slots = ctx.parse.intent.label, ctx.parse.slots
        account_turn = (label in _ACCOUNT_INTENTS
                        or (state.pending_slot is not None and state.pending_slot.intent in _ACCOUNT_INTENTS))
        unsure = confidence < self.readback_confidence
        vague_security = bool(slots.security_candidates) or (slots.security is not None and slots.security.match == "pinyin")
        order_turn = label in ("place_order", "cancel_order")
        if (account_turn and unsure) or (order_turn and vague_security) or (state.pending_action is not None and unsure):
            heard_text = heard_text.strip().rstrip("。.")
            state.pending_readback = heard_text
            return ctx, ctx.reply(label, "confirm",
                                  f"我听到的是“{heard_text}”，对吗？说“对”我就继续办理，说“不对”请您再说一遍。")
        return ctx, None

    def _context(self, conv: Conversation) -> list[tuple[str, str]]:
        """The last few messages (masked, as stored), oldest first, for the judge's reading."""
        return [(m.role, m.text) for m in self.store.recent(conv.id, self.services.guards.judge.context_turns)]



