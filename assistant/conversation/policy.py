"""The policy: from the turn's reading and the dialogue state, one Decision. It decides; it does nothing.

Order of precedence, the same in every flow:
1. A confirmation waiting: a withdrawal word wins over everything in the message; only an
   explicit yes executes; a changed detail re-previews; another question is answered with the
   confirmation kept and recalled; anything else gets a read-back and the question again.
   After two minutes it has expired, and saying so comes first.
2. A sound-alike security waiting for "是": a yes goes on with it, a name or code replaces it.
3. A slot question waiting: its answer (also a bare "200" or "两手") fills it; a withdrawal
   abandons it; another question is answered and the slot question kept.
4. Repair without anything pending: why (the last refusal), repeat, a correction of a refused
   preview, a change of mind about an order just executed.
5. Context: a follow-up ("那五粮液呢", "买100股它", "那怎么开") inherits what it leaves out.
6. Otherwise the intent's flow, or, when the reading is unsure, the knowledge base then a question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from assistant.compliance.rules import asks_about, scam_question, settled_matter
from assistant.conversation import repair
from assistant.conversation.flows import CARRY_OVER, order_slots, repo_slots
from assistant.conversation.store import DialogueState, PendingSlot
from assistant.domain import ParseResult
from assistant.handoff import (
    LearnedView,
    asks_question,
    informational,
    mild_frustration,
    not_a_request_for_person,
)
from assistant.nlu import chinese_to_number
from assistant.rag import FaqMatch

# Questions and look-ups that may be asked while an order waits, without dropping it.
DIGRESSIONS = frozenset({"account_balance", "positions", "order_status", "trade_history", "market_quote",
                         "account_opening_status", "risk_assessment", "kb_question", "fees", "open_permission",
                         "fund_transfer", "password_reset", "update_contact", "investment_advice_request"})
_FOLLOW_UP = re.compile(r"呢[?？]?$|^那|^还有|^再查|^换")
_BARE_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万点]+)\s*(股|手|元|块)?\s*[。.!！]?\s*$")
_PRONOUN = re.compile(r"它|这只|这支|这个股|该股|那只|那支|同一只|刚才那只|这票|那个票|这个票")
_HOW_TO_OPEN = re.compile(r"怎么开|如何开|怎么申请|在哪开|在哪里开|怎么办理|开通流程|开通步骤|能开吗|可以开吗")
# Words that ask for a person whatever else the message says ("看不懂 转人工吧").
_PERSON = re.compile(r"转(?:个|到|接)?人工|人工客服|找(?:个)?人工|要人工|接人工|真人|人工服务")
# A rule or schedule question the intent model may read as a quote, an order or advice when no security is named.
_RULE_QUESTION = re.compile(r"几点|什么时候开|交易时间|开盘|收盘|开市|休市|开不开|开吗|涨跌|涨停|跌停|还能下单|能不能下单|"
                            r"可以下单吗|能下单吗|能交易吗|手续费|怎么算|规则|最多涨|最多跌|怎么买|怎么卖|如何买|如何卖|"
                            r"怎么操作|怎么办理|最少|起点|门槛|起购")
# "能不能帮我挂个预埋单 明天买工行一千股": a request put politely, not a question.
_POLITE_REQUEST = re.compile(r"(能不能|可不可以|可以|能|麻烦)(帮我|给我|替我)")
SCAM_TOPICS = frozenset({"fraud", "security"})  # FAQ topics about scams and account takeover
_WHAT_CAN_I_BUY = re.compile(r"我能买(什么|啥|哪些)|我可以买(什么|啥|哪些)|能买(什么|啥|哪些)|可以买(什么|啥|哪些)")
# Securities listed outside our markets, named to buy or sell them.
_ABROAD = re.compile(r"腾讯|美团|阿里巴巴|京东|小米|快手|网易|百度|拼多多|苹果|特斯拉|英伟达|微软|谷歌|亚马逊|"
                     r"(?:买|卖|交易|炒)[^，。]{0,4}(?:港股|美股)")
_AGAIN = re.compile(r"再来|再买|再卖|再挂|再下|也挂|也买|也来|再加|重新来|重来|还是")
_CORRECTED_NUMBER = re.compile(r"(?:改成|改为|换成|调到|调成|应该是|是|那就?|就)\s*(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千点]+)"
                               r"\s*(?:挂着|挂|的价|块|元|股)?\s*(?:吧|呢|的)?\s*$")
# "我再考虑考虑", "跟家里人商量一下再决定": the customer will think it over; said without a question.
_THINK_OVER = re.compile(r"(再|先|回去|回家|自己)(考虑|想想|想一想|琢磨|商量|斟酌|研究一下)|考虑(考虑|一下)|"
                         r"(跟|和)(家里人?|老婆|老公|家人|孩子|爱人|儿子|女儿)(再)?商量|回头再(说|看|联系)|以后再说|改天再(说|来|问)")
_YES_ISH = re.compile(r"^(是|是的|对|对的|没错|嗯|嗯嗯|就是|就是它|就是这个|确认|确定|对就是|是这个|yes|ok)[。.!！]?$", re.I)
_SLOT_KEYS = {
    "security": ("security",),
    "side": ("side",),
    "quantity": ("quantity", "quantity_mode"),
    "price": ("price_type", "price"),
    "order_id": ("order_id", "security"),
    "tenor_days": ("tenor_days", "repo_code", "amount", "exchange"),
    "amount": ("amount", "tenor_days", "repo_code", "exchange"),
}
_YIELD_QUESTION = re.compile(r"(利息|收益|能赚|赚多少|能拿|拿多少|几天)")
_STATED_RATE = re.compile(r"(年化|利率)\s*\d")
_REPO_VERB = re.compile(r"买|做|借出|来一?笔|办|下单|帮我|我要|我想|想要|投|弄")
# A reverse repo asked about rather than requested: "逆回购怎么买 最少要多少钱".
_QUESTION = re.compile(r"怎么|如何|什么|啥|吗|嘛|？|\?|多少|哪些|哪个|规则|为什么|为啥|能不能|可不可以|是不是|区别|几点|几天|几块|几毛|"
                       r"时间|哪天|了没|没有$|没$")


@dataclass(frozen=True)
class TurnView:
    """What the policy reads: the masked text and its parse, the clock, who is asking."""

    text: str
    parse: ParseResult
    now: datetime
    signed_in: bool
    learned: LearnedView = field(default_factory=LearnedView)
    faq: FaqMatch | None = None  # the standard question the message matched, if one did
    follow_up: bool = False  # the match was found reading the message with the question answered before it


@dataclass(frozen=True)
class Decision:
    kind: str  # flow | execute | repair
    name: str  # the flow's intent label, or the repair pattern
    slots: dict = field(default_factory=dict)
    notice: str = ""  # said before the reply (a preview dropped or expired on the way)
    settle: str | None = None  # what became of a waiting confirmation: given|declined|corrected|kept|unclear|dropped|expired
    clear: frozenset[str] = frozenset()  # pending state this decision consumes
    resume: bool = False  # after the reply, recall the confirmation or question still waiting
    prefix: str = ""  # the flow's reply opens with this (a corrected preview says so)


def decide(view: TurnView, state: DialogueState, min_confidence: float) -> Decision:
    text, intent = view.text, view.parse.intent
    label, slots = intent.label, _with_references(view, state, view.parse.slots.filled())
    slots = {k: v for k, v in slots.items() if k not in ("repo", "repo_code", "tenor_days", "amount")} | \
        repo_slots(slots, text)
    slots = _with_last_side(view, state, slots)
    label, ruled = _ruled_label(view, label, slots)
    notice, settle, clear = "", None, set()

    pending = state.pending_action
    if pending is not None:
        if view.now > pending.expires_at:
            if repair.is_cancel(text) or repair.is_explicit_yes(text) or label in ("confirm", "deny"):
                return Decision("repair", "expired", settle="expired", clear=frozenset({"pending_action"}))
            notice = "（之前的委托预览已超时失效，没有提交。）\n" if pending.kind != "cancel_order" else \
                "（之前的撤单确认已超时，原委托继续有效。）\n"
            settle, clear = "expired", {"pending_action"}
        else:
            decided = _settle_pending(view, state, label, slots, min_confidence, ruled)
            if decided is not None:
                return decided
            # A new request of the same kind for something else: the old preview goes, and says so.
            notice = "（刚才待确认的委托没有提交。）\n" if pending.kind != "cancel_order" else "（刚才的撤单没有办理，原委托继续有效。）\n"
            settle, clear = "dropped", {"pending_action"}

    if state.pending_security is not None:
        waiting = state.pending_security
        clear.add("pending_security")
        if repair.is_cancel(text):
            return Decision("repair", "cancel", notice=notice, settle=settle, clear=frozenset(clear))
        said = order_slots(slots)
        if slots.get("security") and slots["security"].get("code") != waiting.slots["security"]["code"]:
            return Decision("flow", waiting.intent, {**waiting.slots, **said}, notice, settle, frozenset(clear))
        same = slots.get("security") and slots["security"].get("code") == waiting.slots["security"]["code"]
        if same or _YES_ISH.match(text.strip()) or text.strip().startswith(("对", "是", "嗯", "没错")) or \
                (label == "confirm" and not repair.is_cancel(text)):
            confirmed = {**waiting.slots["security"], "match": "confirmed"}
            said.pop("security", None)
            return Decision("flow", waiting.intent, {**waiting.slots, **said, "security": confirmed}, notice, settle,
                            frozenset(clear))
        if label == "deny":
            return Decision("repair", "which_security", {**waiting.slots, "security": None}, notice, settle,
                            frozenset(clear))

    asked = state.pending_slot
    if asked is not None:
        clear.add("pending_slot")
        if repair.is_cancel(text):
            if _PERSON.search(text):
                return Decision("flow", "human_agent", {}, "（刚才要办理的委托没有提交。）\n", settle, frozenset(clear))
            return Decision("repair", "cancel", notice=notice, settle=settle, clear=frozenset(clear))
        answer = _slot_answer(asked, text, slots)
        if answer:
            extra = order_slots(slots) if asked.intent == "place_order" else {}
            return Decision("flow", asked.intent, {**asked.slots, **extra, **answer}, notice, settle, frozenset(clear))
        if asked.intent == "place_order" and order_slots(slots) and label in ("place_order", "deny", "confirm"):
            return Decision("flow", asked.intent, {**asked.slots, **order_slots(slots)}, notice, settle, frozenset(clear))
        if label in DIGRESSIONS and label != "kb_question" and intent.confidence >= min_confidence:
            clear.discard("pending_slot")  # answered, and the question still waits
            return Decision("flow", label, slots, notice, settle, frozenset(clear), resume=True)

    if repair.asks_why(text) and state.last_refusal is not None and label not in ("place_order", "cancel_order") \
            and len(text) <= 20:
        return Decision("repair", "ask_why", notice=notice, settle=settle, clear=frozenset(clear))
    if repair.asks_repeat(text):
        return Decision("repair", "repeat", notice=notice, settle=settle, clear=frozenset(clear))
    refused = state.last_refusal
    if refused is not None and refused.slots and refused.intent == "place_order":
        # "不对，是300股" / "那200股呢" right after a refused preview corrects that order.
        changes = order_slots(slots)
        terms = any(k in changes for k in ("side", "quantity", "quantity_mode", "price_type", "price"))
        same = not changes.get("security") or changes["security"]["code"] == refused.slots.get("security", {}).get("code")
        worded = repair.sounds_like_correction(text) or bool(_FOLLOW_UP.search(text))
        if not changes and worded:
            changes = _bare_correction(text, refused.slots, refused.reasons)
            terms = bool(changes)
        if changes and ((worded and (terms or not same)) or (terms and same and label != "cancel_order")):
            return Decision("flow", "place_order", {**refused.slots, **changes}, notice, settle, frozenset(clear))
    if refused is not None and refused.intent == "reverse_repo" and repo_slots(slots, text) and \
            label in ("reverse_repo", "place_order", "kb_question", "deny", "confirm", "out_of_scope"):
        return Decision("flow", "reverse_repo", {**refused.slots, **repo_slots(slots, text)}, notice, settle,
                        frozenset(clear))
    if state.last_order and repair.regrets_order(text) and label != "place_order" and not slots.get("order_id"):
        return Decision("repair", "completed", notice=notice, settle=settle, clear=frozenset(clear))
    if repair.is_cancel(text) and label in ("deny", "confirm", "out_of_scope"):
        return Decision("repair", "cancel", notice=notice, settle=settle, clear=frozenset(clear))
    if _THINK_OVER.search(text) and not _QUESTION.search(text) and not _PERSON.search(text) and \
            not slots.get("security") and label not in ("complaint", "place_order", "cancel_order"):
        return Decision("repair", "think_over", notice=notice, settle=settle, clear=frozenset(clear))

    carried = False
    # A visitor cannot go on with a look-up or an order (they were asked to sign in): a follow-up is new.
    visitor_account = not view.signed_in and state.last_intent in _ACCOUNT_LABELS
    if state.last_intent in CARRY_OVER and not visitor_account and _carries_over(text, label, intent.confidence, slots):
        label, carried = state.last_intent, True
        # The follow-up's slots replace the last turn's; stale candidates never survive.
        last = {k: v for k, v in state.last_slots.items() if k != "security_candidates"}
        slots = {**last, **slots}
    if not carried and _HOW_TO_OPEN.search(text) and state.last_permission and not slots.get("permission") \
            and label in ("open_permission", "kb_question", "out_of_scope"):
        label, slots = "open_permission", {**slots, "permission": state.last_permission}

    if label in ("complaint", "human_agent"):
        adjusted = _person_or_question(text, label, view.learned)
        if adjusted in ("noted", "mild_frustration"):
            return Decision("repair", adjusted, notice=notice, settle=settle, clear=frozenset(clear))
        label = adjusted

    if not carried and _BARE_NUMBER.match(text) and intent.source == "model":
        # A lone number answers nothing that was asked: a code is a quote, anything else is unclear.
        if "security" in slots:
            return Decision("flow", "market_quote", slots, notice, settle, frozenset(clear))
        return Decision("repair", "bare_number", notice=notice, settle=settle, clear=frozenset(clear))
    if not carried and not ruled and intent.confidence < min_confidence and intent.source == "model":
        return Decision("repair", "low_confidence", notice=notice, settle=settle, clear=frozenset(clear))
    return Decision("flow", label, slots, notice, settle, frozenset(clear))


def _ruled_label(view: TurnView, label: str, slots: dict) -> tuple[str, bool]:
    """The label when the message's own words decide it, not the intent model's guess (True), or the
    model's label unchanged (False): a repo, a request for a person, a rule question with no security
    named, "what may I buy", an order said whole, a foreign name to trade."""
    text = view.text
    if _repo_request(view, slots):
        return "reverse_repo", True
    if view.parse.slots.repo and (_QUESTION.search(text) or "还是" in text) and \
            (not view.signed_in or not slots.get("amount") or _YIELD_QUESTION.search(text)):
        # 逆回购怎么买 最少要多少钱 / 10万买1天 年化2% 能拿多少利息: a question about repos, whatever it resembled
        return "kb_question", True
    if slots.get("tenor_days") and slots.get("amount") and _STATED_RATE.search(text) and _QUESTION.search(text) and \
            not slots.get("security"):
        return "kb_question", True  # "我周四做10万1天期 年化1.8% 能拿多少": repo arithmetic, the word 逆回购 unsaid
    if _PERSON.search(text) and not not_a_request_for_person(text) and not informational(text):
        return "human_agent", True
    if _defers_to_knowledge(view, label, slots):
        return "kb_question", True
    if label in ("market_quote", "investment_advice_request", "place_order", "order_status", "out_of_scope") and \
            not slots.get("security") and not slots.get("security_candidates") and _RULE_QUESTION.search(text) and \
            not slots.get("quantity"):
        return "kb_question", True
    if label == "investment_advice_request" and _WHAT_CAN_I_BUY.search(text) and not slots.get("security"):
        return "suitability_scope", True
    if label == "investment_advice_request" and asks_about(text) and not slots.get("security"):
        # 为什么你们不能推荐股票 / 现在还能买到保本的产品吗: a question about the rule, answered from the knowledge base
        return "kb_question", True
    if label not in ("cancel_order", "fees", "positions") and slots.get("security") and \
            slots.get("side") and (slots.get("quantity") or slots.get("quantity_mode")) and \
            (not _QUESTION.search(text) or _POLITE_REQUEST.search(text)):
        return "place_order", True  # 明天买工行一千股 七块: an order said whole, whatever else it sounded like
    if _ABROAD.search(text) and not slots.get("security") and (slots.get("side") or _QUESTION.search(text)):
        return "place_order", True  # 买点美团 / 能买港股吗: the order flow says what we can and cannot do
    return label, False


# What needs the customer's own account: a look-up, an order, a cancellation.
_LOOKUPS = frozenset({"account_balance", "positions", "order_status", "trade_history", "account_opening_status"})
_ACCOUNT_LABELS = _LOOKUPS | {"place_order", "cancel_order"}
# Answered by their own flows, which use the knowledge themselves (conditions beside the customer's status).
_KNOWLEDGE_FLOWS = frozenset({"kb_question", "fees", "open_permission", "risk_assessment", "suitability_scope",
                              "human_agent", "complaint", "reverse_repo", "greeting", "goodbye", "confirm", "deny"})
# The customer's own account or a request to act, rather than a question about how things work.
_OWN_ACCOUNT = re.compile(r"我的|我账户|我帐户|我户|我这(边|里)?(的)?(钱|股|单|账)|帮我|给我|替我|我(现在|目前|今天|刚才|刚刚)?(有|还有|买了|卖了|持有|下了|挂了)")
_HOW = re.compile(r"怎么|如何|咋|什么|啥|为什么|为啥|规则|流程|步骤|条件|要求|多久|多长|多少|几|哪里|在哪|还是|吗|么|嘛|？|\?|"
                  r"是不是|能不能|会不会|有没有|对不对|行不行|可不可以|要不要")
# How something is done or what it means, rather than the customer's own figures: "持仓在哪看", not "还有多少钱".
_HOW_TO = re.compile(r"怎么|如何|咋|在哪|哪里|什么意思|是什么|什么是|为什么|为啥|规则|流程|步骤|条件|要求|能不能|可不可以|可以吗|能.{0,6}吗|会不会")
# Words that point at the customer's own account ("账户里还有多少钱", "资金余额多少").
_ACCOUNT_WORDS = re.compile(r"我|账户|帐户|账上|余额|资金|持仓|仓位|委托|成交|订单|单子")
# The account itself, not only the first person ("我账户还有多少钱", not "我有1000股 转完有多少股").
_ACCOUNT_ITSELF = re.compile(r"账户|帐户|账上|余额|资金|持仓|仓位|委托|订单|单子|可用|可取")
# Asking for something to be done: "帮我看看持仓", "就它吧 借五万", "转五千块给我朋友".
_REQUEST = re.compile(r"^(帮我|给我|替我|我要|我想要|麻烦|请|就它|就这个|就那个|来)|帮我|给我(看|查|转|买|卖|撤|挂)|就它吧|就这个吧")


def _defers_to_knowledge(view: TurnView, label: str, slots: dict) -> bool:
    """A rule or how-to question is answered from the knowledge whatever action it resembles: when the
    FAQ has its standard question, or when a visitor asks about what needs an account. Never for an
    order said whole, a named security's quote, or a signed-in customer asking about their own account."""
    asks = bool(_HOW.search(view.text))
    if label == "human_agent" and asks and view.faq is not None and view.faq.dense >= 0.94 and \
            view.faq.overlap >= 0.5 and not _PERSON.search(view.text):
        return True  # "可以找谁调解": a standard question, worded as one, about where to turn, not a request for a person
    if view.follow_up and view.faq is not None and (asks or "呢" in view.text) and \
            label not in ("human_agent", "complaint", "greeting", "goodbye") and not slots.get("security"):
        return True  # "红利税什么时候扣" then "要是一直不卖呢": still the rule, whatever the words resembled
    if label == "reverse_repo" and view.faq is not None and asks and not _REQUEST.search(view.text):
        return True  # "20万做1天nhg 年化1.5%能赚几块": the arithmetic and the rule, not a repo to confirm
    if view.faq is not None and view.faq.entry.topic in SCAM_TOPICS and not slots.get("security") and \
            label not in ("human_agent", "complaint") and not _REQUEST.search(view.text):
        return True  # "收到短信说我账户异常 让点链接处理": the scam it describes, whatever action it resembled
    if label in _KNOWLEDGE_FLOWS:
        return False
    if slots.get("security") or slots.get("security_candidates") or slots.get("order_id"):
        return False
    if slots.get("quantity") and not asks:
        return False  # "卖50股": an order short of its security, which the order flow asks for
    if _REQUEST.search(view.text) and not _HOW_TO.search(view.text):
        return False  # asked to be done, not asked about
    own = bool(_OWN_ACCOUNT.search(view.text))
    if label in _ACCOUNT_LABELS:
        if not view.signed_in and view.faq is not None and asks and not _ACCOUNT_ITSELF.search(view.text):
            return True  # a visitor has no account here to look at: "10转5 我有1000股 转完有多少股" is the rule
        # Their own balance, positions or orders are a look-up for a customer, a sign-in for a visitor;
        # only how it works ("持仓在哪看", "逆回购是点买入还是卖出") is the knowledge's.
        how_to = bool(_HOW_TO.search(view.text)) or (label in ("place_order", "cancel_order") and asks) or \
            (view.faq is not None and asks and not _ACCOUNT_WORDS.search(view.text))  # "可转债面值一张多少钱"
        return how_to and not (view.signed_in and own and label in _LOOKUPS) and \
            (view.faq is not None or not view.signed_in)
    return view.faq is not None and asks


