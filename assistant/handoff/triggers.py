"""When the assistant should hand a conversation to a person.

Some triggers are decided where they happen (the policy for a request for a person or a
complaint, the input guard for a fraud victim); the rest are read here from the turn: the
customer's words (strong negative sentiment, a request only a licensed adviser may answer), the
reply (a guard blocked what the assistant would have said) and the run of turns before it (two
in a row the assistant could not answer, requests the guard keeps refusing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.domain import Handoff, Reply

# --- strong negative sentiment: a small lexicon, weighted, plus intensity cues ---------------------
# Words of anger or distress aimed at the service (not at the market: "跌惨了" is a fact, not anger).
_ANGER = {
    3: ("垃圾", "骗子", "坑人", "坑爹", "黑心", "无耻", "欺诈", "忍无可忍", "受够了", "气死", "滚", "他妈", "妈的", "tmd",
        "fuck", "狗屁", "去死", "废物", "恶心", "混蛋", "王八", "什么破", "烂透", "太烂", "要疯了", "崩溃了", "欺负人",
        "耍我", "当猴耍", "糊弄", "骗人"),
    2: ("愤怒", "太差", "极差", "差劲", "失望透", "非常失望", "很失望", "太失望", "气愤", "生气", "火大", "恼火", "无语",
        "离谱", "过分", "不像话", "敷衍", "踢皮球", "没用", "不负责", "忽悠", "烦死", "绝望", "销户", "换券商", "再也不"),
}
_AIMED = re.compile(r"你们|你|客服|机器人|公司|券商|明川|系统|app|APP|服务|态度")
_INTENSE = re.compile(r"[!！]{2,}|[?？]{3,}|到底|究竟|凭什么|几遍|多少次|第[二三四五六七八九十\d]+次|一直|还是不|根本")
_MARKET_ONLY = re.compile(r"^(今天|最近|这几天)?.{0,8}(跌|亏|套)(得|了)?.{0,4}(惨|狠|多)")


def negativity(text: str) -> int:
    """A score for how angry or distressed the customer sounds at us; 3 or more is strong."""
    low = text.lower()
    score = 0
    for weight, words in _ANGER.items():
        score += weight * sum(1 for w in words if w in low)
    if score and _AIMED.search(text):
        score += 1
    if _INTENSE.search(text):
        score += 1
    if _MARKET_ONLY.search(text) and score < 3:
        return 0
    return score


STRONG_NEGATIVE = 3
_FORMAL_COMPLAINT = re.compile(r"投诉|举报|申诉|12386|证监会|监管|维权")

# --- requests that need a licensed investment adviser ------------------------------------------------
# Personal portfolio advice and planning: the assistant may not give it, a licensed person may.
_ADVISER = re.compile(
    r"投资顾问|投顾(老师|人员|服务)?|理财顾问|理财经理|持牌(人员|顾问)|专业(人士|人员|的人).{0,6}(建议|指导|分析|规划)"
    r"|资产配置|配置(一下)?(我的)?(资产|仓位|组合)|(帮我|给我|替我)(做|制定|规划|配置|设计).{0,8}(方案|规划|组合|计划|配置)"
    r"|(理财|投资|养老|财务|退休)(规划|方案)|诊断.{0,4}(持仓|组合|账户)|(持仓|组合|账户)诊断|调仓(建议|方案)"
    r"|一对一.{0,6}(咨询|服务|指导)|(想|要|找).{0,6}(专业|持牌).{0,6}(人|顾问|老师)"
)


def needs_adviser(text: str) -> bool:
    return bool(_ADVISER.search(text))


# --- the run of turns -------------------------------------------------------------------------------
# Serious prohibited requests a compliance reviewer must see, not only refuse.
REVIEW_RULES = {"aml_evasion", "market_manipulation", "inside_information"}


def unanswered(reply: Reply) -> bool:
    """The assistant did not answer: it asked the customer to rephrase, or the knowledge base had nothing."""
    if reply.action == "clarify" or (reply.intent == "out_of_scope" and reply.action == "small_talk"):
        return True
    return reply.action == "answer_from_kb" and not reply.citations and reply.intent in ("kb_question", "fees", "out_of_scope",
                                                                                         "open_permission", "risk_assessment")


@dataclass
class TurnSignals:
    """What the trigger saw, kept in the dialogue state between turns."""

    unanswered_run: int
    refusal_run: int


def evaluate(text: str, reply: Reply, signals: TurnSignals, *, blocked: bool) -> tuple[Handoff | None, TurnSignals]:
    """The handoff this turn calls for (if the reply does not already carry one), and the new run counts.

    `text` is the customer's masked message; `blocked` says the output guard stopped the reply."""
    refused = reply.action == "refuse" and any(f in REVIEW_RULES | {"prompt_injection", "other_customer_data"}
                                               for f in reply.flags)
    runs = TurnSignals(
        unanswered_run=signals.unanswered_run + 1 if unanswered(reply) else 0,
        refusal_run=signals.refusal_run + 1 if refused else 0,
    )
    if reply.handoff is not None:
        if reply.handoff.reason == "complaint" and not _FORMAL_COMPLAINT.search(text) and negativity(text) >= STRONG_NEGATIVE:
            # Anger without asking to complain is the sentiment trigger, whatever the classifier called it.
            return Handoff(reason="negative_sentiment", priority="high"), TurnSignals(0, 0)
        return reply.handoff, TurnSignals(0, 0)
    if negativity(text) >= STRONG_NEGATIVE:
        return Handoff(reason="negative_sentiment", priority="high"), TurnSignals(0, 0)
    if needs_adviser(text):
        return Handoff(reason="licensed_advice"), TurnSignals(0, 0)
    if blocked or any(f in REVIEW_RULES for f in reply.flags) or runs.refusal_run >= 2:
        return Handoff(reason="guard_review", priority="high"), TurnSignals(0, 0)
    if runs.unanswered_run >= 2:
        return Handoff(reason="unanswered"), TurnSignals(0, 0)
    return None, runs
