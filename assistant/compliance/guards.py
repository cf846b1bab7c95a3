"""The two guards every message passes: inspect_input before anything reads it, review_output
before anyone sees it.

inspect_input masks personal data first (so nothing downstream — NLU, the dialogue state,
logs, the audit text, an LLM — ever holds it), then decides: answer normally, refuse with a
courteous reason and an alternative, or escalate a likely fraud victim at once.
review_output checks an outgoing message; personal data is masked (a rewrite), any other
violation means the message is not sent as it is (blocked, with a safe text in its place).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.compliance import messages as M
from assistant.compliance.classifier import MIN_UNIT, RuleClassifier
from assistant.compliance.judge import ComplianceJudge, InputReading
from assistant.compliance.pii import PII_NAMES, MaskResult, find_pii, mask_pii, normalize_width
from assistant.compliance.textnorm import is_invisible, simplified
from assistant.compliance.rules import (
    AFTER_MENTION,
    CLAUSE_END,
    DISCLAIMER_BREAK,
    DISCLOSURE,
    FRAUD_TOPIC,
    INJECTION_CONCEPT,
    HISTORY,
    INPUT_RULES,
    MARKET_WORDS,
    MENTION_SENTENCE,
    NEGATION_CLAUSE,
    NEGATION_NEAR,
    OUTPUT_RULES,
    PRODUCT_WORDS,
    QUOTE_CLOSE,
    QUOTE_OPEN,
    RETURN_FIGURE,
    RULE_STATEMENT,
    SCAM_LOSS,
    SCAM_REFUSED,
    SELF_TARGETED,
    SERVICE_OBJECT,
    SENTENCE_END,
    THIRD_PARTY,
    WARNING_LEAD,
    asks_about,
    scam_hearsay,
    settled_matter,
)

OUTPUT_RULE_NAMES = tuple(r.name for r in OUTPUT_RULES)
INPUT_RULE_NAMES = (*INPUT_RULES, "crisis", "credential", "pii")
# Despair or thoughts of suicide: a closed set of phrases, so a pattern, and never weighed against anything.
CRISIS = re.compile(r"不想活|活不下去|活不成了|没法活|不活了|想死|寻死|自杀|轻生|跳楼|跳河|割腕|吃安眠药|一了百了|了结(自己|生命)|"
                    r"结束(自己的)?生命|活着(真|都|还|也)?(有什么|没有|没)(啥)?(意思|意义|盼头)|死了算了|死了(就)?一了百了|不如死了")
REFUSALS = ("investment_advice", "guaranteed_return", "inside_information", "market_manipulation", "aml_evasion",
            "other_customer_data", "prompt_injection")
_RULE_BY_NAME = {r.name: r for r in OUTPUT_RULES}
# Spacing and filler inserted to slip past a keyword ("内 幕 消 息", "稳-赚") are ignored.
_ASKS_MEANING = re.compile(r"(这句|这段|这个|这些)(话|英文|英语|句子)?.{0,6}(是)?什么意思|怎么翻译|什么意思|"
                           r"\bwhat\s+(is|are)\s+(an?\s+)?(prompt\s+injection|jailbreak(ing)?)s?\b", re.IGNORECASE)
_FILLER = re.compile(r"[\s\u200b\u200c\u200d\ufeff·•\-_*~|/\\]+")


@dataclass
class GuardModels:
    """The learned checks: one over customer messages, one over outgoing text. Either may be absent
    (patterns alone then decide), but the service always builds both. With an LLM configured, the
    judge reads what the learned checks would (and takes their place whenever it answers)."""

    input: RuleClassifier | None = None
    output: RuleClassifier | None = None
    judge: ComplianceJudge | None = None

    def ensure_trained(self) -> None:
        for model in (self.input, self.output):
            if model is not None:
                model.ensure_trained()


@dataclass(frozen=True)
class Violation:
    rule: str
    span: str
    start: int
    end: int
    message: str


@dataclass
class InputDecision:
    masked: MaskResult
    rules: list[str]  # every rule the message touches, most serious first
    handling: str  # answer | mask | refuse | escalate
    reply: str | None = None  # the answer to send at once, when the guard answers itself
    notice: str = ""  # a line to put before the normal answer (a masked password, say)
    priority: str | None = None
    judged: InputReading | None = None  # the judge's reading, when it gave one

    @property
    def judge(self) -> str | None:
        """For the audit trail: "llm" when the judge's reading counted, None when the local checks decided alone."""
        return "llm" if self.judged is not None else None

    @property
    def text(self) -> str:
        return self.masked.text


@dataclass
class OutputReview:
    text: str  # what may be sent
    violations: list[Violation] = field(default_factory=list)
    action: str = "pass"  # pass | rewritten | blocked
    judged: bool = False  # the judge's review counted

    @property
    def compliant(self) -> bool:
        return not self.violations