def _settle_pending(view: TurnView, state: DialogueState, label: str, slots: dict,
                    min_confidence: float, ruled: bool) -> Decision | None:
    """A confirmation is waiting and still valid. None: the turn starts something new instead."""
    text, pending = view.text, state.pending_action
    sure = ruled or view.parse.intent.confidence >= min_confidence
    asking = bool(_QUESTION.search(text))  # a question is answered; it never changes the order
    gone = frozenset({"pending_action"})
    if repair.is_cancel(text):
        if _PERSON.search(text):
            return Decision("flow", "human_agent", {}, notice="（刚才待确认的操作没有办理。）\n", settle="declined",
                            clear=gone)
        return Decision("repair", "cancel", settle="declined", clear=gone)
    if repair.is_explicit_yes(text):
        return Decision("execute", pending.kind, settle="given", clear=gone)
    if pending.kind == "place_order":
        changes = order_slots(slots) or _bare_correction(text, pending.slots, [])
        terms = any(k != "security" for k in changes)
        same = not changes.get("security") or changes["security"]["code"] == pending.slots.get("security", {}).get("code")
        worded = repair.sounds_like_correction(text)
        if changes and (worded or (same and terms and not asking and (label in ("place_order", "deny", "confirm")
                                                                    or view.parse.intent.confidence < 0.6
                                                                    or len(text) <= 12))):
            return Decision("flow", "place_order", {**pending.slots, **changes}, settle="corrected", clear=gone,
                            prefix="已按您的修改重新生成委托。\n")
        if changes and not same and label == "place_order" and terms:
            return None  # an order for another security: a new preview, this one dropped and said so
    if pending.kind == "reverse_repo" and repo_slots(slots, text) and \
            (repair.sounds_like_correction(text) or not asking):
        return Decision("flow", "reverse_repo", {**pending.slots, **repo_slots(slots, text)}, settle="corrected",
                        clear=gone, prefix="已按您的修改重新生成委托。\n")
    if repair.asks_repeat(text) or repair.asks_why(text):
        return Decision("repair", "reconfirm", settle="unclear")
    if label in ("human_agent", "complaint") and not informational(text):
        return Decision("flow", label, slots, notice="（刚才待确认的操作没有办理。）\n", settle="dropped", clear=gone)
    if label in ("place_order", "cancel_order") and sure and (slots.get("security") or slots.get("order_id")):
        return None
    if label in DIGRESSIONS and (sure or asking) and not label == "investment_advice_request":
        return Decision("flow", label, slots, settle="kept", resume=True)
    return Decision("repair", "reconfirm", settle="unclear")


