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
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
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
    # Chosen on the answers dev split and the FAQ's own paraphrases held out one at a time, against
    # the off-topic questions and the order, look-up and chat utterances of the intent training data
    # (`python -m eval faq` prints both sides at these values).
    threshold: float = 0.925
    overlap_weight: float = 0.06
    shortlist: int = 12

    @classmethod
    def build(cls, directory: Path, embed_queries: EmbedQueries, cache_dir: Path | None, embedder_name: str) -> FaqIndex:
        entries = load_entries(directory)
        wordings, owner = [], []
        for n, entry in enumerate(entries):
            for text in entry.texts:
                wordings.append(text)
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
        documents = Counter(t for text in wordings for t in set(tokenize(text)))
        idf = {t: math.log(1 + len(wordings) / c) for t, c in documents.items()}
        return cls(entries, vectors, np.asarray(owner), wordings, embed_queries, idf)

    def __len__(self) -> int:
        return len(self.entries)

    def candidates(self, question: str, k: int = 3) -> list[FaqMatch]:
        """The k best entries for the question, best first, whatever their score."""
        if not self.entries:
            return []
        query = _unit(np.asarray(self.embed_queries([question]), dtype=np.float32))[0]
        similarity = self.vectors @ query
        rows = np.argsort(-similarity)[: self.shortlist]
        words = set(tokenize(question))
        best: dict[int, FaqMatch] = {}
        for row in rows:
            dense = float(similarity[row])
            overlap = self._overlap(words, self.wordings[row])
            score = dense + self.overlap_weight * overlap
            n = int(self.owner[row])
            if n not in best or score > best[n].score:
                best[n] = FaqMatch(self.entries[n], score, dense, overlap, self.wordings[row])
        return sorted(best.values(), key=lambda m: -m.score)[:k]

    def match(self, question: str) -> FaqMatch | None:
        """The entry that answers the question, or None when none is close enough."""
        found = self.candidates(question, k=1)
        return found[0] if found and found[0].score >= self.threshold else None

    def _overlap(self, words: set[str], wording: str) -> float:
        """The weighted words the two texts share, as a share of both (an F1 of the two coverages):
        a short question inside a long paraphrase and a long question around a short one both score low."""
        if not words:
            return 0.0
        other = set(tokenize(wording))
        if not other:
            return 0.0
        weight = lambda ts: sum(self.idf.get(t, 1.0) for t in ts)  # noqa: E731
        shared = weight(words & other)
        a, b = shared / weight(words), shared / weight(other)
        return 2 * a * b / (a + b) if a + b else 0.0

    def entry(self, entry_id: str) -> FaqEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
