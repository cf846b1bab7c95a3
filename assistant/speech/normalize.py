"""Chinese output as the rest of the assistant needs it.

Whisper may answer in traditional characters, with English or full-width punctuation, with a
stray colon at the end, and with numbers spelt out. A trading instruction needs digits:
三十五元 → 35元, 两百股 → 200股, 六零零五一九 → 600519. Other numerals (一下, 一笔, 一周)
stay words.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import cn2an
import opencc

_NUM = "零〇一二两三四五六七八九十百千万亿"
# A spelt-out amount directly before a unit an instruction uses.
_AMOUNT = re.compile(rf"([{_NUM}]+(?:点[{_NUM}]+)?)(?=\s*(?:股|手|元|块|港元|美元|万股|万元|倍|份|张|个点|%))")
_PERCENT = re.compile(rf"百分之([{_NUM}]+(?:点[{_NUM}]+)?)")
# Digit by digit: a security code, an order number (three or more digits, no 十/百).
_DIGITS = re.compile(r"[零〇幺一二三四五六七八九]{3,}")
_DIGIT_MAP = str.maketrans("零〇幺一二三四五六七八九", "001123456789")
_HAN = r"\u4e00-\u9fff"
_SPACE_BETWEEN_HAN = re.compile(rf"(?<=[{_HAN}])\s+(?=[{_HAN}])")
_TO_FULL = {",": "，", "?": "？", "!": "！", ";": "；", ":": "：", ".": "。"}
_ENDING_COLON = re.compile(r"[：:]+\s*$")
_REPEATED = re.compile(r"([，。？！、：；])[，。？！、：；]+")
_QUESTION = re.compile(r"(吗|呢|么|多少|什么|怎么|怎样|几|哪|是否|能不能|可不可以|有没有|行不行|对不对|好不好)$")
_TERMINAL = "。？！"
_PUNCT = re.compile(r"[\s，。？！、：；,.?!:;“”\"'‘’（）()《》…—-]+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def _amount(match: re.Match) -> str:
    words = match.group(1)
    try:
        value = cn2an.cn2an(words, "smart")
    except (ValueError, KeyError):
        return words
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def numbers_for_trading(text: str) -> str:
    text = _PERCENT.sub(lambda m: _amount(m) + "%", text)
    text = _AMOUNT.sub(_amount, text)
    return _DIGITS.sub(lambda m: m.group(0).translate(_DIGIT_MAP), text)


def tidy_punctuation(text: str) -> str:
    text = _SPACE_BETWEEN_HAN.sub("", text.strip())
    text = re.sub(r"(?<=[\u4e00-\u9fff])[,?!;:.](?!\d)|[,?!;:](?=[\u4e00-\u9fff])",
                  lambda m: _TO_FULL[m.group(0)], text)
    text = _ENDING_COLON.sub("", text)
    text = _REPEATED.sub(r"\1", text).strip("，、：； ")
    if text and text[-1] not in _TERMINAL:
        text += "？" if _QUESTION.search(text) else "。"
    return text


def normalize_transcript(text: str) -> str:
    """Simplified characters, tidy Chinese punctuation; numbers are left to `numbers_for_trading`."""
    text = unicodedata.normalize("NFKC", text)  # full-width digits and letters → ASCII
    return tidy_punctuation(to_simplified(text))


def text_for_scoring(text: str) -> str:
    """The canonical form both sides of a character error rate are compared in."""
    text = numbers_for_trading(to_simplified(unicodedata.normalize("NFKC", text)))
    return _PUNCT.sub("", text).lower()
