"""One normalisation in front of every check that reads free text (personal data, the output
patterns, the input patterns), so a disguise that slips past one slips past none.

A disguise changes how a text looks, not what it says: invisible characters between the
letters of a word or the digits of a number (zero-width space, word joiner, soft hyphen, the
Hangul filler U+3164 …), full-width forms, Chinese numerals spelling out a number digit by digit
("一三九…"), an e-mail address written with "(at)". `normalize` undoes them and remembers, for
every character it gives, the span of the original it came from, so a finding in the
normalised text masks or quotes exactly the right part of the original.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc

# Full-width ASCII (０-９, Ａ-Ｚ, ＠, －, space) to half-width, one character for one.
WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Blank-looking letters and marks that are not format characters (category Cf) themselves.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180e") | frozenset(map(chr, range(0xFE00, 0xFE10)))
# Chinese numerals used to spell a number digit by digit; only runs of four or more are read as digits.
CN_DIGITS = {"零": "0", "〇": "0", "○": "0", "洞": "0", "一": "1", "壹": "1", "幺": "1", "二": "2", "贰": "2", "三": "3",
             "叁": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6", "陆": "6", "七": "7", "柒": "7",
             "八": "8", "捌": "8", "九": "9", "玖": "9"}
_CN = "".join(CN_DIGITS)
_GAP = r"[\s\-.·_\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u3164\ufeff\uffa0]{0,3}"
_CN_RUN = re.compile(rf"[{_CN}0-9０-９](?:{_GAP}[{_CN}0-9０-９]){{3,}}")
# "zhang.san(at)qq.com", "zhang [at] qq [dot] com", "zhang艾特qq.com".
_AT = re.compile(r"\s*(?:[(\[（【<{]\s*(?:at|AT|At)\s*[)\]）】>}]|艾特|＠)\s*")
_DOT = re.compile(r"\s*[(\[（【<{]\s*(?:dot|DOT|Dot|点)\s*[)\]）】>}]\s*")


def is_invisible(ch: str) -> bool:
    """A character that shows nothing: a format character (Cf: zero-width space and joiners, word
    joiner, soft hyphen, BOM, bidi marks), a variation selector or a blank filler letter."""
    return ch in _FILLERS or unicodedata.category(ch) == "Cf"


@dataclass(frozen=True)
class Normalized:
    """A normalised text and, for each of its characters, where in the original it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the normalised span [start, end)."""
        if start >= end:
            at = self.starts[start] if start < len(self.starts) else (self.ends[-1] if self.ends else 0)
            return at, at
        return self.starts[start], self.ends[end - 1]


def normalize(text: str) -> Normalized:
    replace: dict[int, tuple[int, str]] = {}  # original start -> (original end, replacement)
    for pattern, value in ((_AT, "@"), (_DOT, ".")):
        for m in pattern.finditer(text):
            replace[m.start()] = (m.end(), value)
    for m in _CN_RUN.finditer(text):
        if any(c in CN_DIGITS for c in m.group()):
            for i in range(m.start(), m.end()):
                if text[i] in CN_DIGITS:
                    replace[i] = (i + 1, CN_DIGITS[text[i]])
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        if i in replace:
            end, value = replace[i]
            for c in value:
                chars.append(c)
                starts.append(i)
                ends.append(end)
            i = end
            continue
        ch = text[i]
        if not is_invisible(ch):
            chars.append(ch.translate(WIDTH))
            starts.append(i)
            ends.append(i + 1)
        i += 1
    return Normalized("".join(chars), tuple(starts), tuple(ends))


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional characters as simplified ("內幕消息" as "内幕消息"), one character for one, so every
    span found in the result is the same span of the original. OpenCC converts some phrases to a
    different length; then each character is converted on its own."""
    converted = _t2s().convert(text)
    if len(converted) == len(text):
        return converted
    out = []
    for ch in text:
        one = _t2s().convert(ch)
        out.append(one if len(one) == 1 else ch)
    return "".join(out)


def strip_invisible(text: str) -> str:
    """The text without invisible characters (nothing else changed)."""
    return "".join(c for c in text if not is_invisible(c))
