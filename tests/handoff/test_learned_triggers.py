"""The learned half of the handoff triggers: what customers say without the patterns' words."""

from __future__ import annotations

import pytest

from assistant.domain import Reply
from assistant.handoff import TurnSignals, build_trigger_model, evaluate, learned_view


@pytest.fixture
def model(trigger_model):
    return trigger_model


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
    view = learned_view(model, text)
    handoff, _ = evaluate(text, _answered(), TurnSignals(0, 0), blocked=False, learned=view.reason, doubt=view.doubt)
    assert handoff is not None and handoff.reason == reason
    assert handoff.priority == ("urgent" if reason == "fraud_victim" else "normal")


@pytest.mark.parametrize("text", [
    "人工客服一般几点上班？",  # a question about the service
    "人工智能板块最近怎么样",
    "茅台今天收盘多少钱",
    "今天又跌了，有点烦",
])
def test_ordinary_messages_stay_with_the_assistant(model, text) -> None:
    view = learned_view(model, text)
    handoff, _ = evaluate(text, _answered(), TurnSignals(0, 0), blocked=False, learned=view.reason, doubt=view.doubt)
    assert handoff is None


@pytest.mark.parametrize("text", [
    "我邻居说他要去证监会投诉他那家券商的经理，证监会管这种事吗",  # a threat word, someone else's
    "销户要去营业部办吗？还是app上也能办",  # an anger-lexicon word
    "找人工客服的话一般要排多久",
])
def test_doubt_holds_back_the_broad_word_patterns(text) -> None:
    assert evaluate(text, _answered(), TurnSignals(0, 0), blocked=False)[0] is not None
    assert evaluate(text, _answered(), TurnSignals(0, 0), blocked=False, doubt=True)[0] is None


@pytest.mark.parametrize("text, reason", [
    ("你们的客户经理让我把交易密码给他，说帮我操作", "guard_review"),
    ("我在那个平台投了二十万，现在取不出来了", "fraud_victim"),
])
def test_doubt_does_not_hold_back_the_narrow_ones(text, reason) -> None:
    handoff, _ = evaluate(text, _answered(), TurnSignals(0, 0), blocked=False, doubt=True)
    assert handoff is not None and handoff.reason == reason


def test_the_model_doubts_a_question_that_only_sounds_angry(model) -> None:
    text = "销户要去营业部办吗？还是app上也能办"
    assert learned_view(model, text).doubt
    assert learned_view(model, "你们这破app天天闪退，我真是受够了").scores["negative_sentiment"] >= 0.3


def test_no_view_before_the_model_is_trained() -> None:
    untrained = build_trigger_model(None)
    view = learned_view(untrained, "我实在搞不定了，能不能给我安排个活人来聊")
    assert view.reason is None and not view.doubt and not untrained.ready  # the turn did not wait for training


@pytest.mark.parametrize("text", [
    "刚看了个报道，有人被所谓的带单老师骗走了三十多万，好可怕",
    "网上说有人被冒充客服的人骗了不少钱，这种情况多吗？",
])
def test_a_scam_in_the_news_is_not_the_customer_s_own(text) -> None:
    """Even when the learned check reads a fraud victim, news about someone else's scam with no
    loss of the customer's is answered, not rushed to a person."""
    handoff, _ = evaluate(text, _answered(), TurnSignals(0, 0), blocked=False, learned="fraud_victim")
    assert handoff is None
    lost = "就是报道里说的那种，我已经转了两万过去"
    handoff, _ = evaluate(lost, _answered(), TurnSignals(0, 0), blocked=False, learned="fraud_victim")
    assert handoff is not None and handoff.priority == "urgent"