def _squash(text: str) -> tuple[str, list[int]]:
    """The text without filler, and where each kept character came from."""
    kept, where = [], []
    for i, ch in enumerate(text):
        # Invisible characters (U+2060, U+00AD, U+3164 …) are filler too: 保\u2060本 is 保本.
        if not _FILLER.fullmatch(ch) and not is_invisible(ch):
            kept.append(ch)
            where.append(i)
    return "".join(kept), where


def _quoted(text: str, start: int, end: int) -> bool:
    before, after = text[:start], text[end:]
    opened = max(before.rfind(q) for q in QUOTE_OPEN)
    closed = max(before.rfind(q) for q in QUOTE_CLOSE if q not in QUOTE_OPEN) if opened >= 0 else -1
    return opened >= 0 and closed < opened and any(q in after[:30] for q in QUOTE_CLOSE)


def _is_mention(text: str, start: int, end: int) -> bool:
    """A phrase that is negated, warned against, quoted as hearsay or asked about is not a claim."""
    phrase = text[start:end]
    if len(phrase) >= 2 and phrase[0] == "不" and start > 0 and text[start - 1] == phrase[1]:
        return True  # 会不会亏, 要不要卖: a question (A-not-A), not the claim 不会亏 or the advice 不要卖
    clause_start = max((m.end() for m in CLAUSE_END.finditer(text, 0, start)), default=0)
    # A disclaimer ends where "：", "但是", "不过" begin what it does not cover.
    clause_start = max([clause_start, *(m.end() for m in DISCLAIMER_BREAK.finditer(text, clause_start, start))])
    before = text[clause_start:start]
    if NEGATION_NEAR.search(before[-2:] if len(before) >= 2 else before) or NEGATION_CLAUSE.search(before):
        return True
    if RULE_STATEMENT.search(before):
        return True
    if AFTER_MENTION.search(text[end:end + 40]):
        return True
    sentence_start = max((m.end() for m in SENTENCE_END.finditer(text, 0, start)), default=0)
    next_end = SENTENCE_END.search(text, end)
    sentence = text[sentence_start:next_end.start() if next_end else len(text)]
    # A list of a scam's tactics often follows a colon ("共同点：承诺高收益"); only a "but" ends the warning.
    lead_start = max([sentence_start, *(m.end() for m in DISCLAIMER_BREAK.finditer(text, sentence_start, start)
                                        if m.group() not in ":：—")])
    if WARNING_LEAD.search(text[lead_start:start]):  # a sentence that lists a scam's tactics
        return True
    # Quoted in a sentence that warns or refuses; or history told as history (保本基金已逐步转型).
    return (_quoted(text, start, end) and bool(MENTION_SENTENCE.search(sentence))) or bool(HISTORY.search(sentence))


def check_output(text: str, model: RuleClassifier | None = None, judge: ComplianceJudge | None = None) -> list[Violation]:
    """Every violation in an outgoing text, with the exact span, for review or rewriting."""
    return _check_output(text, model, judge)[0]


def _check_output(text: str, model: RuleClassifier | None, judge: ComplianceJudge | None) -> tuple[list[Violation], bool]:
    """The violations, and whether the judge's review counted.

    Patterns first; then the judge (when one is configured and answers) or else the learned model
    adds what was said without the telltale words. Neither can clear what a pattern found.
    """
    # 內幕消息 is 内幕消息: one character for one, so every span is the original's. The model reads the
    # text as it was trained (full-width punctuation kept), in simplified characters.
    read = simplified(text)
    norm = normalize_width(read)
    squashed, where = _squash(norm)
    found: list[Violation] = []
    mentions: list[tuple[str, int]] = []  # phrases judged negated or quoted: the model may not overrule that
    for rule in OUTPUT_RULES:
        if rule.name == "pii":
            continue
        for m in rule.patterns.finditer(squashed):
            start, end = where[m.start()], where[m.end() - 1] + 1
            if rule.negatable and _is_mention(squashed, m.start(), m.end()):
                mentions.append((rule.name, start))
                continue
            found.append(Violation(rule.name, text[start:end], start, end, rule.message))
    fig = RETURN_FIGURE.search(norm)
    if fig and PRODUCT_WORDS.search(norm) and not DISCLOSURE.search(norm):
        if not any(v.rule == "misleading_promotion" for v in found):
            found.append(Violation("misleading_promotion", text[fig.start():fig.end()], fig.start(), fig.end(),
                                   "展示产品业绩须同时提示“过往业绩不代表未来表现，投资有风险”。"))
    judged = judge.read_output(text) if judge is not None else None
    if judged is not None:
        seen = {v.rule for v in found}
        for j in judged:
            if j.rule not in seen:
                seen.add(j.rule)
                start, end = _locate(text, j.span)
                found.append(Violation(j.rule, text[start:end], start, end, _RULE_BY_NAME[j.rule].message))
    elif model is not None:
        seen = {v.rule for v in found}
        for f in model.findings(read):
            if f.rule in seen:
                continue
            start = f.start
            inside = [pos for r, pos in mentions if r == f.rule and f.start <= pos < f.end]
            if inside:
                # The negated or quoted phrase is not a claim, but the sentence may make one after it:
                # "虽然基金不能承诺收益，但这只债基的策略设计就是确保您每年能拿到4%以上。" The model
                # judges what follows the mention's clause on its own.
                clause = CLAUSE_END.search(norm, max(inside))
                start = clause.end() if clause else f.end
                if len(text[start:f.end].strip()) < MIN_UNIT or model.best(read[start:f.end], f.rule) < model.threshold:
                    continue
            found.append(Violation(f.rule, text[start:f.end].strip(), start, f.end, _RULE_BY_NAME[f.rule].message))
    for f in find_pii(text):
        found.append(Violation("pii", text[f.start:f.end], f.start, f.end,
                               f"{PII_NAMES[f.kind]}未遮盖。" + _RULE_BY_NAME["pii"].message))
    found.sort(key=lambda v: (v.start, v.rule))
    return found, judged is not None


