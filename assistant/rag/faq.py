"""The service FAQ: standard questions (标准问) with their paraphrases (相似问) and an answer written
by the service desk, matched before retrieval.

Most of a broker's service traffic is the same few hundred questions in endless wordings. A curated
answer to the right standard question is complete and checked; an answer stitched from retrieved
passages is neither. So a question is matched against every standard question and paraphrase
first (e5 sentence vectors, then a word-overlap check on the closest few), and only a question the
FAQ does not cover goes on to retrieval and composition.

The entries live in knowledge_base/faq-standard/*.yaml (format in knowledge_base/README.md). Their
vectors are computed once per content and kept under var/ (keyed by the hash of the texts and the
embedder), like the trained models.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from assistant.domain import Citation
from assistant.rag.text import tokenize

log = logging.getLogger(__name__)
_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: the same result, about six times quicker

FAQ_DIR = "faq-standard"
EmbedQueries = Callable[[list[str]], np.ndarray]
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class FaqEntry:
    id: str
    topic: str
    question: str
    paraphrases: tuple[str, ...]
    answer: str
    citations: tuple[str, ...]
    disclosure: bool = False
    path: str = ""

    @property
    def texts(self) -> tuple[str, ...]:
        return (self.question, *self.paraphrases)

    def cited(self) -> list[Citation]:
        """The answer's sources as citations; the quote is the answer itself, which names them."""
        return [Citation(index=i, chunk_id=f"faq:{self.id}", title=title.strip("《》"), section=self.question,
                         doc_type="faq", source=title, path=self.path, quote=self.answer)
                for i, title in enumerate(self.citations or ("明川证券客户服务常见问题",), start=1)]


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float  # what the threshold reads: dense similarity lifted by word overlap
    dense: float  # cosine similarity of the e5 query vectors, best over the entry's wordings
    overlap: float  # share of the question's weighted words found in the best wording (0..1)
    wording: str  # the standard question or paraphrase that matched


def load_entries(directory: Path) -> list[FaqEntry]:
    entries: list[FaqEntry] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "manifest.yaml":
            continue
        rows = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML) or []
        for row in rows:
            if row["id"] in seen:
                raise ValueError(f"{path.name}: the FAQ id {row['id']} is used twice")
            seen.add(row["id"])
            entries.append(FaqEntry(
                id=row["id"], topic=row.get("topic", path.stem), question=_clean(row["question"]),
                paraphrases=tuple(_clean(p) for p in row.get("paraphrases") or ()),
                answer=str(row["answer"]).strip(), citations=tuple(row.get("citations") or ()),
                disclosure=bool(row.get("disclosure")), path=f"{directory.name}/{path.name}#{row['id']}"))
    return entries


def _clean(text: str) -> str:
    return _SPACES.sub(" ", str(text)).strip()


@dataclass
class FaqIndex:
    """Every wording of every entry as a row of one matrix; a question's best row names its entry."""

    entries: list[FaqEntry]
    vectors: np.ndarray  # one unit row per wording
    owner: np.ndarray  # the entry index of each row
    wordings: list[str]
    embed_queries: EmbedQueries
    idf: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, frozenset[str]] = field(default_factory=dict)  # each wording's words, cut once at build
    # Chosen on the answers dev split and the FAQ's own paraphrases held out one at a time, against
    # the off-topic questions and the order, look-up and chat utterances of the intent training data
    # (`python -m eval faq` prints both sides at these values).
    threshold: float = 0.925
    overlap_weight: float = 0.06
    answer_weight: float = 0.06
    shortlist: int = 12
    _answer_words: list[set[str]] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, directory: Path, embed_queries: EmbedQueries, cache_dir: Path | None, embedder_name: str) -> FaqIndex:
        entries = load_entries(directory)
        wordings, owner = [], []
        for n, entry in enumerate(entries):
            for text in entry.texts:
                wordings.append(expand_shorthand(text))  # read the way a question will be read
                owner.append(n)
        digest = hashlib.sha256("\n".join([embedder_name, *wordings]).encode("utf-8")).hexdigest()[:16]
        cached = cache_dir / f"faq-{digest}.npy" if cache_dir is not None else None
        if cached is not None and cached.exists():
            vectors = np.load(cached)
        else:
            vectors = _unit(np.asarray(embed_queries(wordings), dtype=np.float32))
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(".tmp.npy")
                np.save(tmp, vectors)
                tmp.replace(cached)  # a reader never sees half a file
        tokens = {text: frozenset(tokenize(text)) for text in wordings}
        documents = Counter(t for text in wordings for t in tokens[text])
        idf = {t: math.log(1 + len(wordings) / c) for t, c in documents.items()}
        return cls(entries, vectors, np.asarray(owner), wordings, embed_queries, idf, tokens)

    def __len__(self) -> int:
        return len(self.entries)

    def candidates(self, question: str, k: int = 3) -> list[FaqMatch]:
        """The k best entries for the question, best first, whatever their score."""
        if not self.entries:
            return []
        question = expand_shorthand(question)
        query = _unit(np.asarray(self.embed_queries([question]), dtype=np.float32))[0]
        similarity = self.vectors @ query
        rows = np.argsort(-similarity)[: self.shortlist]
        words = set(tokenize(question))
        best: dict[int, FaqMatch] = {}
        for row in rows:
            dense = float(similarity[row])
            overlap = self._overlap(words, self.wordings[row])
            n = int(self.owner[row])
            # The answer should speak of what was asked: a paraphrase close in form but about another
            # board or product ("科创版一天最多涨多少" near a transfer limit) loses to one whose answer does.
            covered = self._covered(words, n)
            score = dense + self.overlap_weight * overlap + self.answer_weight * covered
            if n not in best or score > best[n].score:
                best[n] = FaqMatch(self.entries[n], score, dense, overlap, self.wordings[row])
        return sorted(best.values(), key=lambda m: -m.score)[:k]

    def _covered(self, words: set[str], n: int) -> float:
        """The share of the question's weighted words the entry's answer and question contain."""
        if not words:
            return 0.0
        if self._answer_words is None:
            self._answer_words = [set(tokenize(e.question + " " + e.answer)) for e in self.entries]
        weight = lambda ts: sum(self.idf.get(t, 1.0) for t in ts)  # noqa: E731
        return weight(words & self._answer_words[n]) / weight(words)

    def match(self, question: str) -> FaqMatch | None:
        """The entry that answers the question, or None when none is close enough."""
        if len(re.sub(r"\W", "", question)) < 4:
            return None  # "好的吧", "嗯": too little to be a question the FAQ answers
        found = self.candidates(question, k=1)
        return found[0] if found and found[0].score >= self.threshold else None

    def _overlap(self, words: set[str], wording: str) -> float:
        """The weighted words the two texts share, as a share of both (an F1 of the two coverages):
        a short question inside a long paraphrase and a long question around a short one both score low."""
        if not words:
            return 0.0
        other = self.tokens.get(wording)
        if other is None:
            other = self.tokens[wording] = frozenset(tokenize(wording))
        if not other:
            return 0.0
        weight = lambda ts: sum(self.idf.get(t, 1.0) for t in ts)  # noqa: E731
        shared = weight(words & other)
        a, b = shared / weight(words), shared / weight(other)
        return 2 * a * b / (a + b) if a + b else 0.0

    def entry(self, entry_id: str) -> FaqEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)


