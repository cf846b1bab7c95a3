"""The web chat page in headless Chromium, against the real app: sign in, a knowledge question
whose citation opens its passage, an order confirmed and a preview cancelled with the buttons,
an agent joining, a dropped socket, and a spoken turn recorded by the browser."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from assistant.conversation import DialogueState, conversation_channel
from assistant.storage import MessageRating
from tests.conftest import assistant_orders

pytestmark = pytest.mark.browser


def sign_in(page: Page, customer_id: str) -> str:
    """Signs in as a demo customer from the list; returns the new conversation's id."""
    page.goto("/")
    page.locator(f'button[data-customer-id="{customer_id}"]').click()
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator("#who-name")).to_contain_text(customer_id)
    expect(page.locator("#chat")).to_have_attribute("data-stream", "open")  # live: events reach the page
    return page.evaluate("() => sessionStorage.getItem('mc.conversation')")


def replies(page: Page):
    return page.locator("li.message.assistant")


def say(page: Page, text: str) -> None:
    """Types a message, sends it with Enter and waits for the reply to it."""
    before = replies(page).count()
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")
    expect(page.locator("li.message.customer .text").last).to_have_text(text)
    expect(replies(page)).to_have_count(before + 1, timeout=30_000)
    expect(page.locator("#input")).to_have_value("")


def shown_ids(page: Page) -> list[int]:
    return [int(i) for i in page.locator("li.message").evaluate_all("items => items.map(i => i.dataset.id)")]


def history(live_server, cid: str, customer_id: str) -> list[dict]:
    response = httpx.get(f"{live_server.base_url}/v1/conversations/{cid}/messages?limit=200",
                         headers={"Authorization": f"Bearer {live_server.token(customer_id)}"})
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_sign_in_as_a_demo_customer_with_the_name_masked(page: Page) -> None:
    page.goto("/")
    customers = page.locator("#demo-customers button")
    expect(customers).to_have_count(6)
    first = page.locator('button[data-customer-id="100001"]')
    expect(first).to_contain_text("王*")
    expect(first).to_contain_text("风险等级 C4")
    assert "王磊" not in page.content()  # the full name never reaches the page
    cid = sign_in(page, "100001")
    assert page.evaluate("() => sessionStorage.getItem('mc.token')")
    say(page, "你好")
    # A reload keeps the session and shows the conversation again, each message once.
    page.reload()
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator("li.message")).to_have_count(2)
    assert page.evaluate("() => sessionStorage.getItem('mc.conversation')") == cid
    # Signing out forgets the token: the list comes back.
    page.get_by_role("button", name="退出").click()
    expect(customers).to_have_count(6)
    assert page.evaluate("() => sessionStorage.getItem('mc.token')") is None


def test_a_knowledge_answer_cites_its_source_and_the_link_opens_the_passage(page: Page, live_server) -> None:
    sign_in(page, "100002")
    say(page, "卖出股票的印花税税率是多少")
    answer = replies(page).last
    expect(answer.locator(".text")).to_contain_text("0.05%")
    link = answer.locator("a.citation").first
    expect(link).to_contain_text("证券交易印花税说明")
    chunk_id = link.get_attribute("data-chunk-id")
    link.click()
    dialog = page.locator("dialog#passage")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#passage-title")).to_have_text("证券交易印花税说明")
    passage = httpx.get(f"{live_server.base_url}/v1/kb/passages/{chunk_id}").json()
    expect(dialog.locator("#passage-text")).to_have_text(passage["text"])
    assert "0.05%" in passage["text"] or "印花税" in passage["text"]
    expect(dialog.locator("#passage-meta")).to_contain_text("财政部 税务总局公告2023年第39号")
    dialog.get_by_role("button", name="关闭").click()
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()  # back where the customer was
    # The customer rates the answer.
    helpful = answer.get_by_role("button", name="这条回复有帮助")
    helpful.click()
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(answer.locator(".rating")).to_contain_text("感谢您的反馈")
    with live_server.app.state.db.session() as s:
        rating = s.get(MessageRating, int(answer.get_attribute("data-id")))
        assert rating is not None and rating.rating == "up" and rating.customer_id == "100002"