def _with_references(view: TurnView, state: DialogueState, slots: dict) -> dict:
    """"买100股它" and "它现在多少钱" name the security talked about last."""
    if slots.get("security") or slots.get("security_candidates") or not state.last_security:
        return slots
    if _PRONOUN.search(view.text):
        return {**slots, "security": state.last_security}
    # Ellipsis: "那买三百股 市价" after a quote, "再来一百股" after an order — the security talked about last.
    # The preview names it, and nothing is done without the customer's explicit yes.
    if view.parse.intent.label in ("place_order", "fees") and (slots.get("quantity") or slots.get("quantity_mode")) \
            and not _RULE_QUESTION.search(view.text):
        return {**slots, "security": state.last_security}
    return slots


def _with_last_side(view: TurnView, state: DialogueState, slots: dict) -> dict:
    """"再来一百股", "五粮液也挂一个", "那重新来 还是茅台一百股市价": the side of the order just placed or
    previewed (and 市价 when that one was at market and this one names no price). The new preview shows it all."""
    if not _AGAIN.search(view.text):
        return slots
    last = state.last_order or (state.last_slots if state.last_intent == "place_order" else None) or {}
    carried = {}
    if not slots.get("side") and last.get("side"):
        carried["side"] = last["side"]
    if not slots.get("price_type") and last.get("price_type") == "market":
        carried["price_type"] = "market"
    return {**slots, **carried}


