"""The securities master list (nlu/data/securities.csv) and finding securities in customer text.

A mention is found by six-digit code, by name or alias, or by a homophone of a name
(毛台 → 茅台, 五梁液 → 五粮液): customers type with pinyin input methods and speech
recognisers write what they hear, so the pinyin is compared when the characters are not.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import jieba
from pypinyin import lazy_pinyin

from assistant.domain import SecurityRef

DATA_DIR = Path(__file__).resolve().parent / "data"
MASTER_CSV = DATA_DIR / "securities.csv"

BOARD_NAMES = {"main": "主板", "chinext": "创业板", "star": "科创板", "bse": "北交所", "fund": "基金"}

_CODE = re.compile(r"(?<![\d.])(\d{6})(?![\d.])")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Security:
    code: str
    exchange: str  # SH | SZ | BJ
    name: str
    aliases: tuple[str, ...]
    board: str  # main | chinext | star | bse | fund
    kind: str  # stock | etf
    risk_level: str  # R1..R5
    ref_price: Decimal

    @property
    def is_st(self) -> bool:
        return "ST" in self.name.upper()

    @property
    def board_name(self) -> str:
        return BOARD_NAMES.get(self.board, self.board)

    @property
    def label(self) -> str:
        return f"{self.name}（{self.code}）"

    def ref(self, mention: str, match: str) -> SecurityRef:
        return SecurityRef(code=self.code, name=self.name, exchange=self.exchange, board=self.board,
                           mention=mention, match=match)


def _pinyin_key(text: str) -> str:
    return " ".join(lazy_pinyin(text))


@dataclass
class SecurityMaster:
    securities: list[Security]
    by_code: dict[str, Security] = field(init=False)
    _names: dict[str, Security] = field(init=False)  # lower-cased name or alias → security
    _name_re: re.Pattern = field(init=False)
    _pinyin: dict[tuple[int, str], list[tuple[str, Security]]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_code = {s.code: s for s in self.securities}
        self._names = {}
        for s in self.securities:
            for term in (s.name, *s.aliases):
                self._names[term.lower()] = s
        # Longest first, so 中国平安 wins over 平安 and 沪深300ETF over 300.
        terms = sorted(self._names, key=len, reverse=True)
        self._name_re = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
        self._pinyin = {}
        for term, s in self._names.items():
            if _HAN_RUN.fullmatch(term):
                self._pinyin.setdefault((len(term), _pinyin_key(term)), []).append((term, s))

    @classmethod
    def load(cls, path: Path = MASTER_CSV) -> "SecurityMaster":
        rows = []
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                rows.append(
                    Security(
                        code=row["code"].strip(),
                        exchange=row["exchange"].strip(),
                        name=row["name"].strip(),
                        aliases=tuple(a.strip() for a in row["aliases"].split("|") if a.strip()),
                        board=row["board"].strip(),
                        kind=row["kind"].strip(),
                        risk_level=row["risk_level"].strip(),
                        ref_price=Decimal(row["ref_price"].strip()),
                    )
                )
        return cls(rows)

    def get(self, code: str) -> Security | None:
        return self.by_code.get(code)

    def find(self, text: str) -> list[SecurityRef]:
        """Every security the text names, in order of appearance, each once."""
        found: list[tuple[int, SecurityRef]] = []
        taken: list[tuple[int, int]] = []

        def free(start: int, end: int) -> bool:
            return all(end <= a or start >= b for a, b in taken)

        for m in self._name_re.finditer(text):
            term = m.group(0)
            # A Latin alias must stand alone: "BYD" yes, "bydx" no.
            if _LATIN.search(term) and not _is_word_boundary(text, m.start(), m.end()):
                continue
            s = self._names[term.lower()]
            match = "name" if term.lower() == s.name.lower() else "alias"
            found.append((m.start(), s.ref(term, match)))
            taken.append(m.span())
            if match == "alias":
                # 平安 is 中国平安's alias and the start of 平安银行: both are candidates, the customer chooses.
                for other in self.securities:
                    if other.code != s.code and other.name.startswith(term):
                        found.append((m.start(), other.ref(term, "partial")))
        for m in _CODE.finditer(text):
            s = self.by_code.get(m.group(1))
            if s and free(*m.span()):
                found.append((m.start(), s.ref(m.group(1), "code")))
                taken.append(m.span())
        for run in _HAN_RUN.finditer(text):
            self._find_homophones(text, run, found, taken, free)
        seen: set[str] = set()
        result = []
        for _, ref in sorted(found, key=lambda x: x[0]):
            if ref.code not in seen:
                seen.add(ref.code)
                result.append(ref)
        return result

    def partial(self, text: str, limit: int = 4) -> list[Security]:
        """Securities whose name starts with a word of the text ("招商" → 招商银行, 招商证券), for the
        question "which one?" when nothing was named exactly. Never acted on without the customer's choice."""
        found: list[Security] = []
        for run in _HAN_RUN.finditer(text):
            word = run.group(0)
            for n in range(min(4, len(word)), 1, -1):
                for i in range(len(word) - n + 1):
                    window = word[i:i + n]
                    hits = [s for s in self.securities if s.name.startswith(window)]
                    if hits and len(hits) <= limit:
                        found += [s for s in hits if s not in found]
                if found:
                    return found[:limit]
        return found[:limit]

    def _find_homophones(self, text, run, found, taken, free) -> None:
        span_text = run.group(0)
        syllables = lazy_pinyin(span_text)  # one syllable per Chinese character
        lengths = sorted({n for n, _ in self._pinyin}, reverse=True)
        for n in lengths:
            for i in range(len(span_text) - n + 1):
                start = run.start() + i
                if not free(start, start + n):
                    continue
                hits = self._pinyin.get((n, " ".join(syllables[i : i + n])))
                if not hits or len({s.code for _, s in hits}) != 1:
                    continue  # no match, or two securities sound alike: leave it to the customer
                window = span_text[i : i + n]
                if _is_common_word(window):
                    continue  # 没得 sounds like 美的 but is an ordinary word
                if _unit_word(text, start, window):
                    continue  # "1天期" is a tenor, not 天齐锂业; "10万手" is a size
                _, s = hits[0]
                found.append((start, s.ref(window, "pinyin")))
                taken.append((start, start + n))


_UNIT_CHARS = set("天期万手股元块份张年月日号周")
_NUMERAL = re.compile(r"[\d零〇一二两三四五六七八九十百千万]$")


def _unit_word(text: str, start: int, window: str) -> bool:
    """A sound-alike window that opens with a unit or tenor word right after a number is that unit."""
    return window[0] in _UNIT_CHARS and bool(_NUMERAL.search(text[:start]))


def _is_word_boundary(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


@lru_cache(maxsize=1)
def _jieba_words() -> dict[str, int]:
    jieba.setLogLevel(60)
    jieba.dt.check_initialized()
    return jieba.dt.FREQ


def _is_common_word(window: str) -> bool:
    return _jieba_words().get(window, 0) > 0


@lru_cache(maxsize=1)
def default_master() -> SecurityMaster:
    return SecurityMaster.load()