def test_an_order_is_previewed_and_placed_with_the_confirm_button(page: Page, live_server) -> None:
    engine = live_server.app.state.engine
    before = {o.order_id for o in assistant_orders(engine, "100001")}
    sign_in(page, "100001")
    say(page, "买100股五粮液 市价")
    preview = replies(page).last
    expect(preview.locator(".text")).to_contain_text("五粮液")
    confirm = preview.get_by_role("button", name="确认")
    expect(confirm).to_be_visible()
    expect(preview.get_by_role("button", name="取消")).to_be_visible()
    assert {o.order_id for o in assistant_orders(engine, "100001")} == before  # nothing placed before the yes
    confirm.click()
    expect(replies(page)).to_have_count(2, timeout=30_000)
    expect(replies(page).last.locator(".text")).to_contain_text("委托已提交")
    expect(page.locator(".confirm")).to_have_count(0)  # the buttons go once answered
    expect(page.locator("li.message.customer .text").last).to_have_text("确认")
    placed = [o for o in assistant_orders(engine, "100001") if o.order_id not in before]
    assert len(placed) == 1
    assert placed[0].code == "000858" and placed[0].side == "buy" and placed[0].quantity == 100


def test_a_preview_cancelled_with_the_button_places_nothing(page: Page, live_server) -> None:
    engine = live_server.app.state.engine
    before = len(assistant_orders(engine, "100006"))
    sign_in(page, "100006")
    say(page, "买入200股工商银行 市价")
    preview = replies(page).last
    expect(preview.locator(".text")).to_contain_text("工商银行")
    preview.get_by_role("button", name="取消").click()
    expect(replies(page)).to_have_count(2, timeout=30_000)
    expect(replies(page).last.locator(".text")).to_contain_text("没有提交")
    expect(page.locator(".confirm")).to_have_count(0)
    assert len(assistant_orders(engine, "100006")) == before


def _agent_says(live_server, cid: str, text: str, agent_name: str) -> None:
    """What the handoff side does: store the agent's message, then tell the conversation's listeners."""
    engine = live_server.app.state.engine
    conversation = engine.store.get(cid)
    engine.store.save_turn(cid, DialogueState.model_validate(conversation.state),
                           [{"role": "agent", "text": text, "payload": {"agent_name": agent_name}}],
                           engine.brokerage.now())
    live_server.app.state.events.publish(conversation_channel(cid), {"type": "new_messages"})


def test_queue_position_then_the_agent_joins_and_speaks(page: Page, live_server) -> None:
    cid = sign_in(page, "100003")
    say(page, "你好")
    events = live_server.app.state.events
    events.publish(conversation_channel(cid), {"type": "status", "status": "queued", "queue_position": 3,
                                               "estimated_wait_s": 180})
    expect(page.locator("#presence")).to_have_text("正在为您转接人工客服，您前面还有 2 位客户，预计等待约 3 分钟。")
    events.publish(conversation_channel(cid), {"type": "status", "status": "assigned", "agent_name": "李敏"})
    expect(page.locator("li.notice")).to_have_text(["人工客服 李敏 已接入"])
    expect(page.locator("#presence")).to_have_text("人工客服 李敏 正在为您服务")
    _agent_says(live_server, cid, "您好，我是人工客服李敏，请问有什么可以帮您？", "李敏")
    agent = page.locator("li.message.agent")
    expect(agent).to_have_count(1)
    expect(agent.locator(".author")).to_contain_text("人工客服 李敏")
    expect(agent.locator(".text")).to_have_text("您好，我是人工客服李敏，请问有什么可以帮您？")
    expect(page.locator("li.notice")).to_have_count(1)  # joined once, not again for the message
    events.publish(conversation_channel(cid), {"type": "status", "status": "resolved"})
    expect(page.locator("li.notice").last).to_contain_text("人工客服已结束本次服务")
    expect(page.locator("#presence")).to_be_hidden()


def test_an_agent_message_without_a_status_event_still_says_an_agent_joined(page: Page, live_server) -> None:
    cid = sign_in(page, "100004")
    _agent_says(live_server, cid, "您好，这里是人工客服。", "")
    expect(page.locator("li.notice")).to_have_text(["人工客服已接入"])
    expect(page.locator("li.message.agent .author")).to_contain_text("人工客服")


