"""Answers: the knowledge base, fee estimates, permissions, the App's own pages, and the fixed
replies (greeting, advice refusal, a person on request)."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from assistant.compliance import REFUSAL_LEADS, check_output
from assistant.conversation import templates as T
from assistant.conversation.flows.base import UNDER_REVIEW, Flow, Step, refuse
from assistant.conversation.store import DialogueState
from assistant.conversation.turn import TurnContext
from assistant.domain import Handoff, Reply
from assistant.tools import estimate_fees
from assistant.tools.examples import worked_example

_ABOUT_ME = re.compile(r"我能|我可以|我够|我符合|我满足|我这|我的条件")


def kb_reply(turn: TurnContext, label: str, prefix: str = "", suffix: str = "") -> Reply:
    """The knowledge's answer; the customer's own figures, when the question gives them, worked
    through first ("30万买1天期 年化3%" → the interest on 30万)."""
    kb = turn.services.kb()
    if kb is None or not kb.ready:
        return turn.reply(label, "answer_from_kb", prefix + T.KB_NOT_READY)
    example = worked_example(turn.question or turn.text, turn.now.date())
    if example:
        prefix += example + "\n"
    # A follow-up is searched as read with the question before it ("那基础层呢" → 新三板基础层门槛).
    answer = kb.answer(turn.question or turn.text, on_text=_guarded_stream(turn, prefix), faq=turn.faq)
    if example and _shown_in(example, answer.text):
        prefix = prefix[: -len(example) - 1]  # the answer's own example is the customer's: say it once
    if not answer.found:
        if example:  # the customer's own figures worked through, with the rates they rest on: that is the answer
            return turn.reply(label, "answer_from_kb", prefix.rstrip("\n"), data={"worked_example": True})
        return turn.reply(label, "answer_from_kb", prefix + answer.text)
    text, citations = answer.text, list(answer.citations)
    if answer.mode == "faq":
        for also in turn.faq_also:  # the other thing the same message asked, answered after the first
            text = _joined(text, also.entry.answer)
            citations += [c for c in also.entry.cited() if c.title not in {k.title for k in citations}]
    return turn.reply(label, "answer_from_kb", prefix + text + suffix, citations=citations)


def _joined(first: str, second: str) -> str:
    """Two answers as one reply, without saying a sentence twice."""
    said = {s.strip() for s in re.findall(r"[^。！？\n]+[。！？]?", first)}
    rest = "".join(s for s in re.findall(r"[^。！？\n]+[。！？]?\n?", second) if s.strip() not in said)
    return first.rstrip() + "\n" + rest.strip() if rest.strip() else first


def _shown_in(example: str, answer: str) -> bool:
    """Every result figure of the worked example is already in the answer."""
    figures = set(re.findall(r"≈ ([\d,]+(?:\.\d{2})?) 元", example))
    return bool(figures) and all(f in answer or f.replace(",", "") in answer for f in figures)


def _guarded_stream(turn: TurnContext, prefix: str) -> Callable[[str], None] | None:
    """Pass a streamed answer on sentence by sentence, each prefix checked by the output guard
    first; after the first violation nothing more is shown (the final, reviewed reply replaces
    the draft)."""
    sink, guards = turn.on_partial, turn.services.guards
    if sink is None or guards.judge is not None:
        return None  # with a judge, nothing is shown before it has read the whole reply
    shown, stopped = 0, False

    def on_text(so_far: str) -> None:
        nonlocal shown, stopped
        end = max(so_far.rfind(mark) for mark in "。！？；\n") + 1
        if stopped or end <= shown:
            return
        draft = prefix + so_far[:end]
        model = guards.output  # a draft never waits for the learned check to finish training
        if check_output(draft, model if model is not None and model.ready else None):
            stopped = True
            return
        shown = end
        sink(draft)

    return on_text


def _kb(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    return kb_reply(turn, "kb_question")


def _fees(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    security, qty = slots.get("security"), slots.get("quantity")
    estimate = ""
    if security and qty:
        s = turn.services
        sec = s.master.get(security["code"])
        px = Decimal(str(slots["price"])) if slots.get("price") else s.brokerage.quote(sec.code).last
        amount = (px * qty).quantize(Decimal("0.01"))
        side = slots.get("side") or "buy"
        f = estimate_fees(sec, side, amount)
        estimate = (f"按 {T.price(px)} 元{T.SIDE[side]} {qty} 股{sec.name}（成交金额约 {T.yuan(amount)}）估算："
                    f"佣金 {T.yuan(f.commission)}，印花税 {T.yuan(f.stamp_duty)}，过户费 {T.yuan(f.transfer_fee)}，"
                    f"合计约 {T.yuan(f.total)}。\n")
    return kb_reply(turn, "fees", prefix=estimate)


def _permission(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    if slots.get("permission"):
        state.last_permission = slots["permission"]
    if turn.customer_id is None:
        reply = kb_reply(turn, "open_permission", suffix="\n已在明川证券开户的，用本人账号登录明川证券 App 再问我，我可以逐项对照您的账户，告诉您已满足哪些、还差多少。")
        if not reply.citations or _ABOUT_ME.search(turn.text):
            # "那我能开吗": whether this visitor qualifies is in their account; the rules are what we can say.
            rules = (reply.text + "\n") if reply.citations else ""
            reply.text = rules + ("您本人是否满足开通条件，要看账户的日均资产、交易经验和风险测评结果。已在明川证券开户的，"
                                  "在 App 内向我咨询时，我可以逐项对照您的账户，告诉您已满足哪些、还差多少。")
        return reply
    named = slots.get("permission") or (state.last_permission if turn.question != turn.text else None)
    items = turn.tools()["check_permission_eligibility"].invoke({"permission": named})
    text, citations = T.permissions_text(items), []
    if named and len(items) == 1:
        # The conditions, then where this customer stands against them and what is missing.
        rules = kb_reply(turn, "open_permission")
        if rules.citations:
            text, citations = rules.text + "\n\n您的账户情况：" + text, rules.citations
    if turn.services.brokerage.customer(turn.customer_id).status != "active":
        text = UNDER_REVIEW + "\n" + text
    return turn.reply("open_permission", "run_tool", text, citations=citations, data={"permissions": items})


def _suitability_scope(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    """"我能买什么" asks the customer's matching range, not for a pick: the range, never a product."""
    if turn.customer_id is None:
        return kb_reply(turn, "risk_assessment", suffix="\n已在明川证券开户的，用本人账号登录明川证券 App 再问我，我可以按您本人的测评结果告诉您可购买的风险等级范围。")
    r = turn.tools()["get_risk_profile"].invoke({})
    text = T.risk_text(r)
    if r.level and not r.expired:
        text += ("\n产品和证券的风险等级可在 App 的产品详情页查看，风险等级在您可购买范围内的才能买入。"
                 "这里说的是适当性匹配范围，不是对具体产品的推荐。")
    return turn.reply("risk_assessment", "run_tool", text, data=r)


