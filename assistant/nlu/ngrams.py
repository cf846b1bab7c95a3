"""N-gram features as the service reads them: TF-IDF blocks and linear weights held in plain arrays.

`assistant train` fits scikit-learn's TfidfVectorizer and LogisticRegression; what it saves is only
their numbers (each block's vocabulary and idf, the weights, the biases), read back here with numpy.
So a serving process never imports scikit-learn or pandas (nor SciPy beyond the sparse matrices
the BM25 library uses): those imports were about five of the twelve seconds a restart spent before
answering. One dense product per text is also quicker
than a sparse matrix for the sentence or two a turn scores.

`tests/nlu/test_ngrams.py` checks these numbers are the ones scikit-learn gives for the same texts.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import jieba
import numpy as np

T = TypeVar("T")
log = logging.getLogger(__name__)
WORDS, CHARS = "words", "chars"


def words(text: str) -> list[str]:
    """jieba's words, blanks dropped: the word block's tokens, in training and in service."""
    return [w for w in jieba.lcut(text) if w.strip()]


def char_ngrams(text: str) -> list[str]:
    """Character 1–3-grams inside each blank-separated word, the word padded with a space at each end,
    lower-cased (scikit-learn's analyzer "char_wb" with ngram_range (1, 3))."""
    out = []
    for w in text.lower().split():
        w = f" {w} "
        for n in (1, 2, 3):
            if len(w) <= n:  # a word no longer than n gives itself once, as scikit-learn counts it
                out.append(w)
                break
            out.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return out


def vectorizer(kind: str):
    """The scikit-learn vectorizer a block is fitted with (training only: imported here, not at start)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if kind == WORDS:
        return TfidfVectorizer(tokenizer=words, token_pattern=None, lowercase=False, sublinear_tf=True)
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)


@dataclass
class NgramBlock:
    """One TF-IDF block: sublinear term frequency times idf, each text's row scaled to unit length."""

    kind: str  # WORDS or CHARS
    vocabulary: dict[str, int]
    idf: np.ndarray

    @classmethod
    def from_vectorizer(cls, kind: str, fitted) -> NgramBlock:
        return cls(kind, {term: int(j) for term, j in fitted.vocabulary_.items()}, np.asarray(fitted.idf_, np.float64))

    def __len__(self) -> int:
        return len(self.idf)

    def terms(self, text: str) -> list[str]:
        return words(text) if self.kind == WORDS else char_ngrams(text)

    def scores(self, texts: list[str], weights: np.ndarray) -> np.ndarray:
        """Each text's TF-IDF row times `weights` (one row per vocabulary term): (len(texts), outputs)."""
        out = np.zeros((len(texts), weights.shape[1]))
        for i, text in enumerate(texts):
            counts: dict[int, int] = {}
            for term in self.terms(text):
                j = self.vocabulary.get(term)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if counts:
                cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
                row = (np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))) + 1.0) * self.idf[cols]
                out[i] = (row / np.sqrt(row @ row)) @ weights[cols]
        return out


def load_or_build(path: Path | None, build: Callable[[], T]) -> T:
    """What `build` makes, read from its file (named by the hash of its data) when there is one, else
    built and written whole (a temporary file renamed), so no reader sees half of it. An unreadable
    file is rebuilt, never trusted. Plain pickles of numbers and our own classes: the files under var/
    are written by `assistant train` on this host or the shared model directory, nobody else."""
    if path is not None and path.exists():
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except Exception:
            log.warning("model file %s unreadable; building it again", path)
    made = build()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(made, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    return made
