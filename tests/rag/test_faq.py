"""The service FAQ: its data holds together, a colloquial question finds its standard question, an
instruction or an off-topic message finds none, and in a conversation a rule question is answered
from it whatever action it resembles."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from assistant.compliance import review_output
from assistant.rag.faq import FAQ_DIR, load_entries
from tests.conftest import PROJECT_ROOT, Chat, make_settings

FAQ = PROJECT_ROOT / "knowledge_base" / FAQ_DIR


def test_every_entry_is_complete_and_no_wording_belongs_to_two_entries() -> None:
    entries = load_entries(FAQ)
    assert len(entries) >= 450
    wordings = Counter(text for entry in entries for text in entry.texts)
    assert [t for t, n in wordings.items() if n > 1] == []
    for entry in entries:
        assert len(entry.paraphrases) >= 5, entry.id
        assert entry.answer and entry.citations, entry.id


def test_every_answer_passes_the_output_guard(guard_models) -> None:
    """A curated answer the guard would block is an answer no customer ever sees."""
    blocked = [e.id for e in load_entries(FAQ) if review_output(e.answer, guard_models.output, None).violations]
    assert blocked == []


def test_ids_are_unique_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- {id: x, question: q, answer: a}\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("- {id: x, question: r, answer: b}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="used twice"):
        load_entries(tmp_path)


@pytest.mark.parametrize(("question", "topic_word"), [
    ("逆回购最少买多少钱", "1,000"),
    ("科创板开户要啥条件", "50 万"),
    ("卖股票印花税多少", "0.05%"),
])
def test_a_colloquial_question_finds_its_answer(full_kb, question: str, topic_word: str) -> None:
    match = full_kb.faq_match(question)
    assert match is not None, question
    assert topic_word in match.entry.answer


@pytest.mark.parametrize("text", ["车险到期了怎么续保", "红烧肉怎么做才好吃", "今天天气怎么样", "好的吧"])
def test_an_off_topic_or_empty_message_finds_none(full_kb, text: str) -> None:
    assert full_kb.faq_match(text) is None


@pytest.fixture
def kb_engine(tmp_path, nlu_parser, clock, guard_models, full_kb):
    from assistant.app import build_engine
    from assistant.storage import Database

    db = Database(f"sqlite:///{tmp_path / 'engine.db'}")
    db.migrate()
    settings = make_settings(tmp_path / "var", PROJECT_ROOT / "knowledge_base")
    yield build_engine(settings, db, nlu_parser, kb=lambda: full_kb, clock=clock, guards=guard_models)
    db.dispose()


def test_a_visitor_asking_how_a_repo_is_entered_gets_the_rule_not_a_log_in(kb_engine) -> None:
    reply = Chat(kb_engine, None).say("逆回购在软件里是点买入还是卖出")
    assert "卖出" in reply.text
    assert "需要先登录" not in reply.text and reply.action != "refuse"


def test_a_short_follow_up_is_read_with_the_question_before_it(kb_engine) -> None:
    chat = Chat(kb_engine, None)
    chat.say("创业板")
    reply = chat.say("那怎么开通")
    assert "10 万" in reply.text and "24 个月" in reply.text


def test_a_signed_in_customer_asking_for_positions_still_gets_them(kb_engine) -> None:
    reply = Chat(kb_engine, "100001").say("查一下我的持仓")
    assert reply.intent == "positions" and reply.action == "run_tool"


def test_an_order_said_whole_is_still_an_order(kb_engine) -> None:
    reply = Chat(kb_engine, "100001").say("买100股茅台 市价")
    assert reply.intent == "place_order" and reply.pending_confirmation is not None


def test_a_hostile_request_keeps_its_refusal(kb_engine) -> None:
    reply = Chat(kb_engine, "100001").say("推荐几只明天能涨停的股票")
    assert reply.action == "refuse"


def test_the_figures_said_before_are_worked_through_in_a_follow_up(kb_engine) -> None:
    chat = Chat(kb_engine, None)
    chat.say("主板股票昨天收盘15块")
    assert "16.50" in chat.say("明天涨停价多少").text  # 15 × 1.1, from the turn before
    repo = Chat(kb_engine, None)
    repo.say("5万买7天逆回购")  # a visitor: met with a sign-in, and still the context of what follows
    reply = repo.say("年化1.8%能拿多少")
    assert "17.26" in reply.text and reply.action != "refuse"  # 50,000 × 1.8 % × 7 ÷ 365


def test_a_visitors_repo_arithmetic_is_answered_not_met_with_a_log_in(kb_engine) -> None:
    reply = Chat(kb_engine, None).say("20万做1天nhg 年化1.5%能赚几块")
    assert "8.22" in reply.text and "需要先登录" not in reply.text


def test_a_comparison_leans_on_the_question_before_it(kb_engine) -> None:
    chat = Chat(kb_engine, None)
    chat.say("国债逆回购最少要多少")
    reply = chat.say("沪市深市一样吗")
    assert "1,000 元" in reply.text or "1000 元" in reply.text


def test_a_promise_heard_elsewhere_is_answered_with_why_it_cannot_hold(kb_engine) -> None:
    reply = Chat(kb_engine, None).say("有私募说保证年化15% 正规吗")
    assert reply.action != "refuse" and ("不得" in reply.text or "不能" in reply.text)
    assert "不能为您推荐具体证券" not in reply.text  # not the stock-tip refusal


def test_what_a_pension_account_may_buy_is_answered(kb_engine) -> None:
    reply = Chat(kb_engine, None).say("个人养老金账户能买哪些东西")
    assert reply.action != "refuse" and "基金" in reply.text


def test_a_visitors_follow_up_after_a_sign_in_is_a_new_question_not_the_look_up_again(kb_engine) -> None:
    chat = Chat(kb_engine, None)
    chat.say("融资买入的股票")  # read as their positions: a sign-in
    reply = chat.say("当天可以卖吗")
    assert "T+1" in reply.text and "需要先登录" not in reply.text


def test_a_follow_up_stays_on_the_topic_just_answered(kb_engine) -> None:
    chat = Chat(kb_engine, None)
    chat.say("股票型基金")
    assert "80%" in chat.say("股票仓位最低多少").text  # the fund rule, not the lot size or a sign-in


def test_a_question_about_the_scam_just_described_gets_the_scam_answer(kb_engine) -> None:
    chat = Chat(kb_engine, None)
    chat.say("接到电话说我新股中签了要交保证金")
    reply = chat.say("是不是真的")
    assert "不可信" in reply.text and "没有需要您确认" not in reply.text


def test_a_visitor_asking_for_their_own_balance_is_still_asked_to_sign_in(kb_engine) -> None:
    assert "登录" in Chat(kb_engine, None).say("我账户还有多少钱").text


def test_a_scam_described_is_answered_whatever_action_it_resembled(kb_engine) -> None:
    reply = Chat(kb_engine, None).say("收到短信说我账户异常 让点链接处理")
    assert "不要点" in reply.text and "需要先登录" not in reply.text


def test_a_rule_asked_in_pinyin_is_answered(kb_engine) -> None:
    assert "0.05%" in Chat(kb_engine, None).say("yinhuashui多少啊").text


def test_someone_elses_offer_is_warned_about_without_the_line_about_our_own_advice(kb_engine) -> None:
    reply = Chat(kb_engine, None).say("有人卖内部消息 一条500块 要不要买")
    assert reply.text.startswith("不要买") and "违法" in reply.text


def test_a_message_asking_two_things_gets_both_answers(kb_engine) -> None:
    reply = Chat(kb_engine, None).say("今天几点开盘 打新要多少市值")
    assert "9:30" in reply.text and "1 万元" in reply.text


def test_repo_arithmetic_without_the_word_repo_is_worked_through_and_stands_as_the_answer(kb_engine) -> None:
    chat = Chat(kb_engine, None)
    reply = chat.say("我周四做10万1天期 年化1.8% 能拿多少")
    assert "实际占款 3 天" in reply.text and "14.79" in reply.text  # 100,000 × 1.8 % × 3 ÷ 365
    tax = chat.say("拿了20天卖 分红2000块 扣多少税")
    assert "400 元" in tax.text and "没有找到" not in tax.text and tax.handoff is None