def _risk_question(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    return kb_reply(turn, "risk_assessment", suffix="\n已在明川证券开户的，用本人账号登录明川证券 App 再问我，我可以直接查询您本人的测评结果和有效期。")


def _fixed(label: str, action: str, text: str, handoff: Handoff | None = None):
    def run(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
        if action == "refuse":
            return refuse(turn, state, label, text)
        return turn.reply(label, action, text, handoff=handoff)
    return run


KB_QUESTION = Flow("kb_question", (Step("answer", _kb),))
FEES = Flow("fees", (Step("answer", _fees),))
OPEN_PERMISSION = Flow("open_permission", (Step("answer", _permission),))
RISK_QUESTION = Flow("risk_assessment", (Step("answer", _risk_question),))
SUITABILITY_SCOPE = Flow("risk_assessment", (Step("answer", _suitability_scope),))
def _advice(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    """No advice; when the FAQ holds what the customer needs to know about the same thing (满仓加杠杆,
    新股稳赚), the refusal says it: one line, then those facts."""
    if turn.faq is None:
        return refuse(turn, state, "investment_advice_request", T.ADVICE_REFUSAL)
    entry = turn.faq.entry
    reply = refuse(turn, state, "investment_advice_request", REFUSAL_LEADS["investment_advice"] + "\n" + entry.answer)
    reply.citations = entry.cited()
    return reply


ADVICE = Flow("investment_advice_request", (Step("refuse", _advice),))
HUMAN_AGENT = Flow("human_agent", (Step("hand_off", _fixed("human_agent", "escalate", T.HUMAN_AGENT,
                                                           Handoff(reason="customer_request"))),))
COMPLAINT = Flow("complaint", (Step("hand_off", _fixed("complaint", "escalate", T.COMPLAINT,
                                                       Handoff(reason="complaint", priority="high"))),))
GREETING = Flow("greeting", (Step("answer", _fixed("greeting", "small_talk", T.GREETING)),))
GOODBYE = Flow("goodbye", (Step("answer", _fixed("goodbye", "small_talk", T.GOODBYE)),))
NOTHING_PENDING = Flow("confirm", (Step("answer", _fixed("confirm", "small_talk", T.NOTHING_PENDING)),))
DENY = Flow("deny", (Step("answer", _fixed("deny", "small_talk", "好的。目前没有正在办理的业务，什么也没有提交。还有什么可以帮您？")),))
OUT_OF_SCOPE = Flow("out_of_scope", (Step("answer", _fixed("out_of_scope", "small_talk", T.OUT_OF_SCOPE)),))
APP_PAGE_FLOWS = {label: Flow(label, (Step("answer", _fixed(label, "answer_from_kb", text)),))
                  for label, text in T.APP_PAGES.items()}
