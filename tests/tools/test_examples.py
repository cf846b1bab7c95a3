"""Worked examples on the customer's own figures: the numbers a customer would check by hand."""

from __future__ import annotations

from datetime import date

from assistant.tools.examples import (
    dividend,
    dividend_tax,
    ex_price,
    price_limits,
    repo_interest,
    trade_costs,
    worked_example,
)

WEDNESDAY = date(2026, 11, 25)


def test_repo_interest_on_the_amount_rate_and_tenor_asked() -> None:
    text = repo_interest("30万买1天期逆回购 年化3% 大概多少利息", WEDNESDAY)
    assert "24.66 元" in text and "手续费 3 元" in text  # 300,000 × 3 % ÷ 365; the 1-day fee 0.001 %


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
    assert "印花税 200,000 × 0.05% = 100 元" in sale
    assert "印花税" not in purchase and "26 元" in purchase


def test_dividend_cash_for_the_shares_held() -> None:
    assert "= 300 元" in dividend("10派3是什么意思 我有1000股能分多少")


def test_an_order_or_a_question_without_figures_gets_no_example() -> None:
    assert worked_example("买100股茅台", WEDNESDAY) == ""
    assert worked_example("逆回购怎么算利息", WEDNESDAY) == ""


def test_sums_in_chinese_numerals_are_worked_through() -> None:
    assert "印花税 12,000 × 0.05% = 6 元" in trade_costs("一万二的股票卖了 印花税扣多少")


def test_dividend_tax_by_the_holding_period_said() -> None:
    assert "补扣 1,000 × 20% = 200 元" in dividend_tax("拿了20天就卖 分红1000元 扣多少税")
    assert "补扣 1,000 × 10% = 100 元" in dividend_tax("我有2000股 10派5 持有两个月卖 红利税多少")
    assert "免征" in dividend_tax("持有一年多 分红500元 要交税吗")
    both = worked_example("10派3 我有1000股 拿了15天就卖了 红利税扣多少", WEDNESDAY)
    assert "= 60 元" in both and "佣金" not in both  # the tax on the dividend, not the costs of a sale


def test_the_ex_dividend_reference_price() -> None:
    assert "9.90 元" in ex_price("昨天收盘10块 今天除息 10派1 除息价是多少")
    assert "7.62 元" in ex_price("昨收10元 10送3派1 除权参考价多少")  # (10 − 0.1) ÷ 1.3