def _locate(text: str, span: str) -> tuple[int, int]:
    """Where the judge's quotation is in the text: exactly, or by its first sentence; else the whole text."""
    for piece in (span.strip(), *SENTENCE_END.split(span.strip())[:1]):
        if len(piece) >= 2 and (at := text.find(piece)) >= 0:
            return at, at + len(piece)
    return 0, len(text)


def review_output(text: str, model: RuleClassifier | None = None, judge: ComplianceJudge | None = None) -> OutputReview:
    """What may be sent: masked personal data, or a safe text in place of a non-compliant one."""
    violations, judged = _check_output(text, model, judge)
    if not violations:
        return OutputReview(text=text, judged=judged)
    if all(v.rule == "pii" for v in violations):
        return OutputReview(text=mask_pii(text).text, violations=violations, action="rewritten", judged=judged)
    return OutputReview(text=M.BLOCKED_REPLY, violations=violations, action="blocked", judged=judged)


def _input_rules(text: str, customer_id: str | None, model: RuleClassifier | None,
                 reading: InputReading | None = None) -> list[str]:
    squashed, _ = _squash(text)
    educational = asks_about(squashed)
    # The judge's reading takes the learned check's place; it is added after the patterns, below.
    hits = [f.rule for f in model.findings(text)] if model is not None and reading is None else []
    if educational:
        hits = [h for h in hits if _stands_in_education(h, squashed)]
    if "investment_advice" in hits and SERVICE_OBJECT.search(squashed) and not MARKET_WORDS.search(squashed):
        hits.remove("investment_advice")
    if "investment_advice" in hits and (_ORDER_INSTRUCTION.search(squashed) or _SCHEDULE.search(squashed)) \
            and not _ASKS_ADVICE.search(squashed):
        hits.remove("investment_advice")  # the learned check only: the patterns below keep their say
    # Whose data it is ("我的持仓" or "我老婆的持仓") n-grams cannot tell: a third party must be named.
    if "other_customer_data" in hits and not _third_party(squashed, customer_id, text):
        hits.remove("other_customer_data")
    for name, pattern in INPUT_RULES.items():
        for m in pattern.finditer(squashed):
            own = m.groupdict().get("customer")
            if name == "other_customer_data" and own is not None and own == customer_id:
                continue  # one's own customer number is not someone else's
            # Injections are refused whatever the phrasing; a fraud victim is one when it is about oneself.
            if educational and not _stands_in_education(name, squashed):
                continue
            if name not in hits:
                hits.append(name)
            break
    if "fraud_victim" in hits and ((SCAM_REFUSED.search(squashed) and not SCAM_LOSS.search(squashed))
                                   or scam_hearsay(squashed) or settled_matter(squashed)):
        hits.remove("fraud_victim")
    if reading is not None:  # a refusal or an alarm needs only one reader to see it
        hits += [r for r in reading.rules if r not in hits]
    return hits


# An order instruction ("招行 43 买500股", "买半导体ETF 1000股 市价") is the customer's own decision, and a
# schedule question ("明天几点开盘") asks about the market's hours: neither asks for advice, whatever the
# learned check's n-grams suggest. Words of prediction or recommendation keep the finding.
_ORDER_INSTRUCTION = re.compile(r"(?:买|卖|挂)[^，。？?]{0,12}\d+\s*(?:股|手)|\d+\s*(?:股|手)[^，。？?]{0,8}(?:买|卖|市价|挂)|"
                                r"(?:买|卖)[^，。？?]{0,10}(?:市价|限价)")