def test_a_dropped_socket_reconnects_and_replays_what_was_missed_once(page: Page, live_server) -> None:
    sockets = []
    blocked = {"on": False}

    def route(ws) -> None:
        if blocked["on"]:
            ws.close()  # the network is down: the page keeps retrying
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/stream"), route)

    def drop() -> None:
        blocked["on"] = True
        sockets[-1].close()
        expect(page.locator("#connection")).to_have_text("连接已断开，正在重新连接…")

    def restore() -> None:
        blocked["on"] = False
        expect(page.locator("#chat")).to_have_attribute("data-stream", "open", timeout=30_000)
        expect(page.locator("#connection")).to_be_hidden()

    cid = sign_in(page, "100001")
    say(page, "你好")
    drop()
    # Meanwhile the customer's other device carries on over REST: nothing arrives while down …
    response = httpx.post(f"{live_server.base_url}/v1/conversations/{cid}/messages", json={"text": "我的持仓"},
                          headers={"Authorization": f"Bearer {live_server.token('100001')}"}, timeout=30)
    assert response.status_code == 200, response.text
    time.sleep(0.5)
    expect(page.locator("li.message")).to_have_count(2)
    restore()  # … and the reconnect replays it
    expect(page.locator("li.message")).to_have_count(4)
    assert shown_ids(page) == [m["id"] for m in history(live_server, cid, "100001")]  # in order, none twice
    # A message typed on the page while the socket is down goes over REST; the reconnect repeats nothing.
    drop()
    say(page, "谢谢")
    restore()
    page.wait_for_timeout(500)  # time for a replay to arrive, were it to repeat anything
    expect(page.locator("li.message")).to_have_count(6)
    assert shown_ids(page) == [m["id"] for m in history(live_server, cid, "100001")]
    assert page.locator("li.message.customer .text").all_inner_texts() == ["你好", "我的持仓", "谢谢"]
    # The live stream goes on after the replay.
    say(page, "再见")
    assert shown_ids(page) == [m["id"] for m in history(live_server, cid, "100001")]


@pytest.fixture
def speech_model(live_server):
    from assistant.speech import SpeechUnavailable

    try:
        live_server.app.state.speech.model  # loaded once; the packaged Whisper base
    except SpeechUnavailable as exc:
        pytest.skip(f"the speech model cannot be loaded here: {exc}")


def test_a_spoken_turn_recorded_in_the_browser_is_transcribed_and_answered(page: Page, speech_model) -> None:
    sign_in(page, "100001")
    record = page.locator("#record")
    record.click()
    expect(record).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#voice-status")).to_contain_text("正在录音")
    page.wait_for_timeout(3500)  # the 2.1 s clip, then a little silence
    record.click()
    expect(record).to_have_attribute("aria-pressed", "false")
    heard = page.locator("li.message.customer .text")
    expect(heard).to_have_count(1, timeout=60_000)
    expect(heard).to_contain_text("贵州茅台")
    expect(replies(page)).to_have_count(1)
    expect(replies(page).locator(".text")).to_contain_text("贵州茅台")
    expect(page.locator("#chat-error")).to_be_hidden()
    expect(page.locator("#voice-status")).to_be_hidden()


def test_voice_errors_are_explained_in_chinese(page: Page) -> None:
    # The server refuses the clip (as it does silence): its message is shown, nothing is added.
    page.route("**/voice", lambda route: route.fulfill(
        status=422, json={"error": {"code": "no_speech", "message": "没有听清您说的话，请靠近麦克风再说一遍。"}}))
    sign_in(page, "100001")
    page.locator("#record").click()
    page.wait_for_timeout(1000)
    page.locator("#record").click()
    expect(page.locator("#chat-error")).to_have_text("语音未能发送：没有听清您说的话，请靠近麦克风再说一遍。")
    expect(page.locator("li.message")).to_have_count(0)
    # A browser that refuses the microphone.
    page.evaluate("""() => { navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('denied', 'NotAllowedError')); }""")
    page.locator("#record").click()
    expect(page.locator("#chat-error")).to_contain_text("麦克风权限被拒绝")
    expect(page.locator("#record")).to_have_attribute("aria-pressed", "false")


def test_the_confirmation_buttons_go_when_the_two_minutes_are_up(page: Page) -> None:
    page.clock.install()  # the page's timers, under the test's control
    sign_in(page, "100003")
    say(page, "买入100股工商银行 市价")
    preview = replies(page).last
    expect(preview.get_by_role("button", name="确认")).to_be_visible()
    page.clock.fast_forward("01:50")
    expect(preview.get_by_role("button", name="确认")).to_be_visible()
    page.clock.fast_forward("00:15")
    expect(preview.locator(".confirm")).to_have_count(0)
    expect(preview).to_contain_text("该确认已超时")
