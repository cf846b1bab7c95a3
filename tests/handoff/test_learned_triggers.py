"""The learned half of the handoff triggers: what customers say without the patterns' words."""

from __future__ import annotations

import pytest

from assistant.domain import Reply
from assistant.handoff import TurnSignals, build_trigger_model, evaluate, learned_reason
from assistant.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def model():
    m = build_trigger_model(PROJECT_ROOT / "var" / "compliance")
    m.ensure_trained()
    return m


def _answered() -> Reply:
    return Reply(text="好的。", intent="kb_question", confidence=0.9, action="answer_from_kb")


@pytest.mark.parametrize("text, reason", [
    ("我实在搞不定了，能不能给我安排个活人来聊", "customer_request"),
    ("有没有真人能接一下，机器答非所问", "customer_request"),
    ("账户里的钱被人转走了，我根本没操作过", "fraud_victim"),
])
def test_what_the_patterns_miss_the_learned_check_hands_over(model, text, reason) -> None:
    without, _ = evaluate(text, _answered(), TurnSignals(0, 0), blocked=False)
    assert without is None  # said without the patterns' words
    handoff, _ = evaluate(text, _answered(), TurnSignals(0, 0), blocked=False, learned=learned_reason(model, text))
    assert handoff is not None and handoff.reason == reason
    assert handoff.priority == ("urgent" if reason == "fraud_victim" else "normal")


@pytest.mark.parametrize("text", [
    "人工客服一般几点上班？",  # a question about the service
    "人工智能板块最近怎么样",
    "茅台今天收盘多少钱",
    "今天又跌了，有点烦",
])
def test_ordinary_messages_stay_with_the_assistant(model, text) -> None:
    handoff, _ = evaluate(text, _answered(), TurnSignals(0, 0), blocked=False, learned=learned_reason(model, text))
    assert handoff is None
