"""The simulated broker's counter rules: lots, price limits, fees, T+1, idempotency, sessions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from assistant.nlu import default_master
from assistant.tools import SHANGHAI, BrokerageError, OrderRequest, estimate_fees, session_check
from assistant.tools.trading_rules import lot_problem


def sec(code: str):
    return default_master().get(code)


def test_lot_sizes_by_board() -> None:
    assert lot_problem(sec("600519"), "buy", 100) is None
    assert "100 股" in lot_problem(sec("600519"), "buy", 150)
    assert "200 股" in lot_problem(sec("688981"), "buy", 100)
    assert lot_problem(sec("688981"), "buy", 201) is None
    assert lot_problem(sec("600519"), "sell", 50, held=250) is None  # the odd lot, all at once


def test_fees_follow_the_fact_sheet() -> None:
    buy = estimate_fees(sec("600519"), "buy", Decimal("10000"))
    assert (buy.commission, buy.stamp_duty, buy.transfer_fee) == (Decimal("5.00"), Decimal("0"), Decimal("0.10"))
    sell = estimate_fees(sec("600519"), "sell", Decimal("100000"))
    assert (sell.commission, sell.stamp_duty) == (Decimal("25.00"), Decimal("50.00"))
    assert estimate_fees(sec("510300"), "sell", Decimal("10000")).stamp_duty == 0


def test_sessions_and_the_next_open() -> None:
    assert session_check(datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)).open
    lunch = session_check(datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI))
    assert not lunch.open and lunch.next_open.hour == 13
    weekend = session_check(datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI))
    assert not weekend.open and weekend.next_open.date().isoformat() == "2026-11-30"
    holiday = session_check(datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI))  # National Day
    assert not holiday.open and holiday.reason == "今天不是交易日"


def test_the_same_idempotency_key_places_one_order(engine) -> None:
    request = OrderRequest(code="000858", side="buy", quantity=100, price_type="market")
    first = engine.brokerage.place_order("100001", request, "test-key-000001")
    second = engine.brokerage.place_order("100001", request, "test-key-000001")
    assert first.order_id == second.order_id
    assert len([o for o in engine.brokerage.orders("100001") if o.order_id == first.order_id]) == 1


def test_shares_bought_today_cannot_be_sold_today(engine) -> None:
    engine.brokerage.place_order("100001", OrderRequest(code="000858", side="buy", quantity=100, price_type="market"), "k-t1-000001")
    position = next(p for p in engine.brokerage.positions("100001") if p.code == "000858")
    assert position.quantity == 600 and position.sellable == 500
    with pytest.raises(BrokerageError) as exc:
        engine.brokerage.place_order("100001", OrderRequest(code="000858", side="sell", quantity=600, price_type="market"), "k-t1-000002")
    assert exc.value.code == "insufficient_shares"


def test_the_counter_refuses_out_of_band_and_closed_market(engine, clock) -> None:
    with pytest.raises(BrokerageError) as exc:
        engine.brokerage.place_order("100001", OrderRequest(code="000858", side="buy", quantity=100, price_type="limit",
                                                            limit_price=Decimal("200.00")), "k-band-0001")
    assert exc.value.code == "price_out_of_band"
    clock.advance(hours=6)
    with pytest.raises(BrokerageError) as exc:
        engine.brokerage.place_order("100001", OrderRequest(code="000858", side="buy", quantity=100, price_type="market"), "k-closed-01")
    assert exc.value.code == "market_closed"


def test_another_customers_order_cannot_be_cancelled(engine) -> None:
    order = engine.brokerage.place_order("100001", OrderRequest(code="000858", side="buy", quantity=100, price_type="limit",
                                                                limit_price=Decimal("110.00")), "k-other-001")
    with pytest.raises(BrokerageError) as exc:
        engine.brokerage.cancel_order("100003", order.order_id)
    assert exc.value.code == "order_not_found"