def _bare_correction(text: str, slots: dict, reasons: list[str]) -> dict:
    """"改成1400" names no unit: a price when the refusal was about the price or the number reads as one
    near the order's price, a quantity when it was about the quantity or the number is whole lots."""
    m = _CORRECTED_NUMBER.search(text)
    value = chinese_to_number(m.group(1)) if m else None
    if value is None or value <= 0:
        return {}
    about_price = any("价格" in r for r in reasons) or "价" in text
    about_quantity = any("数量" in r or "股" in r for r in reasons) or "股" in text or "手" in text
    if about_price and not about_quantity:
        return {"price_type": "limit", "price": str(value)}
    if about_quantity and not about_price and value == value.to_integral_value():
        return {"quantity": int(value), "quantity_mode": "shares"}
    price = slots.get("price")
    if price and abs(float(value) - float(price)) <= 0.5 * float(price):
        return {"price_type": "limit", "price": str(value)}
    if slots.get("quantity") and value == value.to_integral_value() and value % 100 == 0:
        return {"quantity": int(value), "quantity_mode": "shares"}  # 是一千五 of a 1000-share order
    return {}


def _carries_over(text: str, label: str, confidence: float, slots: dict) -> bool:
    if not any(k in slots for k in ("security", "date_range", "permission", "security_candidates")):
        return False
    short = len(text) <= 12
    follow_up = bool(_FOLLOW_UP.search(text))
    return (follow_up or short) and (confidence < 0.8 or label in ("kb_question", "market_quote", "out_of_scope"))