# What customers type for the words the standard questions use: initials (kcb, nhg), pinyin words
# (kaihu tiaojian) and common slips (科创版). Expanded before matching, longest first; the e5 model
# reads Chinese far better than initials.
SHORTHAND = {
    "kcb": "科创板", "cyb": "创业板", "bjs": "北交所", "ggt": "港股通", "nhg": "逆回购", "kzz": "可转债",
    "lr": "两融", "rzrq": "融资融券", "hls": "红利税", "grylj": "个人养老金", "ylj": "养老金", "zdf": "涨跌幅",
    "yhs": "印花税", "ghf": "过户费", "etf": "ETF", "st": "ST", "xsb": "新三板", "dxjy": "大宗交易",
    "kaihu": "开户", "xiaohu": "销户", "kaitong": "开通", "tiaojian": "条件", "menkan": "门槛", "zenme": "怎么",
    "duoshao": "多少", "zuidi": "最低", "zuishao": "最少", "qian": "钱", "shouxufei": "手续费", "yongjin": "佣金",
    "shuifei": "税费", "shijian": "时间", "jidian": "几点", "kaipan": "开盘", "shoupan": "收盘", "daxin": "打新",
    "zhongqian": "中签", "shengou": "申购", "shuhui": "赎回", "jijin": "基金", "gupiao": "股票", "mai": "买",
    "kai": "开", "fengxian": "风险", "mima": "密码", "zhuanzhang": "转账", "lixi": "利息", "shouyi": "收益",
    "yinhuashui": "印花税", "guohufei": "过户费", "nihuigou": "逆回购", "kechuangban": "科创板",
    "chuangyeban": "创业板", "beijiaosuo": "北交所", "ganggutong": "港股通", "kezhuanzhai": "可转债",
    "rongzirongquan": "融资融券", "hongli": "红利", "fenhong": "分红", "zhuantuoguan": "转托管",
    "yanglaojin": "养老金",
    "科创版": "科创板", "创业版": "创业板", "北交易所": "北交所", "逆回够": "逆回购",
}
_SHORTHAND = re.compile("|".join(sorted((re.escape(k) for k in SHORTHAND), key=len, reverse=True)), re.IGNORECASE)
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def expand_shorthand(text: str) -> str:
    """"kcb zenme kai" → "科创板怎么开"; Latin words that are not shorthand (ETF, ST, T+1) stay."""
    def whole(m: re.Match) -> str:
        word = m.group(0)
        if not word.isascii():
            return SHORTHAND[word]
        start, end = m.start(), m.end()
        # an ASCII key only as a whole Latin word ("st" in "first" is not ST)
        if (start and text[start - 1].isascii() and text[start - 1].isalpha()) or \
                (end < len(text) and text[end].isascii() and text[end].isalpha()):
            return word
        return SHORTHAND.get(word.lower(), word)

    expanded = _SHORTHAND.sub(whole, text)
    return re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", expanded)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
