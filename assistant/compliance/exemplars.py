"""Nearest-exemplar votes in e5 sentence space, beside the n-gram models.

The n-gram logistic regressions (classifier.py) read words and character n-grams; a violation
said in words no training text used ("收益曲线像一条直线") or a harmless text that shares a
violation's words ("这只ETF跟踪中证500指数") can fool them. Each training text is also kept as an
e5 vector (the bundled multilingual-e5-small, as a query: short texts compared with short texts),
and a sentence to judge asks its k nearest training texts: each votes for the rules its text
breaks, weighted by how close it is (a softmax over the cosine similarities). The vote is mixed
into the n-gram probability (classifier.RuleClassifier); no rule can be found by the vote alone
unless its weight says so.

The vectors are built once by `assistant train`, keyed by the hash of the same data as the
n-gram model, and kept beside it under var/compliance/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

EmbedFn = Callable[[list[str]], np.ndarray]
K = 10  # neighbours that vote
TEMPERATURE = 0.02  # of the softmax over cosine similarities: e5's similarities lie close together (0.8-0.95)


@dataclass
class ExemplarIndex:
    vectors: np.ndarray  # (n, d) unit vectors, float16
    labels: np.ndarray  # (n, rules) 0/1
    rules: tuple[str, ...]
    data_hash: str = ""

    @classmethod
    def build(cls, embed: EmbedFn, texts: list[str], labels: list[set[str]], rules: tuple[str, ...],
              data_hash: str = "") -> ExemplarIndex:
        # One vector per distinct text; a text labelled differently in two places keeps every label.
        merged: dict[str, set[str]] = {}
        for text, lab in zip(texts, labels):
            merged.setdefault(text, set()).update(lab)
        unique = list(merged)
        vectors = embed(unique) if unique else np.zeros((0, 384), dtype=np.float32)
        matrix = np.array([[r in merged[t] for r in rules] for t in unique], dtype=np.uint8).reshape(len(unique), len(rules))
        return cls(np.asarray(vectors, dtype=np.float16), matrix, rules, data_hash)

    def votes(self, queries: np.ndarray, k: int = K, temperature: float = TEMPERATURE) -> np.ndarray:
        """(m, rules): for each query vector the similarity-weighted share of its k nearest
        training texts that break each rule."""
        if len(self.vectors) == 0 or len(queries) == 0:
            return np.zeros((len(queries), len(self.rules)))
        sims = np.asarray(queries, dtype=np.float32) @ self.vectors.T.astype(np.float32)
        k = min(k, sims.shape[1])
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(sims, idx, axis=1)
        weights = np.exp((top - top.max(axis=1, keepdims=True)) / temperature)
        weights /= weights.sum(axis=1, keepdims=True)
        return np.einsum("mk,mkr->mr", weights, self.labels[idx].astype(np.float32))