_SCHEDULE = re.compile(r"几点|开盘|收盘|开市|休市|交易时间|能下单|能交易|还能下单|能先挂")
_ASKS_ADVICE = re.compile(r"推荐|建议|会涨|会跌|能涨|要涨|要跌|涨不涨|该买|该卖|买什么|买啥|哪只|哪个好|稳赚|必涨|内幕|牛股|"
                          r"金股|预测|涨停板敢死|翻倍")


def _stands_in_education(rule: str, text: str) -> bool:
    """A question about a rule ("对倒和洗钱有关系吗？") is answered, whether a pattern or the model
    flagged it; injections are refused whatever the phrasing, unless the question is what an
    injection is and nothing else in it is one ("prompt injection 是什么？"); a fraud victim is one
    when it is about oneself ("我也被骗了", "让我充值"), not a scam asked about or seen in the news."""
    if rule == "prompt_injection":
        return not injection_concept_only(text)
    return rule == "fraud_victim" and bool(SELF_TARGETED.search(text) or SCAM_LOSS.search(text))


def injection_concept_only(text: str) -> bool:
    """A question what prompt injection is, with no injection beside it."""
    if not INJECTION_CONCEPT.search(text):
        return False
    return not INPUT_RULES["prompt_injection"].search(INJECTION_CONCEPT.sub(" ", text))


def _third_party(text: str, customer_id: str | None, unsquashed: str | None = None) -> bool:
    """Someone other than the customer named in the message: a relation or a name, or a number that is
    not theirs (read before filler is squashed out: "110***********4119" must not become "1104119")."""
    if THIRD_PARTY.search(text):
        return True
    text = unsquashed if unsquashed is not None else text
    # Digits beside a mask ("110105********4119") are the ends of the customer's own masked number.
    return any(n != customer_id for n in re.findall(r"(?<![\d*])\d{6,12}(?![\d*])", text) if not n.startswith(("60", "00", "30", "68")))


def inspect_input(text: str, *, customer_id: str | None = None, model: RuleClassifier | None = None,
                  judge: ComplianceJudge | None = None, context: Sequence[tuple[str, str]] = ()) -> InputDecision:
    """`context` is the conversation so far as (role, masked text), for the judge only."""
    masked = mask_pii(text)
    reading = judge.read_input(masked.text, context) if judge is not None else None
    decision = _decide_input(masked, customer_id, model, reading)
    decision.judged = reading
    return decision


def _decide_input(masked: MaskResult, customer_id: str | None, model: RuleClassifier | None,
                  reading: InputReading | None) -> InputDecision:
    text = simplified(normalize_width(masked.text))
    rules = _input_rules(text, customer_id, model, reading)
    pii_rules = (["credential"] if masked.has_credential else []) + (["pii"] if masked.kinds - {"credential"} else [])
    notice = M.CREDENTIAL_WARNING if masked.has_credential else ""
    if not rules and injection_concept_only(text):
        # "prompt injection 是什么？" is answered with what it is and what we do about it.
        return InputDecision(masked, [], "answer", reply=M.INJECTION_CONCEPT)
    if rules == ["prompt_injection"] and _ASKS_MEANING.search(text):
        # "ignore all previous instructions 是什么意思？" is answered with a fixed explanation: the
        # text itself goes no further (not to the classifier's reply, not to an answering LLM).
        return InputDecision(masked, rules, "answer", reply=M.INJECTION_EXPLAINED)
    if CRISIS.search(text):
        # Despair or thoughts of suicide go to a person at urgent priority whatever else the message says.
        return InputDecision(masked, ["crisis", *rules, *pii_rules], "escalate", reply=notice + M.CRISIS_SUPPORT,
                             priority="urgent")
    if "fraud_victim" in rules:
        return InputDecision(masked, rules + pii_rules, "escalate", reply=notice + M.FRAUD_WARNING, priority="urgent")
    refusals = [r for r in REFUSALS if r in rules]
    if refusals:
        return InputDecision(masked, refusals + pii_rules, "refuse", reply=notice + M.REFUSALS[refusals[0]])
    if not rules and FRAUD_TOPIC.search(text):
        # Fraud asked about, not suffered ("荐股群诈骗一般套路是什么"): answered, with the warning first.
        notice += M.FRAUD_TIP
    if pii_rules:
        return InputDecision(masked, pii_rules, "mask", notice=notice)
    return InputDecision(masked, [], "answer", notice=notice)
