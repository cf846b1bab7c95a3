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
from assistant.compliance.rules import scam_hearsay, scam_question, settled_matter

# --- strong negative sentiment: a small lexicon, weighted, plus intensity cues ---------------------
# Words of anger or distress aimed at the service (not at the market: "跌惨了" is a fact, not anger).
_ANGER = {
    3: ("垃圾", "骗子", "坑人", "坑爹", "黑心", "无耻", "欺诈", "忍无可忍", "受够了", "气死", "滚", "他妈", "妈的", "tmd",
        "fuck", "狗屁", "去死", "废物", "恶心", "混蛋", "王八", "什么破", "烂透", "太烂", "要疯了", "崩溃了", "欺负人",
        "耍我", "当猴耍", "糊弄", "骗人", "蠢死", "蠢货", "听不懂人话", "脑子有病", "智障", "活不下去", "不想活",
        "怎么活下去", "活着没意思", "想死"),
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
_CUSTOMER_REQUEST = re.compile(r"找(你们的)?(工作人员|真人|人工|客服人员|专人)|(真人|人工)(来|帮我|处理)")
# "不用转人工，我自己看看" declines a person; "需要人工确认吗" means manual work, not a person to talk to.
_DECLINES_PERSON = re.compile(r"(不用|不需要|不要|无需|没必要|别)(给我)?(转|找|叫|接)?(人工|真人|客服|工作人员)")
_MANUAL = re.compile(r"人工(确认|审核|复核|核对|干预|操作|处理的吗|智能)")
_FORMAL_THREAT = re.compile(r"(打|找|去)(12386|证监会|监管)|投诉(你们|到)")
_STATED_COMPLAINT = re.compile(r"我(要|想|必须|一定要|得)(正式)?投诉|(正式|实名)投诉|投诉你们|tousu|file\s*a\s*complaint", re.IGNORECASE)
_FORMAL_COMPLAINT = re.compile(r"投诉|举报|申诉|12386|证监会|监管|维权")

# --- requests that need a licensed investment adviser ------------------------------------------------
# Personal portfolio advice and planning: the assistant may not give it, a licensed person may.
_ADVISER = re.compile(
    r"投资顾问|投顾(老师|人员|服务)?|理财顾问|理财经理|持牌(人员|顾问)|专业(人士|人员|的人).{0,6}(建议|指导|分析|规划)"
    r"|资产配置|配置(一下)?(我的)?(资产|仓位|组合)"
    r"|(帮|给|替)(我|我们|我家|我们家|我们老两口)[^，。,.]{0,4}(做|定|制定|出|规划|配置|设计|安排)[^，。,.]{0,8}(方案|规划|组合|计划|配置)"
    r"|(理财|投资|养老|财务|退休)(规划|方案)|诊断.{0,4}(持仓|组合|账户)|(持仓|组合|账户)诊断|调仓(建议|方案)"
    r"|一对一.{0,6}(咨询|服务|指导)|(想|要|找).{0,6}(专业|持牌).{0,6}(人|顾问|老师)"
    r"|licensed\s+(financial\s+|investment\s+)?advis[eo]r|(financial|investment)\s+(advis[eo]r|planner)",
    re.IGNORECASE,
)


def needs_adviser(text: str) -> bool:
    return bool(_ADVISER.search(text) or _PERSONAL_CRISIS.search(text)) and not informational(text)


# A personal situation only a qualified person should decide on (an estate, a margin call).
_PERSONAL_CRISIS = re.compile(r"(帮我|替我|给我)拿(个)?主意|(遗产|继承|去世).{0,40}(分|过户|税)|追加担保物.{0,40}(怎么办|先卖|拿主意)"
                              r"|(强平|平仓线|爆仓|追保|补仓).{0,60}(帮我判断|拿主意|需要有人|找个人)")

# --- a question about the service, not a request for it ---------------------------------------------
_ASKS = re.compile(r"(吗|么|呢|没有)[？?。]?$|[？?]$|(吗|么)[，,]")
# "如果我要投诉的话，打什么电话？" asks how it would go, not for it to happen.
_HYPOTHETICAL = re.compile(r"如果|假如|假设|万一|要是|若是|倘若")
_ABOUT = re.compile(r"周末|节假日|假期|晚上|夜里|上班|下班|工作日|服务时间|营业时间|哪些|哪里|多久|几点|什么时候|怎么回事|是什么|收费|能信|会不会|是否|可以.{0,16}吗|有没有|是不是|一般|怎么(投诉|反映|举报)|区别|有什么不同")
_STRONG_ABOUT = re.compile(r"哪些|哪里|多久|几点|什么时候|怎么回事|能信吗|是否|可以.{0,16}吗|有什么区别|区别是什么|"
                           r"(怎么|如何)(确认|核实|验证|查证|辨别|分辨|核查|判断|查询)")
_ACTING = re.compile(r"我要|我想(找|转|投诉)|帮我|给我(转|查|办|处理|看)|转人工(?![^，,。？?]{0,8}(多久|几点|什么时候|要等|排队|时间|有人吗))|找人工|马上|立刻|还没(办|到|处理|成交|好|通过|回)|一直|没人管|不处理|拖|骗了|被骗|取不出")


def asks_question(text: str) -> bool:
    return bool(_ASKS.search(text.strip()) or "?" in text or "？" in text)


def informational(text: str) -> bool:
    """"投诉渠道有哪些？" asks how things work (the knowledge base answers); "我要投诉" asks for a person."""
    asks = _ASKS.search(text.strip()) or _STRONG_ABOUT.search(text)
    if asks and _HYPOTHETICAL.search(text):
        return True
    return bool(asks and _ABOUT.search(text) and not _ACTING.search(text))


def not_a_request_for_person(text: str) -> bool:
    """人工 or 客服 said without asking to be put through to someone."""
    return bool(_DECLINES_PERSON.search(text) or _MANUAL.search(text))


# --- what a compliance reviewer must see --------------------------------------------------------------
# A customer reporting our own staff for promises, fees or using their password.
_STAFF = re.compile(r"投顾|客户经理|经理|营业部|你们.{0,4}(员工|工作人员|老师)|理财师")
_MISCONDUCT = re.compile(r"稳赚|保证|兜底|保本|内幕|服务费|密码|在我账户|帮我(操作|买卖|下单|做(了|的)?(短线|交易|波段))|代客|私下|"
                         r"(帮|替)我(填|答)|代(填|答)|(帮|替)我(做|选)(了)?[^，,。]{0,4}(测评|问卷|选项|答案)")
# Trading or reading someone else's account for them.
_OTHERS_ACCOUNT = re.compile(r"(爸|妈|老婆|老公|媳妇|丈夫|妻子|朋友|亲戚|同事|别人|他|她)(的)?(账户|账号)|帮(她|他)(卖|买|下单)")
_OTHERS_ACT = re.compile(r"下(一)?单|买|卖|交易|操作|查|持仓")
# A victim of an outside scam (not a would-be one who hung up).
_SCAMMED = re.compile(r"取不出|提不出|不回(我)?消息|联系不上|拉黑|跑路|被骗")
_LOSS = re.compile(r"投了|转了|充了|汇了|打了|交了")


def mild_frustration(text: str) -> bool:
    """A sigh about the market ("又跌了，真烦"), not a grievance against us: no complaint, no target."""
    return not _FORMAL_COMPLAINT.search(text) and not _AIMED.search(text) and negativity(text) < STRONG_NEGATIVE


def staff_misconduct(text: str) -> bool:
    return bool(_STAFF.search(text) and _MISCONDUCT.search(text))


def others_account(text: str) -> bool:
    return bool(_OTHERS_ACCOUNT.search(text) and _OTHERS_ACT.search(text)) and not informational(text)


def scammed(text: str) -> bool:
    return bool(_SCAMMED.search(text) and _LOSS.search(text))


# --- a customer who cannot follow what was said -----------------------------------------------------
# "看不懂", "还是不会弄", "找不到那个按钮": the answer did not help. An older customer ("我七十多了",
# "眼睛不好") who says so after an answer needs a person sooner.
_CONFUSED = re.compile(r"(看|听|搞|弄|整|学)不(懂|明白|清楚|会)|不会(弄|操作|用|搞|整|点)|(弄|搞|整|操作)不(来|了|好|明白)|跟不上|"
                       r"找不(到|着)|还是不(行|会|懂|对|明白|清楚)|没(看|听|搞|弄)(懂|明白)|太复杂|太难了|记不住|不懂怎么|一头雾水|晕了")
_ELDERLY = re.compile(r"年纪大|岁数大|老年人|老人家|[六七八九]十(多|几)?岁?了|[六七八九]\d岁|眼睛不好|眼睛花|眼花|老花|不会用(智能)?手机|退休(老人|的老)")


def confused(text: str) -> bool:
    return bool(_CONFUSED.search(text)) and not informational(text)


def elderly(text: str) -> bool:
    return bool(_ELDERLY.search(text))


# --- the run of turns -------------------------------------------------------------------------------
# Serious prohibited requests a compliance reviewer must see, not only refuse.
REVIEW_RULES = {"aml_evasion", "market_manipulation", "inside_information"}


# "您好，想问几个开户的问题": an opening that announces questions asks none; nothing was left unanswered.
_PREAMBLE = re.compile(r"^(您好|你好|hi|hello|在吗|请问)?[，,！!～~\s]*(我)?(想|要|来|还)?(问|咨询|请教|了解)(一下|几个|个|点|些)?"
                       r"([^，,。？?！!]{0,8}(问题|事情|事|情况))?[。.!！～~]?$", re.IGNORECASE)


def preamble(text: str) -> bool:
    return bool(_PREAMBLE.match(text.strip()))


def unanswered(reply: Reply) -> bool:
    """The assistant did not answer: it asked the customer to rephrase, or the knowledge base had nothing."""
    if reply.action == "clarify" or (reply.intent == "out_of_scope" and reply.action == "small_talk"):
        return True
    if (reply.data or {}).get("worked_example"):
        return False  # the customer's own figures worked through is an answer, though no passage is cited
    return reply.action == "answer_from_kb" and not reply.citations and reply.intent in ("kb_question", "fees", "out_of_scope",
                                                                                         "open_permission", "risk_assessment")


@dataclass
class TurnSignals:
    """What the trigger saw, kept in the dialogue state between turns."""

    unanswered_run: int
    refusal_run: int


_PRIORITY = {"fraud_victim": "urgent", "guard_review": "high", "complaint": "high", "negative_sentiment": "high"}


def evaluate(text: str, reply: Reply, signals: TurnSignals, *, blocked: bool,
             learned: str | None = None, doubt: bool = False, answered_before: bool = False) -> tuple[Handoff | None, TurnSignals]:
    """The handoff this turn calls for (if the reply does not already carry one), and the new run counts.

    `text` is the customer's masked message; `blocked` says the output guard stopped the reply;
    `learned` is the reason the learned check found in the message (learned.py), if any: it
    counts only where no pattern has decided and the message is not a question about the service.
    `doubt` says the learned check sees nothing to hand over in the message: then the broad word
    patterns (a request for a person, a threat to complain, the anger lexicon) do not decide: they
    fire on "我朋友说要去证监会投诉" and "销户要去营业部吗" too. The narrow ones (staff misconduct,
    someone else's account, a scam with a loss, a plan only an adviser may make), the reply, the
    guards and the run of turns still do. `answered_before` says the assistant had replied before
    this turn: then "我还是不会弄" is the previous answer failing, and counts as an unanswered turn
    (two of them for an older customer)."""
    refused = reply.action == "refuse" and any(f in REVIEW_RULES | {"prompt_injection", "other_customer_data"}
                                               for f in reply.flags)
    lost = answered_before and confused(text)
    missed = (unanswered(reply) and not preamble(text)) or lost
    runs = TurnSignals(
        unanswered_run=signals.unanswered_run + (2 if lost and elderly(text) else 1) if missed else 0,
        refusal_run=signals.refusal_run + 1 if refused else 0,
    )
    words = not doubt  # the word patterns may decide
    settled = settled_matter(text)  # "上次转人工查的那笔已经到账了": 人工 and 投诉 told of the past
    if staff_misconduct(text) or others_account(text):
        return Handoff(reason="guard_review", priority="high"), TurnSignals(0, 0)
    if scammed(text):
        return Handoff(reason="fraud_victim", priority="urgent"), TurnSignals(0, 0)
    if _STATED_COMPLAINT.search(text) and not informational(text) and \
            (reply.handoff is None or reply.handoff.reason == "customer_request"):
        # "我要投诉你们，转人工": a complaint that asks for a person is filed as the complaint it is.
        return Handoff(reason="complaint", priority="high"), TurnSignals(0, 0)
    if words and not settled and _CUSTOMER_REQUEST.search(text) and not informational(text) \
            and not not_a_request_for_person(text) and reply.handoff is None:
        return Handoff(reason="customer_request"), TurnSignals(0, 0)
    if words and not settled and _FORMAL_THREAT.search(text) and reply.handoff is None:
        return Handoff(reason="complaint", priority="high"), TurnSignals(0, 0)
    if reply.handoff is not None:
        if reply.handoff.reason == "complaint" and not _FORMAL_COMPLAINT.search(text) and negativity(text) >= STRONG_NEGATIVE:
            # Anger without asking to complain is the sentiment trigger, whatever the classifier called it.
            return Handoff(reason="negative_sentiment", priority="high"), TurnSignals(0, 0)
        return reply.handoff, TurnSignals(0, 0)
    if words and negativity(text) >= STRONG_NEGATIVE and not scam_question(text):  # "骗子一般怎么骗老人" is not anger
        return Handoff(reason="negative_sentiment", priority="high"), TurnSignals(0, 0)
    if needs_adviser(text):
        return Handoff(reason="licensed_advice"), TurnSignals(0, 0)
    review = any(f in REVIEW_RULES for f in reply.flags) and not informational(text)
    if blocked or review or runs.refusal_run >= 2:
        return Handoff(reason="guard_review", priority="high"), TurnSignals(0, 0)
    if learned is not None and not informational(text) and not settled and \
            not (learned == "fraud_victim" and scam_hearsay(text)):
        return Handoff(reason=learned, priority=_PRIORITY.get(learned, "normal")), TurnSignals(0, 0)
    if runs.unanswered_run >= 2:
        return Handoff(reason="unanswered"), TurnSignals(0, 0)
    return None, runs
