"""Domain correction: hear the names and terms that orders depend on.

A speech recogniser writes what it hears: 毛台 for 茅台, 召商银行 for 招商银行, 融资融欠 for
融资融券. Each run of Chinese characters in the transcript is compared, by pinyin, with the
names and aliases in the securities master list and with a general securities lexicon
(data/lexicon.txt):

- the same toneless pinyin (any reading of a polyphonic character: 长 is chang or zhang) is a
  homophone and is replaced, unless the heard words are themselves an ordinary word (没得 is
  not 美的) and the term is short;
- a term of three characters or more may also differ in one syllable that sounds alike
  (zh/z, n/l, an/ang, hou/hao: one letter apart with the same initial);
- when two securities fit equally, nothing is replaced and the mention is reported as ambiguous,
  so that the conversation reads it back.

Every replacement is returned next to the raw text, so it can be recorded and shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba
from pypinyin import Style, lazy_pinyin, pinyin

from assistant.nlu import SecurityMaster

LEXICON = Path(__file__).resolve().parent / "data" / "lexicon.txt"
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
# Function characters: a two-character window holding one is too common to bend by sound.
_FUNCTION_CHARS = set("的了是我你他她它们在有和就不也都这那个吗呢吧啊么得地着过要会能想一")
_FUZZY_SWAPS = {("n", "l"), ("l", "n"), ("f", "h"), ("h", "f"), ("r", "l"), ("l", "r")}


@dataclass(frozen=True)
class Correction:
    heard: str
    corrected: str
    kind: str  # security | term
    code: str | None = None  # the security's code when kind == "security"
    exact_sound: bool = True  # a homophone (True) or a near-homophone (False)

    def as_dict(self) -> dict:
        return {"heard": self.heard, "corrected": self.corrected, "kind": self.kind, "code": self.code,
                "exact_sound": self.exact_sound}


@dataclass(frozen=True)
class CorrectionResult:
    text: str
    corrections: list[Correction]
    ambiguous: list[str]  # heard words that sound like more than one security


_UNITS = {"股": "gu", "手": "shou"}  # the units an instruction counts in, by sound
_AFTER_QUANTITY = re.compile(r"(?<=[0-9两三四五六七八九十百千万])([\u4e00-\u9fff])")


@dataclass(frozen=True)
class _Entry:
    term: str
    syllables: tuple[str, ...]
    kind: str
    code: str | None


def load_lexicon(path: Path = LEXICON) -> list[str]:
    terms = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.append(line)
    return terms


@lru_cache(maxsize=4096)
def _readings(char: str) -> frozenset[str]:
    return frozenset(pinyin(char, style=Style.NORMAL, heteronym=True)[0])


def _split(syllable: str) -> tuple[str, str]:
    for initial in ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x",
                    "r", "z", "c", "s", "y", "w"):
        if syllable.startswith(initial):
            return initial, syllable[len(initial):]
    return "", syllable


def _near(a: str, b: str) -> bool:
    """Two syllables a listener (or a recogniser) easily confuses."""
    if a == b:
        return True
    (ia, fa), (ib, fb) = _split(a), _split(b)
    for hard, soft in _FUZZY_INITIALS:
        ia, ib = (soft if ia == hard else ia), (soft if ib == hard else ib)
    if fa == fb and (ia == ib or (ia, ib) in _FUZZY_SWAPS):
        return True
    if ia == ib:
        fa2, fb2 = fa.removesuffix("g"), fb.removesuffix("g")  # an/ang, en/eng, in/ing
        if fa2 == fb2:
            return True
        return len(fa) == len(fb) and sum(x != y for x, y in zip(fa, fb)) == 1  # hou/hao, ui/un …
    return False


@lru_cache(maxsize=1)
def _common_words() -> dict[str, int]:
    jieba.setLogLevel(60)
    jieba.dt.check_initialized()
    return jieba.dt.FREQ


class DomainCorrector:
    def __init__(self, master: SecurityMaster, lexicon: list[str] | None = None) -> None:
        entries: dict[str, _Entry] = {}
        for s in master.securities:
            for name in (s.name, *s.aliases):
                if _HAN_RUN.fullmatch(name) and len(name) >= 2:
                    entries.setdefault(name, _Entry(name, tuple(lazy_pinyin(name)), "security", s.code))
        for term in lexicon if lexicon is not None else load_lexicon():
            if _HAN_RUN.fullmatch(term) and len(term) >= 2 and term not in entries:
                entries[term] = _Entry(term, tuple(lazy_pinyin(term)), "term", None)
        self._by_length: dict[int, list[_Entry]] = {}
        for e in entries.values():
            self._by_length.setdefault(len(e.term), []).append(e)
        self._terms = set(entries)
        self._lengths = sorted(self._by_length, reverse=True)

    def correct(self, text: str) -> CorrectionResult:
        chars = list(text)
        corrections: list[Correction] = []
        ambiguous: list[str] = []
        # Right after a quantity, a character that sounds like a unit is that unit: 100骨 → 100股.
        for m in _AFTER_QUANTITY.finditer(text):
            unit = next((u for u, syllable in _UNITS.items() if syllable in _readings(m.group(1))), None)
            word = text[m.start(1) - 1: m.end(1)]  # 五谷 and 千古 are words, not quantities
            if unit is not None and m.group(1) != unit and _common_words().get(word, 0) == 0:
                chars[m.start(1)] = unit
                corrections.append(Correction(m.group(1), unit, "term"))
        for run in _HAN_RUN.finditer(text):
            self._correct_run(run.group(0), run.start(), chars, corrections, ambiguous)
        return CorrectionResult("".join(chars), corrections, ambiguous)

    def _correct_run(self, run: str, offset: int, chars: list[str], corrections, ambiguous) -> None:
        # Words already right keep their characters (中国平安 is never rewritten), but a longer
        # term may still grow around them: 开户进堵 → 开户进度 keeps 开户.
        protected = [False] * len(run)
        for n in self._lengths:
            for i in range(len(run) - n + 1):
                if run[i:i + n] in self._terms:
                    protected[i:i + n] = [True] * n
        taken = [False] * len(run)
        readings = [_readings(c) for c in run]
        for n in self._lengths:
            for i in range(len(run) - n + 1):
                window = run[i:i + n]
                if any(taken[i:i + n]) or all(protected[i:i + n]):
                    continue
                best = self._match(window, readings[i:i + n])
                if best is None:
                    continue
                score, hits = best
                hits = [e for e in hits
                        if all(not protected[i + k] or e.term[k] == window[k] for k in range(n))]
                if not hits:
                    continue
                codes = {e.code or e.term for e in hits}
                if len(codes) > 1:
                    if any(e.kind == "security" for e in hits):
                        ambiguous.append(window)
                    taken[i:i + n] = [True] * n
                    continue
                entry = hits[0]
                taken[i:i + n] = [True] * n
                chars[offset + i: offset + i + n] = list(entry.term)
                corrections.append(Correction(window, entry.term, entry.kind, entry.code, exact_sound=score == n))

    def _match(self, window: str, readings: list[frozenset[str]]) -> tuple[int, list[_Entry]] | None:
        n = len(window)
        if n <= 3 and _common_words().get(window, 0) > 0:
            return None  # an ordinary word: 没得 is not 美的, 驾驶 is not 价是
        best_score, hits = -1, []
        for e in self._by_length.get(n, ()):
            exact, near = 0, 0
            for syllable, options in zip(e.syllables, readings):
                if syllable in options:
                    exact += 1
                elif any(_near(syllable, o) for o in options):
                    near += 1
                else:
                    break
            else:
                if near > (1 if n <= 4 else 2):
                    continue
                if near and n >= 3 and sum(a == b for a, b in zip(window, e.term)) == 0:
                    continue  # a near sound with no character in common is a guess too far
                if near and n == 2 and (e.kind == "security" or _FUNCTION_CHARS & set(window)):
                    continue  # 买的 is not 美的; a two-character name must sound the same
                if exact > best_score:
                    best_score, hits = exact, [e]
                elif exact == best_score:
                    hits.append(e)
        return (best_score, hits) if hits else None
