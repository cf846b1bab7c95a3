"""Escalation from the engine: triggers, tickets with masked content, the queue and call-backs,
the assistant's silence while an agent owns the conversation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from assistant.handoff import AgentInfo, HandoffError, needs_adviser, negativity, texts
from assistant.storage import ConversationMessage, HandoffTicket
from tests.conftest import Chat

PASSWORD = "correct-horse-battery"


@pytest.fixture
def desk(engine):
    """Two agents with their consoles open (online)."""
    agents = engine.handoff.agents
    now = engine.brokerage.now()
    a = agents.add("wangmin", "王敏", "agent", PASSWORD, now)
    b = agents.add("lijun", "李军", "agent", PASSWORD, now)
    agents.heartbeat(a.id, now)
    agents.heartbeat(b.id, now)
    return a, b


def _tickets(engine) -> list[HandoffTicket]:
    with engine.store.db.session() as s:
        return list(s.scalars(select(HandoffTicket).order_by(HandoffTicket.id)).all())


def _queued(engine) -> tuple[Chat, HandoffTicket]:
    """A customer who has asked for a person, and the ticket that opened."""
    chat = Chat(engine, "100001")
    chat.say("转人工")
    return chat, _tickets(engine)[0]


def _messages(engine, cid) -> list[ConversationMessage]:
    return engine.store.messages(cid, limit=200)


def test_sentiment_and_adviser_rules_read_the_customer_not_the_market() -> None:
    assert negativity("你们这什么破系统，垃圾！！") >= 3
    assert negativity("问了三遍了到底能不能解决？？？你们客服太敷衍了") >= 3
    assert negativity("今天跌得好惨") < 3
    assert negativity("谢谢，挺好的") == 0
    assert needs_adviser("我想找个投资顾问帮我做一下资产配置")
    assert not needs_adviser("科创板开通条件是什么")


def test_a_request_for_a_person_queues_a_ticket_with_position_and_wait(engine, desk) -> None:
    chat = Chat(engine, "100001")
    chat.say("我的持仓")
    reply = chat.say("我要转人工")
    assert reply.handoff is not None and reply.handoff.reason == "customer_request"
    assert "您是下一位" in reply.text and "预计等待约" in reply.text
    assert engine.store.get(chat.id).status == "queued"
    [ticket] = _tickets(engine)
    assert (ticket.kind, ticket.status, ticket.reason) == ("live", "queued", "customer_request")
    assert "positions" in ticket.intents and "human_agent" in ticket.intents
    assert ticket.profile["risk_level"] and "*" in ticket.profile["name"]
    assert "客户诉求" in ticket.summary and ticket.summary_mode == "extractive"
    # Asking again does not open a second ticket; the customer is told where they stand.
    again = chat.say("人工")
    assert len(_tickets(engine)) == 1 and "队列中" in again.text


def test_outside_service_hours_a_call_back_is_taken(engine, desk, clock) -> None:
    clock.advance(seconds=int(timedelta(hours=12).total_seconds()))  # 22:30 Beijing time
    chat = Chat(engine, "100001")
    reply = chat.say("转人工")
    assert reply.handoff is not None
    assert "不在人工客服服务时间" in reply.text and "回电" in reply.text and "请稍候" not in reply.text
    [ticket] = _tickets(engine)
    assert (ticket.kind, ticket.status) == ("callback", "callback")
    assert engine.store.get(chat.id).status == "bot"


def test_with_no_agent_online_a_call_back_is_taken_and_said_once(engine) -> None:
    """A complaint with nobody online hears one thing: a call-back, and why — never "transferring, please hold"."""
    reply = Chat(engine, "100001").say("我要投诉，你们的客服态度太差了")
    assert reply.handoff is not None and "暂时没有空闲的人工客服" in reply.text
    assert reply.text.count("回电") == 1 and "转接" not in reply.text and "请稍候" not in reply.text
    assert "12386" in reply.text  # where else the complaint can go stays said
    assert _tickets(engine)[0].kind == "callback"


def test_two_turns_the_assistant_could_not_answer_hand_over(engine, desk) -> None:
    chat = Chat(engine, None)
    first = chat.say("阿斯顿发生的发")
    assert first.handoff is None and first.action == "clarify"
    second = chat.say("qwerty 咕噜咕噜")
    assert second.handoff is not None and second.handoff.reason == "unanswered"
    assert second.text.startswith(texts.HANDOFF_LEADS["unanswered"])


def test_one_unclear_turn_then_an_answer_does_not_hand_over(engine, desk) -> None:
    chat = Chat(engine, "100001")
    assert chat.say("阿斯顿发生的发").handoff is None
    assert chat.say("我的持仓").handoff is None
    assert chat.say("咕噜咕噜 qwerty").handoff is None


def test_strong_anger_and_adviser_requests_hand_over(engine, desk) -> None:
    angry = Chat(engine, "100001").say("你们这什么破系统，垃圾！！")
    assert angry.handoff is not None and angry.handoff.reason == "negative_sentiment" and angry.handoff.priority == "high"
    adviser = Chat(engine, "100002").say("我想找个投资顾问帮我做一下资产配置")
    assert adviser.handoff is not None and adviser.handoff.reason == "licensed_advice"
    # Urgent and high come before normal in the queue.
    fraud = Chat(engine, "100003").say("有个自称客服的人让我把钱转到安全账户，我已经转了五万")
    assert fraud.handoff is not None and fraud.handoff.priority == "urgent"
    queue = engine.handoff.queue()["queued"]
    assert [t["priority"] for t in queue] == ["urgent", "high", "normal"]
    assert queue[0]["queue_position"] == 1


@pytest.mark.parametrize("text", [
    "我要投诉！自称你们理财经理的人骗我把钱转到他个人账户，已经转了8万",
    "我爸被一个“客服”骗了，让他转到安全账户，已经转了两次共六万，你们怎么不管管",
    "我姐被自称你们员工的人骗了，说是内部保本理财，让她转到个人卡上，已经转了两回共8万。",
])
def test_a_fraud_victim_who_also_complains_stays_urgent(text, engine, desk) -> None:
    engine.triggers.ensure_trained()  # the learned check, which may name another reason
    reply = Chat(engine, "100001").say(text)
    assert reply.handoff is not None and reply.handoff.priority == "urgent"
    assert _tickets(engine)[0].priority == "urgent"


def test_the_ticket_never_holds_personal_data_in_clear(engine, desk) -> None:
    chat = Chat(engine, "100001")
    chat.say("我的手机号是13812345678，身份证11010519491231002X，帮我转人工")
    [ticket] = _tickets(engine)
    view = engine.handoff.ticket_view(ticket.id, AgentInfo(desk[0].id, "wangmin", "王敏", "agent"))
    dump = str(view)
    assert "13812345678" not in dump and "11010519491231002X" not in dump
    assert "138" in dump  # masked, not dropped: the agent sees that a number was given


def test_while_an_agent_owns_the_conversation_the_assistant_is_silent(engine, desk) -> None:
    a, _ = desk
    chat, ticket = _queued(engine)
    engine.handoff.claim(ticket.id, a)
    before = len(_messages(engine, chat.id))
    reply = chat.say("茅台多少钱")
    assert reply.text == "" and reply.action == "agent"
    new = _messages(engine, chat.id)[before:]
    assert [m.role for m in new] == ["customer"] and new[0].text == "茅台多少钱"
    # The guard still speaks: a typed password is masked and warned about, never stored in clear.
    reply = chat.say("我的交易密码是 123456")
    assert reply.text and "123456" not in reply.text
    assert all("123456" not in m.text for m in _messages(engine, chat.id))
    # The agent's reply reaches the conversation; hand back gives it to the assistant again.
    engine.handoff.reply(ticket.id, a, "您好，我是王敏，茅台的行情我帮您看一下。")
    engine.handoff.hand_back(ticket.id, a)
    assert engine.store.get(chat.id).status == "bot"
    assert "贵州茅台" in chat.say("茅台多少钱").text


def test_two_agents_cannot_claim_the_same_ticket(engine, desk) -> None:
    a, b = desk
    _, ticket = _queued(engine)
    engine.handoff.claim(ticket.id, a)
    with pytest.raises(HandoffError) as err:
        engine.handoff.claim(ticket.id, b)
    assert err.value.status == 409 and err.value.code == "already_claimed"


def test_a_violating_agent_reply_is_blocked_and_a_fixed_one_is_sent(engine, desk) -> None:
    a, _ = desk
    chat, ticket = _queued(engine)
    engine.handoff.claim(ticket.id, a)
    before = len(_messages(engine, chat.id))
    with pytest.raises(HandoffError) as err:
        engine.handoff.reply(ticket.id, a, "这只基金保本保收益，年化稳赚8%，放心买。", model=engine.guards.output)
    assert err.value.status == 422 and {v.rule for v in err.value.violations} >= {"guaranteed_return"}
    assert len(_messages(engine, chat.id)) == before  # nothing was sent
    engine.handoff.reply(ticket.id, a, "基金有风险，不保证收益，具体请以产品说明书为准。", model=engine.guards.output)
    assert _messages(engine, chat.id)[-1].role == "agent"


def test_transfer_resolve_and_one_satisfaction_rating(engine, desk) -> None:
    a, b = desk
    chat, ticket = _queued(engine)
    with pytest.raises(HandoffError):
        engine.handoff.satisfaction(chat.id, 5, "")  # not before resolution
    engine.handoff.claim(ticket.id, a)
    engine.handoff.transfer(ticket.id, a, b)
    with pytest.raises(HandoffError):
        engine.handoff.reply(ticket.id, a, "还是我")  # no longer a's
    engine.handoff.note(ticket.id, b, "客户手机 13812345678，已核实身份")
    engine.handoff.resolve(ticket.id, b)
    assert engine.store.get(chat.id).status == "resolved"
    texts_seen = [m.text for m in _messages(engine, chat.id)]
    assert any("李军" in t for t in texts_seen) and any("打分" in t for t in texts_seen)
    assert not any("已核实身份" in t for t in texts_seen)  # notes are internal
    assert engine.handoff.satisfaction(chat.id, 4, "挺快的")["score"] == 4
    with pytest.raises(HandoffError) as err:
        engine.handoff.satisfaction(chat.id, 5, "")
    assert err.value.code == "already_rated"
    stats = engine.handoff.stats()
    assert stats["satisfaction_average"] == 4.0 and stats["escalated"] == 1 and stats["queue_length"] == 0


def test_every_handoff_text_passes_the_output_guard(guard_models) -> None:
    from assistant.compliance import check_output

    fixed = [*texts.HANDOFF_LEADS.values(), texts.ALREADY_CALLBACK, texts.MILD_FRUSTRATION, texts.queue_text(3, 600),
             texts.still_queued_text(2, 300), *(texts.CALLBACK.format(why=w) for w in texts.CALLBACK_WHY.values())]
    for text in fixed:
        assert check_output(text, guard_models.output) == [], text


@pytest.mark.parametrize("text", [
    "不用转人工，我自己看看说明就行",
    "条件单触发以后还需要人工确认吗？",
])
def test_human_said_without_asking_for_one_does_not_hand_over(engine, desk, text) -> None:
    chat = Chat(engine, "100001")
    reply = chat.say(text)
    assert reply.handoff is None and engine.store.get(chat.id).status == "bot"
    assert not _tickets(engine)


class _SeesNothing:
    """A trained handoff check that finds no reason to hand over in any message."""

    ready, threshold = True, 0.8

    def probabilities(self, text):
        import numpy as np

        from assistant.handoff import LEARNED_REASONS
        return [(0, len(text))], {r: np.array([0.05]) for r in LEARNED_REASONS}


def test_a_complaint_the_handoff_check_does_not_hear_is_not_escalated(engine, desk) -> None:
    chat = Chat(engine, "100001")
    text = "我对你们的服务很不满意"
    assert engine.parser.parse(text, engine.brokerage.now().date()).intent.label == "complaint"
    engine.triggers = _SeesNothing()
    reply = chat.say(text)
    assert reply.handoff is None and not _tickets(engine)
    assert reply.text == texts.NOTED  # noted, with the way to a person named
    engine.triggers = None
    reply = chat.say(text)  # the same words with no learned check to doubt them
    assert reply.handoff is not None and reply.handoff.reason == "complaint"


def test_a_complaint_that_asks_for_a_person_is_filed_as_a_complaint(engine, desk) -> None:
    chat = Chat(engine, "100001")
    reply = chat.say("我要投诉你们，转人工")
    assert reply.handoff is not None and (reply.handoff.reason, reply.handoff.priority) == ("complaint", "high")
    [ticket] = _tickets(engine)
    assert ticket.reason == "complaint"


@pytest.mark.parametrize("text", [
    "上周投诉的那笔银证转账已经处理好了，钱也到账了，跟你们说一声",
    "前几天让人工帮我查的那笔转账，后来自己到账了，已经解决了，谢谢",
])
def test_a_matter_reported_as_settled_is_not_escalated(text, engine, desk) -> None:
    engine.triggers.ensure_trained()
    chat = Chat(engine, "100001")
    reply = chat.say(text)
    assert reply.handoff is None
    assert _tickets(engine) == []
    # The same matter come back is a complaint again.
    again = chat.say("上周投诉的那笔转账又出问题了，钱还没到，我要投诉")
    assert again.handoff is not None and again.handoff.reason == "complaint"


def test_the_ticket_is_audited_after_the_message_that_asked_for_it(engine) -> None:
    """The audit chain reads in causal order: the customer's message, then the ticket it opened."""
    chat = Chat(engine, "100001")
    assert chat.say("转人工").handoff is not None
    events = [r["event"] for r in engine.audit.records(conversation_id=chat.id)]
    assert events.count("handoff") == 1
    assert events.index("message_in") < events.index("handoff") < events.index("message_out")
