"""The dialogue as a customer lives it: slot questions, context, corrections, confirmations."""

from __future__ import annotations

from tests.conftest import Chat, assistant_orders


def test_an_order_is_placed_only_after_an_explicit_yes_and_only_once(engine) -> None:
    chat = Chat(engine, "100001")
    assert "多少股" in chat.say("我想买茅台").text
    assert "价格" in chat.say("200股").text
    preview = chat.say("市价")
    assert preview.pending_confirmation is not None
    assert "贵州茅台" in preview.text and "200 股" in preview.text and "预估费用" in preview.text
    assert assistant_orders(engine, "100001") == []  # a preview places nothing

    placed = chat.say("确认")
    assert "委托已提交" in placed.text
    assert len(assistant_orders(engine, "100001")) == 1

    again = chat.say("确认")
    assert again.pending_confirmation is None and "没有需要您确认" in again.text
    assert len(assistant_orders(engine, "100001")) == 1


def test_a_question_while_a_preview_waits_is_answered_and_the_preview_kept(engine) -> None:
    chat = Chat(engine, "100001")
    assert chat.say("买100股五粮液 市价").pending_confirmation is not None
    reply = chat.say("我的持仓有哪些")
    assert reply.intent == "positions" and "仍在等待确认" in reply.text and "五粮液" in reply.text
    assert assistant_orders(engine, "100001") == []
    assert "委托已提交" in chat.say("确认").text
    assert len(assistant_orders(engine, "100001")) == 1


def test_a_vague_yes_is_read_back_and_places_nothing(engine) -> None:
    chat = Chat(engine, "100001")
    chat.say("买100股五粮液 市价")
    for vague in ("好的吧", "嗯对", "行吧"):
        reply = chat.say(vague)
        assert reply.pending_confirmation is not None and "五粮液" in reply.text and "确认" in reply.text
    assert assistant_orders(engine, "100001") == []
    assert "没有提交" in chat.say("确认……算了不买了").text
    assert "没有需要您确认" in chat.say("确认").text
    assert assistant_orders(engine, "100001") == []


def test_a_confirmation_after_two_minutes_places_nothing(engine, clock) -> None:
    chat = Chat(engine, "100001")
    assert chat.say("买100股五粮液 市价").pending_confirmation is not None
    clock.advance(seconds=121)
    reply = chat.say("确认")
    assert "超时" in reply.text
    assert assistant_orders(engine, "100001") == []


def test_cancel_at_the_preview_and_abandon_a_slot_question(engine) -> None:
    chat = Chat(engine, "100001")
    chat.say("买100股五粮液 市价")
    assert "没有提交" in chat.say("取消").text
    chat.say("卖出宁德时代")
    assert "取消" in chat.say("算了").text
    assert "没有需要您确认" in chat.say("确认").text
    assert assistant_orders(engine, "100001") == []


def test_a_correction_changes_the_preview_before_confirmation(engine) -> None:
    chat = Chat(engine, "100001")
    first = chat.say("买200股五粮液 市价")
    assert "200 股" in first.text
    corrected = chat.say("不对，是300股")
    assert corrected.pending_confirmation is not None and "300 股" in corrected.text
    chat.say("确认")
    orders = assistant_orders(engine, "100001")
    assert [(o.code, o.quantity) for o in orders] == [("000858", 300)]


def test_a_bare_number_answers_the_quantity_question(engine) -> None:
    chat = Chat(engine, "100001")
    chat.say("帮我卖点沪深300ETF")
    chat.say("两手")
    preview = chat.say("4.5元")
    assert preview.pending_confirmation is not None
    assert "卖出" in preview.text and "200 股" in preview.text and "4.50" in preview.text


def test_context_carries_to_a_follow_up_question(engine) -> None:
    chat = Chat(engine, "100001")
    assert "贵州茅台" in chat.say("茅台多少钱?").text
    follow = chat.say("那五粮液呢?")
    assert follow.intent == "market_quote" and "五粮液（000858" in follow.text


def test_a_c1_customer_cannot_buy_an_r3_security(engine) -> None:
    chat = Chat(engine, "100002")
    reply = chat.say("买100股工商银行，市价")
    assert reply.pending_confirmation is None
    assert "C1" in reply.text and "R3" in reply.text
    assert "确认" not in chat.say("确认").text or assistant_orders(engine, "100002") == []
    assert assistant_orders(engine, "100002") == []


def test_no_star_permission_no_688_purchase(engine) -> None:
    chat = Chat(engine, "100006")  # C4, so only the permission is missing
    reply = chat.say("买入中芯国际200股 市价")
    assert reply.pending_confirmation is None
    assert "科创板" in reply.text and "权限" in reply.text
    chat.say("确认")
    assert assistant_orders(engine, "100006") == []


def test_an_expired_risk_assessment_blocks_purchases_but_not_sales(engine) -> None:
    chat = Chat(engine, "100004")
    assert "重新测评" in chat.say("买1000股工商银行 市价").text
    sell = chat.say("卖出1000股工商银行 市价")
    assert sell.pending_confirmation is not None