def _slot_answer(asked: PendingSlot, text: str, slots: dict) -> dict:
    answer = {k: v for k, v in slots.items() if k in _SLOT_KEYS.get(asked.slot, ())}
    if asked.slot in ("quantity", "price", "order_id", "amount", "tenor_days") and not answer:
        m = _BARE_NUMBER.match(text)
        value = chinese_to_number(m.group(1)) if m else None
        if value is not None and value > 0:
            if asked.slot == "quantity" and value == value.to_integral_value():
                answer = {"quantity": int(value) * (100 if m.group(2) == "手" else 1), "quantity_mode": "shares"}
            elif asked.slot == "price":
                answer = {"price_type": "limit", "price": str(value)}
            elif asked.slot == "order_id" and value == value.to_integral_value():
                answer = {"order_id": str(int(value))}
            elif asked.slot == "amount":
                answer = {"amount": str(value)}
            elif asked.slot == "tenor_days" and value == value.to_integral_value():
                answer = {"tenor_days": int(value)}
    if asked.slot == "security" and not answer and slots.get("security_candidates"):
        answer = {"security_candidates": slots["security_candidates"]}
    if asked.slot == "security" and not answer and asked.slots.get("security_candidates"):
        # "银行那个" after 中信银行 / 中信证券: the one candidate a word of the reply points to
        words = [w for w in re.findall(r"[\u4e00-\u9fff]{2,}", text)]
        picked = [c for c in asked.slots["security_candidates"]
                  if any(w[i:i + 2] in c["name"] for w in words for i in range(len(w) - 1))]
        if len(picked) == 1:
            answer = {"security": {**picked[0], "match": "confirmed"}, "security_candidates": []}
    return answer


