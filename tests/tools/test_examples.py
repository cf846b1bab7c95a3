"""Worked examples on the customer's own figures: the numbers a customer would check by hand."""

from __future__ import annotations

from datetime import date

from assistant.tools.examples import dividend, price_limits, repo_interest, trade_costs, worked_example

WEDNESDAY = date(2026, 11, 25)


def test_repo_interest_on_the_amount_rate_and_tenor_asked() -> None:
    text = repo_interest("30万买1天期逆回购 年化3% 大概多少利息", WEDNESDAY)
    assert "24.66 元" in text and "3.00 元" in text  # 300,000 × 3 % ÷ 365; the 1-day fee 0.001 %


def test_a_thursday_one_day_repo_earns_three_days_and_a_friday_one_one() -> None:
    thursday = repo_interest("我周四做了10万的1天期逆回购 年化2% 能拿多少利息", WEDNESDAY)
    friday = repo_interest("周五做10万的1天期逆回购 年化2% 能拿多少利息", WEDNESDAY)
    assert "实际占款 3 天" in thursday and "16.44 元" in thursday
    assert "实际占款 1 天" in friday and "5.48 元" in friday


def test_price_limits_follow_the_board_named() -> None:
    assert "13.57" in price_limits("主板股票昨收12.34 涨停跌停价各是多少")
    assert "15.60" in price_limits("bjs的票昨收12块 涨停价跌停价分别多少")  # 30 %
    assert price_limits("昨收12块 涨停价多少") is None  # which board decides the band: not guessed


def test_a_sale_pays_stamp_duty_and_a_purchase_does_not() -> None:
    sale = trade_costs("印花税买卖都收吗，那卖了20万要交多少")
    purchase = trade_costs("买入10万股票手续费多少")
    assert "印花税" in sale and "100.00 元" in sale
    assert "印花税" not in purchase and "26.00 元" in purchase


def test_dividend_cash_for_the_shares_held() -> None:
    assert "300.00 元" in dividend("10派3是什么意思 我有1000股能分多少")


def test_an_order_or_a_question_without_figures_gets_no_example() -> None:
    assert worked_example("买100股茅台", WEDNESDAY) == ""
    assert worked_example("逆回购怎么算利息", WEDNESDAY) == ""
