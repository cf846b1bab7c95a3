"""Who is handed to a person and who is not, as the customer sees it: a question about the human
service, a scam asked about, a matter already settled and a customer who will think it over are
answered; a customer who cannot follow the answers, a victim and a customer in despair reach a
person."""

from __future__ import annotations

import pytest

from assistant.handoff import texts as H
from tests.conftest import Chat


def _conversation(engine, turns: list[str], customer: str | None = "100001"):
    chat = Chat(engine, customer)
    return [chat.say(t) for t in turns]


@pytest.mark.parametrize("turns", [
    ["你们人工客服每天几点到几点有人？"],
    ["转人工一般要排多久的队？"],
    ["周末能找到人工吗，还是只有工作日"],
    ["我在社区做反诈宣传，想问问冒充券商客服的骗子一般怎么骗老人"],
    ["我同事去年被荐股群骗了十几万，这种群一般什么套路？我想提醒一下我爸妈"],
    ["收到一条短信说我账户异常要点链接验证，这是不是诈骗？我还没点"],
    ["上周投诉的手续费多扣的问题，你们已经退回来了，谢谢"],
    ["之前那个转账没到账的事，现在钱到了，没事了"],
    ["创业板开通需要什么条件", "好的，我再考虑考虑，不急"],
    ["融资融券利率是多少", "嗯，我回去想想再说"],
    ["开户要准备什么", "行吧，我跟家里人商量一下再决定"],
])
def test_no_person_is_called_for(turns, engine) -> None:
    replies = _conversation(engine, turns)
    assert all(r.handoff is None for r in replies), [(r.text, r.handoff) for r in replies]


def test_a_customer_who_will_think_it_over_is_told_so(engine) -> None:
    reply = _conversation(engine, ["我的持仓", "好的，我再考虑考虑"])[-1]
    assert reply.text == H.THINK_OVER and reply.handoff is None


def test_a_customer_who_cannot_follow_after_repeated_failures_reaches_a_person(engine) -> None:
    first, second, third = _conversation(engine, ["我的持仓", "看不懂你发的这些，我不会弄", "还是弄不明白，太复杂了"])
    assert first.handoff is None and second.handoff is None
    assert third.handoff is not None and third.handoff.reason == "unanswered"


def test_an_older_customer_who_cannot_follow_the_steps_reaches_a_person_sooner(engine) -> None:
    first, second = _conversation(engine, ["我的持仓", "我七十多了，你说的这些步骤我跟不上，看不懂"])
    assert first.handoff is None
    assert second.handoff is not None and second.handoff.reason == "unanswered"


def test_saying_so_on_the_first_turn_is_a_question_not_a_failure(engine) -> None:
    [reply] = _conversation(engine, ["我七十多了看不懂手机，风险测评在哪里做"])
    assert reply.handoff is None or reply.handoff.reason != "unanswered"


@pytest.mark.parametrize("text", [
    "我被一个理财群骗了，转了5万进去，现在提不出来",
    "有个自称你们客服的人让我马上把钱转到安全账户，我还没转",
])
def test_a_victim_or_a_customer_pushed_to_pay_now_reaches_a_person_urgently(text, engine) -> None:
    [reply] = _conversation(engine, [text])
    assert reply.handoff is not None and reply.handoff.priority == "urgent"


def test_despair_is_urgent_whatever_the_cause(engine) -> None:
    reply = _conversation(engine, ["帮我看下这个月的盈亏", "全亏光了，老婆还不知道，我不想活了"])[-1]
    assert reply.handoff is not None
    assert (reply.handoff.reason, reply.handoff.priority) == ("crisis", "urgent")
    assert "12356" in reply.text