def test_after_the_close_a_market_order_is_refused_and_a_limit_order_is_held_for_the_next_session(engine, clock) -> None:
    clock.advance(hours=10)  # 20:30, after the close
    chat = Chat(engine, "100001")
    market = chat.say("买100股五粮液 市价")
    assert market.pending_confirmation is None and "11月26日（周四）9:15" in market.text and "限价" in market.text
    limit = chat.say("那改成限价110元")
    assert limit.pending_confirmation is not None and "预埋单" in limit.text
    placed = chat.say("确认")
    assert "预埋单" in placed.text and "11月26日" in placed.text
    assert [o.status for o in assistant_orders(engine, "100001")] == ["open"]
    assert "已为您撤单" in (chat.say("撤单"), chat.say("确认"))[1].text  # a 预埋单 can be withdrawn before it is sent
    clock.advance(hours=14)  # 10:30 the next day: nothing left to fill
    assert [o.status for o in engine.brokerage.orders("100001", status="cancelled")] == ["cancelled"]


def test_cancelling_an_open_order_needs_a_confirmation(engine) -> None:
    chat = Chat(engine, "100001")
    chat.say("买100股五粮液 价格110元")  # below the market: it stays open
    chat.say("确认")
    ask = chat.say("把五粮液那笔撤了")
    assert ask.pending_confirmation is not None and ask.pending_confirmation.kind == "cancel_order"
    assert [o.status for o in assistant_orders(engine, "100001")] == ["open"]
    assert "已为您撤单" in chat.say("确认").text
    assert [o.status for o in assistant_orders(engine, "100001")] == ["cancelled"]


def test_an_anonymous_visitor_is_asked_to_sign_in_for_account_data(engine) -> None:
    chat = Chat(engine, None)
    reply = chat.say("我账户里还有多少钱")
    assert "登录" in reply.text and reply.data is None
    assert "贵州茅台" in chat.say("600519现在什么价").text  # quotes need no sign-in


def test_a_customer_only_ever_sees_their_own_account(engine) -> None:
    theirs = Chat(engine, "100001")
    theirs.say("买100股五粮液 价格110元")
    theirs.say("确认")
    order_id = assistant_orders(engine, "100001")[0].order_id

    mine = Chat(engine, "100003")
    positions = mine.say("我的持仓").text
    assert "中国平安" in positions and "贵州茅台" not in positions and "五粮液" not in positions
    assert "五粮液" not in mine.say("今天的委托").text
    reply = mine.say(f"撤销委托{order_id}")
    assert "没有找到" in reply.text and reply.pending_confirmation is None
    assert [o.status for o in assistant_orders(engine, "100001")] == ["open"]


def test_advice_is_refused_and_a_person_is_offered(engine) -> None:
    chat = Chat(engine, "100001")
    advice = chat.say("推荐一只明天肯定涨的股票")
    assert advice.action == "refuse" and "不能为您推荐" in advice.text
    human = chat.say("转人工")
    assert human.handoff is not None and human.handoff.reason == "customer_request"
    complaint = chat.say("我要投诉，你们的系统让我亏了钱")
    assert complaint.handoff is not None and complaint.handoff.priority == "high"


def test_a_blocked_preview_leaves_nothing_to_confirm(engine, monkeypatch) -> None:
    """Should the output guard ever block an order preview, the customer cannot confirm what they never saw."""
    from assistant.compliance import OutputReview, Violation
    from assistant.conversation import pipeline as engine_module

    def block_previews(text, model=None, judge=None):
        if "请核对以下委托信息" in text:
            return OutputReview(text="blocked", violations=[Violation("investment_advice", "x", 0, 1, "m")], action="blocked")
        return OutputReview(text=text)

    monkeypatch.setattr(engine_module, "review_output", block_previews)
    chat = Chat(engine, "100001")
    preview = chat.say("买入贵州茅台100股，市价")
    assert preview.action == "refuse" and preview.pending_confirmation is None
    chat.say("确认")
    assert assistant_orders(engine, "100001") == []


def test_a_traders_bare_numbers_are_read_against_the_quote(engine) -> None:
    """茅台1400买100: the number near today's price is the limit, the whole lots the quantity; both shown before any yes."""
    chat = Chat(engine, "100001")
    first = chat.say("茅台1400买100")
    assert first.pending_confirmation is not None and "限价 1400.00" in first.text and "100 股" in first.text
    assert "没有提交" in chat.say("取消").text
    second = chat.say("招行 43 买3手")
    assert second.pending_confirmation is not None and "限价 43.00" in second.text and "300 股" in second.text
    assert assistant_orders(engine, "100001") == []


def test_a_withdrawal_that_asks_for_a_person_withdraws_and_hands_over(engine) -> None:
    chat = Chat(engine, "100001")
    assert chat.say("买五粮液").action == "ask_for_slot"
    reply = chat.say("算了你直接给我转个人工吧")
    assert reply.handoff is not None and "没有提交" in reply.text
    assert assistant_orders(engine, "100001") == []


def test_a_visitor_asking_how_to_do_a_repo_is_not_told_to_sign_in(engine) -> None:
    reply = Chat(engine, None).say("逆回购怎么买 最少要多少钱")
    assert reply.intent == "kb_question" and "登录" not in reply.text