def _person_or_question(text: str, label: str, learned: LearnedView) -> str:
    """The intent model heard 投诉 or 人工; is it a request, a question about the service, or a remark?"""
    if informational(text) or scam_question(text):
        return "kb_question"  # "投诉渠道有哪些？" is a question about the service: the knowledge base answers
    if label == "complaint" and mild_frustration(text):
        return "mild_frustration"
    doubted = (label == "complaint" and (learned.doubts("complaint", "negative_sentiment") or settled_matter(text))) or \
        (label == "human_agent" and (learned.doubts("customer_request") or not_a_request_for_person(text)))
    if doubted:
        return "kb_question" if asks_question(text) else "noted"
    return label


def _repo_request(view: TurnView, slots: dict) -> bool:
    """A reverse repo to do now: named (逆回购, GC001) with an amount or a tenor and no question, or
    "10万的1天期" — a sum and a tenor in an order's words."""
    named = view.parse.slots.repo
    if named and _REPO_VERB.search(view.text) and not _QUESTION.search(view.text) and "还是" not in view.text:
        return True  # "我要做逆回购": the flow asks for the tenor and the amount
    if not (slots.get("repo_code") or slots.get("tenor_days") or slots.get("amount")):
        return False
    if _QUESTION.search(view.text) and (not view.signed_in or not slots.get("amount") or _YIELD_QUESTION.search(view.text)):
        return False  # "最少要多少钱", "10万买1天能拿多少利息", a visitor's "不是10万起吗": asked about, not asked for
    if named:
        return True
    return bool(slots.get("tenor_days") and slots.get("amount")) and not slots.get("security")
