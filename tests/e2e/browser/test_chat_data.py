"""The chat page shows data as data: holdings as a table (gains red, losses green), an order preview
as an order ticket with 确认 / 取消 beside it, the reply's text kept for screen readers; questions the
knowledge base answers offered on an empty conversation and after a "not found"; at a desktop's
width and at a phone's."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import SUGGESTED
from tests.e2e.browser.test_chat_page import replies, say, sign_in

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}


@pytest.fixture(params=list(SIZES))
def sized(page: Page, request) -> Page:
    page.set_viewport_size(SIZES[request.param])
    return page


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_holdings_are_a_table_with_gains_red_and_losses_green(sized: Page, live_server) -> None:
    sign_in(sized, "100001")
    say(sized, "查一下我的持仓")
    reply = replies(sized).last
    table = reply.locator(".card.holdings table")
    expect(table).to_be_visible()
    positions = live_server.app.state.engine.brokerage.positions("100001")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(len(positions))
    for p in positions:
        row = table.locator(f'tr[data-code="{p.code}"]')
        expect(row).to_contain_text(p.name)
        expect(row).to_contain_text(f"{p.quantity:,}")
        pl = row.get_by_test_id("pl")
        expect(pl).to_contain_text(f"{p.profit:+,.2f}")
        colour = pl.evaluate("e => getComputedStyle(e).color")
        if p.profit > 0:
            assert colour == "rgb(217, 36, 28)"  # red: a gain
        elif p.profit < 0:
            assert colour == "rgb(17, 138, 62)"  # green: a loss
    assert any(p.profit > 0 for p in positions) and any(p.profit < 0 for p in positions)
    # The text is still there for a screen reader (and is what WeChat gets), but not shown twice.
    text = reply.locator(".text")
    expect(text).to_contain_text(positions[0].name)
    assert text.evaluate("e => e.getBoundingClientRect().width") <= 1
    expect(reply.locator(".card.holdings")).to_have_attribute("aria-hidden", "true")
    box = table.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= sized.viewport_size["width"]
    no_sideways_scroll(sized)


def test_an_order_preview_is_an_order_ticket_with_confirm_and_cancel_beside_it(sized: Page) -> None:
    sign_in(sized, "100001")
    say(sized, "买100股五粮液 市价")
    reply = replies(sized).last
    ticket = reply.locator(".card.ticket")
    expect(ticket).to_be_visible()
    expect(ticket.locator(".side-badge")).to_have_text("买入")
    expect(ticket).to_contain_text("五粮液")
    expect(ticket).to_contain_text("000858")
    expect(ticket).to_contain_text("100 股")
    expect(ticket).to_contain_text("市价委托")
    expect(ticket).to_contain_text("预估金额")
    confirm = ticket.get_by_role("button", name="确认")
    cancel = ticket.get_by_role("button", name="取消")
    expect(confirm).to_be_visible()
    expect(cancel).to_be_visible()
    # The risk notes and the suitability line the card does not hold stay visible beside it.
    expect(reply.locator(".rich-text").last).to_contain_text("风险提示")
    fields, actions = ticket.locator(".ticket-main").bounding_box(), ticket.locator(".ticket-actions").bounding_box()
    if sized.viewport_size["width"] >= 800:
        assert actions["x"] >= fields["x"] + fields["width"] - 1  # beside the ticket
    else:
        assert actions["y"] >= fields["y"] + fields["height"] - 1  # under it, full width, on a phone
    no_sideways_scroll(sized)
    cancel.click()  # the word is sent as the customer's message
    expect(sized.locator("li.message.customer .text").last).to_have_text("取消")
    expect(replies(sized)).to_have_count(2, timeout=30_000)
    expect(replies(sized).last).to_contain_text("取消")
    expect(replies(sized).last.locator(".card")).to_have_count(0)  # nothing left to confirm


def test_questions_are_offered_on_an_empty_conversation_and_after_a_not_found(page: Page) -> None:
    sign_in(page, "100003")
    offered = page.locator("li.suggestions button.suggestion")
    # Only those the knowledge base answers: the small test base knows nothing of 港股打新.
    expect(offered).to_have_count(3)
    assert offered.all_inner_texts() == SUGGESTED[:3]
    offered.first.click()
    expect(page.locator("li.message.customer .text").last).to_have_text(SUGGESTED[0])
    expect(replies(page)).to_have_count(1, timeout=30_000)
    expect(replies(page).last.locator(".text")).to_contain_text("200 股")
    expect(offered).to_have_count(0)
    say(page, "可转债的强赎条款是怎么规定的")
    expect(offered).to_have_count(3)


def test_a_preview_of_a_kind_the_page_does_not_know_is_shown_from_its_fields(page: Page) -> None:
    """A reverse-repo preview (the conversation may add one): a ticket of its labelled fields."""
    sign_in(page, "100001")
    shown = page.evaluate("""() => {
        const text = document.createElement("div");
        const card = window.MingchuanCards.render({role: "assistant", text: "请核对国债逆回购：GC001，1 天，10 万元。",
            pending_confirmation: {kind: "reverse_repo"},
            data: {kind: "reverse_repo", code: "204001", tenor_days: 1, amount: "100000.00", rate: "1.85",
                   interest_estimate: "5.07", nested: {x: 1}}}, text);
        return {ticket: card.querySelector(".card.ticket").innerText, hidden: text.className,
                actions: card.querySelectorAll(".ticket-actions").length};
    }""")
    assert "国债逆回购预览" in shown["ticket"]
    for part in ("204001", "期限（天）", "100,000.00 元", "年化利率", "1.85%", "预估利息", "5.07 元"):
        assert part in shown["ticket"]
    assert "nested" not in shown["ticket"] and shown["actions"] == 1 and "visually-hidden" in shown["hidden"]
