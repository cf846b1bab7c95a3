"""The handoff in two browsers at once: a customer in the chat page asks for a person, an agent
signs in to the console (/agent), claims the ticket, they talk, the guard stops a reply the
agent must not send, the agent resolves, and the customer rates the service."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from assistant.storage import HandoffTicket
from tests.e2e.browser.test_chat_page import sign_in

pytestmark = pytest.mark.browser

PASSWORD = "Zhang-min 2026!"


@pytest.fixture
def two_pages(browser, live_server):
    """A customer's page and an agent's page, each in its own browser context (own storage, own
    sockets); a script error or a console error on either fails the test."""
    contexts, pages, errors = [], [], []
    for _ in range(2):
        context = browser.new_context(base_url=live_server.base_url, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        # A refused request (the guard's 422) is logged by the browser as a failed load: expected here.
        page.on("console", lambda m: errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        contexts.append(context)
        pages.append(page)
    yield pages
    for context in contexts:
        context.close()
    assert not errors, f"errors on the pages: {errors}"


def test_customer_escalates_agent_claims_they_talk_agent_resolves_customer_rates(two_pages, live_server) -> None:
    customer, agent = two_pages
    service = live_server.app.state.handoff
    if service.agents.by_username("zhangmin") is None:
        service.agents.add("zhangmin", "张敏", "agent", PASSWORD, service.clock())

    # The agent signs in first: with nobody online the customer would get a call-back ticket instead.
    agent.goto("/agent")
    agent.get_by_test_id("login-username").fill("zhangmin")
    agent.get_by_test_id("login-password").fill(PASSWORD)
    agent.get_by_test_id("login-submit").click()
    expect(agent.get_by_test_id("whoami")).to_contain_text("张敏")
    expect(agent.get_by_test_id("connection")).to_have_text("在线")

    # The customer asks for a person and is told they are in the queue.
    cid = sign_in(customer, "100004")
    customer.locator("#input").fill("我要转人工")
    customer.locator("#input").press("Enter")
    expect(customer.locator("#presence")).to_contain_text("正在为您转接人工客服")
    customer.reload()  # a reload shows the place in the queue at once, not at the next change
    expect(customer.locator("#presence")).to_contain_text("您是下一位")

    # The ticket appears in the agent's live queue; the agent claims it and sees the transcript.
    ticket = agent.get_by_test_id("queue-list").locator("li").filter(has_text="客户 100004")
    expect(ticket).to_have_count(1)
    ticket.locator('[data-testid^="claim-"]').click()
    expect(agent.get_by_test_id("ticket-panel")).to_be_visible()
    expect(agent.get_by_test_id("transcript")).to_contain_text("我要转人工")
    expect(agent.get_by_test_id("summary")).not_to_be_empty()
    expect(customer.locator("#presence")).to_contain_text("人工客服 张敏")
    customer.reload()  # and who is serving, without announcing the agent a second time
    expect(customer.locator("#presence")).to_contain_text("人工客服 张敏 正在为您服务")
    expect(customer.locator("li", has_text="已接入")).to_have_count(1)

    # Agent → customer, in real time.
    agent.get_by_test_id("reply-text").fill("您好，我是客服张敏，请问有什么可以帮您？")
    agent.get_by_test_id("reply-send").click()
    agent_message = customer.locator("li.message.agent")
    expect(agent_message).to_have_count(1)
    expect(agent_message).to_contain_text("您好，我是客服张敏")
    expect(agent_message).to_contain_text("人工客服 张敏")

    # Customer → agent; the assistant stays silent while the agent owns the conversation.
    replies_before = customer.locator("li.message.assistant").count()
    customer.locator("#input").fill("我昨天的委托一直没有成交，是什么原因？")
    customer.locator("#input").press("Enter")
    expect(agent.get_by_test_id("transcript").get_by_test_id("message-customer").last).to_contain_text("一直没有成交")
    expect(customer.locator("li.message.customer .text").last).to_have_text("我昨天的委托一直没有成交，是什么原因？")
    assert customer.locator("li.message.assistant").count() == replies_before

    # A reply that promises returns is stopped at the console and never reaches the customer.
    agent.get_by_test_id("reply-text").fill("别担心，这只股票明天肯定涨，保证您稳赚不赔。")
    agent.get_by_test_id("reply-send").click()
    expect(agent.get_by_test_id("guard-box")).to_be_visible()
    expect(agent.get_by_test_id("guard-violations")).not_to_be_empty()
    agent.get_by_test_id("reply-text").fill("委托未成交通常是价格未到或数量不足，我帮您看一下具体情况。")
    agent.get_by_test_id("reply-send").click()
    expect(customer.locator("li.message.agent")).to_have_count(2)
    assert "稳赚" not in customer.locator("#messages").inner_text()

    # The agent resolves; the customer is asked for a 1–5 rating and gives 4.
    agent.get_by_test_id("resolve").click()
    expect(agent.get_by_test_id("ticket-panel")).to_be_hidden()
    rating = customer.locator(".satisfaction")
    expect(rating).to_be_visible()
    rating.locator('button[data-score="4"]').click()
    expect(rating).to_contain_text("感谢您的评价")
    with live_server.app.state.db.session() as s:
        scores = s.scalars(select(HandoffTicket.csat_score).where(HandoffTicket.conversation_id == cid)).all()
    assert scores == [4]
    # Back with the assistant: it answers again.
    expect(customer.locator("#presence")).to_be_hidden()


def test_the_console_refuses_a_wrong_password(page: Page, live_server) -> None:
    service = live_server.app.state.handoff
    if service.agents.by_username("lisi") is None:
        service.agents.add("lisi", "李思", "agent", PASSWORD, service.clock())
    page.goto("/agent")
    page.get_by_test_id("login-username").fill("lisi")
    page.get_by_test_id("login-password").fill("not the password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).not_to_be_empty()
    expect(page.get_by_test_id("desk-view")).to_be_hidden()
