"""Spoken turns: an unsure transcript or a security guessed by sound is read back before any
order preview, and voice never skips the explicit confirmation."""

from __future__ import annotations

from assistant.domain import Turn
from tests.conftest import Chat, assistant_orders


def voice(chat: Chat, text: str, confidence: float):
    return chat.engine.handle(Turn(conversation_id=chat.id, customer_id=chat.customer_id, text=text,
                                   transcript_confidence=confidence))


def test_an_unsure_spoken_order_is_read_back_then_previewed_then_confirmed(engine) -> None:
    chat = Chat(engine, "100001")
    heard = voice(chat, "买入200股五粮液，市价", 0.3)
    assert heard.text.startswith("我听到的是“买入200股五粮液，市价”") and heard.pending_confirmation is None
    preview = chat.say("对")
    assert preview.pending_confirmation is not None and preview.pending_confirmation.kind == "place_order"
    assert assistant_orders(engine, "100001") == []  # read back and previewed, not placed
    placed = chat.say("确认")
    assert "委托已提交" in placed.text and len(assistant_orders(engine, "100001")) == 1


def test_a_no_to_the_read_back_does_nothing(engine) -> None:
    chat = Chat(engine, "100001")
    voice(chat, "卖出100股贵州茅台，市价", 0.2)
    again = chat.say("不对")
    assert "再说一遍" in again.text and again.pending_confirmation is None
    assert chat.say("确认").pending_confirmation is None and assistant_orders(engine, "100001") == []


def test_a_security_named_only_by_sound_is_read_back(engine) -> None:
    chat = Chat(engine, "100001")
    heard = voice(chat, "买入100股毛台", 0.95)  # the master list finds 茅台 by its pinyin only
    assert heard.text.startswith("我听到的是") and heard.pending_confirmation is None


def test_a_clear_spoken_order_still_needs_the_explicit_yes(engine) -> None:
    chat = Chat(engine, "100001")
    preview = voice(chat, "买入100股五粮液，市价", 0.9)
    assert preview.pending_confirmation is not None
    assert assistant_orders(engine, "100001") == []
    assert "委托已提交" in voice(chat, "确认", 0.9).text and len(assistant_orders(engine, "100001")) == 1


def test_an_unsure_spoken_yes_to_a_preview_is_read_back_first(engine) -> None:
    chat = Chat(engine, "100001")
    chat.say("买入100股五粮液 市价")
    heard = voice(chat, "确认", 0.2)
    assert heard.text.startswith("我听到的是“确认”") and assistant_orders(engine, "100001") == []
    chat.say("对")
    assert len(assistant_orders(engine, "100001")) == 1


def test_rule_questions_by_voice_are_answered_without_a_read_back(engine) -> None:
    chat = Chat(engine, "100001")
    reply = voice(chat, "科创板的涨跌幅限制是多少", 0.3)
    assert not reply.text.startswith("我听到的是")


def test_an_unsure_spoken_account_question_is_read_back_before_the_account_is_read(engine) -> None:
    """Noise transcribed as words must never read out a balance: below the floor, the words come back first."""
    chat = Chat(engine, "100001")
    heard = voice(chat, "查询一下我的持仓", 0.3)
    assert heard.text.startswith("我听到的是“查询一下我的持仓”") and heard.data is None
    assert "贵州茅台" in chat.say("对").text
    sure = voice(chat, "查询一下我的持仓", 0.9)
    assert not sure.text.startswith("我听到的是") and sure.intent == "positions"


def test_a_no_to_the_read_back_of_a_spoken_yes_drops_the_order(engine) -> None:
    chat = Chat(engine, "100001")
    chat.say("买入100股五粮液 市价")
    assert voice(chat, "确认", 0.2).text.startswith("我听到的是")
    assert "没有提交" in chat.say("取消").text
    assert chat.say("确认").pending_confirmation is None and assistant_orders(engine, "100001") == []
