"""Slots a trading instruction depends on: securities, numbers, prices, dates, order ids."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from assistant.nlu import default_master
from assistant.nlu.slots import SlotExtractor

TODAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def extract():
    extractor = SlotExtractor(default_master())
    return lambda text: extractor.extract(text, TODAY)


@pytest.mark.parametrize("text, code", [
    ("茅台多少钱", "600519"),
    ("600519", "600519"),
    ("毛台现在什么价", "600519"),  # a homophone typed with a pinyin input method
    ("五梁液涨了吗", "000858"),
    ("宁王今天怎么样", "300750"),
    ("BYD股价", "002594"),
])
def test_securities_by_name_alias_code_and_sound(extract, text, code) -> None:
    assert extract(text).security.code == code


def test_two_securities_are_candidates_not_a_guess(extract) -> None:
    slots = extract("中国平安和平安银行哪个好")
    assert slots.security is None and {c.code for c in slots.security_candidates} == {"601318", "000001"}


def test_ordinary_words_are_not_securities(extract) -> None:
    assert extract("没得钱了怎么办").security is None


@pytest.mark.parametrize("text, quantity, mode", [
    ("买200股茅台", 200, "shares"),
    ("买两手五粮液", 200, "shares"),
    ("卖三百股平安", 300, "shares"),
    ("全部卖掉", None, "all"),
    ("卖一半", None, "half"),
])
def test_quantities(extract, text, quantity, mode) -> None:
    slots = extract(text)
    assert (slots.quantity, slots.quantity_mode) == (quantity, mode)


def test_a_name_with_a_numeral_is_not_a_number(extract) -> None:
    slots = extract("买五粮液")
    assert slots.quantity is None and slots.price is None and slots.security.code == "000858"


@pytest.mark.parametrize("text, price_type, price", [
    ("以1480元买入", "limit", Decimal("1480")),
    ("十块五买", "limit", Decimal("10.5")),
    ("价格 35.6", "limit", Decimal("35.6")),
    ("市价卖出", "market", None),
    ("涨停价买", "limit_up", None),
])
def test_prices(extract, text, price_type, price) -> None:
    slots = extract(text)
    assert slots.price_type == price_type and slots.price == price


@pytest.mark.parametrize("text, start, end", [
    ("今天的成交", date(2026, 11, 25), date(2026, 11, 25)),
    ("上个月买了什么", date(2026, 10, 1), date(2026, 10, 31)),
    ("3月份的交割单", date(2026, 3, 1), date(2026, 3, 31)),
    ("12月份的成交", date(2025, 12, 1), date(2025, 12, 31)),  # a future month means last year's
    ("最近一周的成交", date(2026, 11, 19), date(2026, 11, 25)),
])
def test_dates(extract, text, start, end) -> None:
    rng = extract(text).date_range
    assert (rng.start, rng.end) == (start, end)


def test_order_ids_and_sides(extract) -> None:
    assert extract("撤销委托号 12345").order_id == "12345"
    assert extract("委托100股").order_id is None
    assert extract("帮我卖掉平安").side == "sell"
    assert extract("上个月买了什么").side is None
