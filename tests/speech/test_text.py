"""Chinese output and the domain correction, without the model."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assistant.nlu import Security, SecurityMaster, default_master
from assistant.speech import DomainCorrector, normalize_transcript, numbers_for_trading, text_for_scoring


@pytest.fixture(scope="module")
def corrector() -> DomainCorrector:
    return DomainCorrector(default_master())


@pytest.mark.parametrize("heard, expected", [
    ("以三十五元的价格买入两百股", "以35元的价格买入200股"),
    ("卖出一千五百股六零零五一九", "卖出1500股600519"),
    ("涨幅超过百分之五", "涨幅超过5%"),
    ("帮我查一下最近一周的成交", "帮我查一下最近一周的成交"),  # 一下, 一周 stay words
])
def test_numbers_as_a_trading_instruction_needs_them(heard, expected) -> None:
    assert numbers_for_trading(heard) == expected


def test_traditional_characters_and_punctuation_are_tidied() -> None:
    assert normalize_transcript("中國平安的最新價是多少") == "中国平安的最新价是多少？"
    assert normalize_transcript("買入一百股貴州茅台：") == "买入一百股贵州茅台。"
    assert normalize_transcript("谢谢,再见") == "谢谢，再见。"
    assert text_for_scoring("以二十元的价格，买入五百股!") == text_for_scoring("以20元的价格买入500股")


@pytest.mark.parametrize("heard, expected, kind", [
    ("我想买毛台", "我想买茅台", "security"),
    ("卖出三百股召商银行", "卖出三百股招商银行", "security"),
    ("融资融欠怎么开通", "融资融券怎么开通", "term"),
    ("开通创业版要什么条件", "开通创业板要什么条件", "term"),
    ("可转摘怎么买", "可转债怎么买", "term"),
    ("科创板每天长跌幅是多少", "科创板每天涨跌幅是多少", "term"),  # 长 read as zhang
    ("买入100骨贵州茅台", "买入100股贵州茅台", "term"),  # a unit's sound right after a quantity
    ("卖出两百鼓招商银行", "卖出两百股招商银行", "term"),
    ("买3首平安银行", "买3手平安银行", "term"),
])
def test_misheard_names_and_terms_are_corrected_and_recorded(corrector, heard, expected, kind) -> None:
    result = corrector.correct(heard)
    assert result.text == expected
    assert result.corrections and result.corrections[0].kind == kind
    assert result.corrections[0].heard in heard and result.corrections[0].corrected in expected


@pytest.mark.parametrize("text", [
    "我没得钱了",  # sounds like 美的, but an ordinary word
    "我买的基金怎么样了",  # 买的 is not 美的
    "中国平安和平安银行哪个好",  # right names are never rewritten
    "今天天气不错",
    "请帮我转人工",
    "五谷丰登",  # after a numeral, but a word
    "一首歌",
])
def test_ordinary_words_are_left_alone(corrector, text) -> None:
    result = corrector.correct(text)
    assert result.text == text and not result.corrections


def test_a_sound_that_fits_two_securities_is_not_guessed() -> None:
    def sec(code: str, name: str) -> Security:
        return Security(code=code, exchange="SH", name=name, aliases=(), board="main", kind="stock",
                        risk_level="R3", ref_price=Decimal("10"))

    master = SecurityMaster([sec("600001", "华新科技"), sec("600002", "华欣科技")])
    result = DomainCorrector(master, lexicon=[]).correct("买入一百股华馨科技")
    assert result.text == "买入一百股华馨科技" and result.ambiguous == ["华馨科技"]
