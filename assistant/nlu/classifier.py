"""Intent classifier that needs no LLM: rules for the closed forms, a linear model for the rest.

Features: character 1–3-grams and jieba words (with securities and numbers replaced by
placeholders, so "茅台多少钱" teaches "五粮液多少钱"), plus the multilingual-e5-small sentence
embedding for paraphrases the n-grams have not seen. One multinomial logistic regression over
all of them. Its probabilities are calibrated by temperature scaling fitted on out-of-fold
predictions, so "0.8" means right about four times in five on utterances it was not trained on.

The utterances are in training/intents/ (outside the package). `assistant train` builds the
model into var/nlu/, keyed by the hash of the training data and of this file's feature version;
the service only loads it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import jieba
import joblib
import numpy as np
import yaml
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from assistant.domain import Intent
from assistant.nlu.normalize import normalize_text
from assistant.nlu.securities import DATA_DIR, SecurityMaster
from assistant.nlu.taxonomy import LABELS
from assistant.training import TRAINING_DIR

T = TypeVar("T")

log = logging.getLogger(__name__)

TRAINING_YML = TRAINING_DIR / "intents" / "utterances.yml"  # listed in training/manifest.jsonl
FEATURE_VERSION = "5"  # bump when features or model change, to invalidate cached models
EMBEDDING_WEIGHT = 1.5

_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_PUNCT = re.compile(r"[\s,.!?;:~、，。！？；：…～\"'“”‘’()（）【】\[\]]+")

# Whole-message forms where a rule is surer than a model: the bare yes/no of a confirmation,
# asking for a person. Compared after normalisation, lower-case, punctuation removed.
RULES: dict[str, str] = {}
for _label, _forms in {
    "confirm": "确认 确定 确认下单 确认撤单 是 是的 是滴 对 对的 对对 好 好的 好滴 行 可以 嗯 嗯嗯 ok okay yes y 没问题 下单 下单吧 同意 确认无误 就这样",
    "deny": "不 不要 不用 不用了 不是 否 算了 算了吧 取消 取消吧 不买了 不卖了 不下了 先不了 no n nope 再想想 等等 不对",
    "human_agent": "转人工 人工 人工客服 真人 找人工 转人工客服 人工服务 我要人工 客服",
    "greeting": "你好 您好 在吗 在不在 hi hello 早上好 下午好 晚上好 哈喽 嗨",
    "goodbye": "再见 拜拜 bye 谢谢再见 没事了 好的谢谢 谢谢 多谢 感谢 88 886 拜",
}.items():
    for _form in _forms.split():
        RULES[_form] = _label


def rule_key(text: str) -> str:
    return _PUNCT.sub("", normalize_text(text).lower())


@dataclass
class TrainedModel:
    words: TfidfVectorizer
    chars: TfidfVectorizer
    model: LogisticRegression
    temperature: float
    labels: list[str]
    data_hash: str
    oof_accuracy: float | None = None  # 5-fold out-of-fold accuracy on the training utterances

    def weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The model's weights split by feature block (words, chars, embedding), transposed once:
        scoring is then three products, without stacking the blocks or sklearn's input checks."""
        cached = self.__dict__.get("_weights")
        if cached is None:
            n_words, n_chars = len(self.words.vocabulary_), len(self.chars.vocabulary_)
            coef = self.model.coef_
            cached = self.__dict__["_weights"] = (
                np.ascontiguousarray(coef[:, :n_words].T), np.ascontiguousarray(coef[:, n_words:n_words + n_chars].T),
                np.ascontiguousarray(coef[:, n_words + n_chars:].T) * EMBEDDING_WEIGHT, self.model.intercept_)
        return cached


_ANALYZERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tfidf_rows(vectorizer: TfidfVectorizer, docs: list[str]) -> sparse.csr_matrix:
    """What `vectorizer.transform(docs)` gives (same analyzer, sublinear tf, idf, l2 norm), without
    sklearn's per-call validation, which costs more than the arithmetic for a sentence or two."""
    analyze = _ANALYZERS.get(vectorizer)
    if analyze is None:
        analyze = _ANALYZERS[vectorizer] = vectorizer.build_analyzer()
    vocabulary, idf = vectorizer.vocabulary_, vectorizer.idf_
    indptr, indices, values = [0], [], []
    for doc in docs:
        counts: dict[int, int] = {}
        for term in analyze(doc):
            j = vocabulary.get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if counts:
            cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            row = (np.log(tf) + 1.0 if vectorizer.sublinear_tf else tf) * idf[cols]
            row /= np.sqrt(row @ row)
            indices.append(cols)
            values.append(row)
        indptr.append(indptr[-1] + len(counts))
    return sparse.csr_matrix(
        (np.concatenate(values) if values else np.zeros(0), np.concatenate(indices) if indices else np.zeros(0, np.int64),
         indptr), shape=(len(docs), len(idf)))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _word_tokens(text: str) -> list[str]:
    return [w for w in jieba.lcut(text) if w.strip()]


def load_or_train(path: Path | None, train: Callable[[], T]) -> T:
    """A model from its cache file (named by the hash of its data), or trained and cached atomically.

    A half-written or incompatible cache file is rebuilt, never trusted."""
    if path is not None and path.exists():
        try:
            return joblib.load(path)
        except Exception:
            log.warning("model cache %s unreadable; retraining", path)
    model = train()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        joblib.dump(model, tmp)
        tmp.replace(path)
    return model


class IntentClassifier:
    def __init__(self, master: SecurityMaster, embed, *, cache_dir: Path | None = None,
                 training_path: Path = TRAINING_YML) -> None:
        """`embed` maps a list of texts to an (n, d) array of unit vectors."""
        self.master = master
        self.embed = embed
        self.cache_dir = cache_dir
        self.training_path = training_path
        self._trained: TrainedModel | None = None
        self._lock = threading.Lock()

    # --- features ---

    def surface(self, text: str) -> str:
        """The text the n-gram features see: securities and numbers as placeholders."""
        text = normalize_text(text).lower()
        for ref in self.master.find(text):
            text = text.replace(ref.mention.lower(), "§")
        return _DIGITS.sub("#", text)

    def _features(self, m: TrainedModel, texts: list[str], vectors: np.ndarray):
        surfaces = [self.surface(t) for t in texts]
        return sparse.hstack([
            m.words.transform(surfaces),
            m.chars.transform(surfaces),
            sparse.csr_matrix(vectors * EMBEDDING_WEIGHT),
        ]).tocsr()

    # --- training ---

    @staticmethod
    def load_training(path: Path = TRAINING_YML) -> tuple[list[str], list[str]]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        unknown = set(data) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown intent labels in {path.name}: {sorted(unknown)}")
        texts, labels = [], []
        for label, utterances in data.items():
            for u in utterances:
                texts.append(str(u))
                labels.append(label)
        return texts, labels

    def _data_hash(self) -> str:
        h = hashlib.sha256(FEATURE_VERSION.encode())
        h.update(self.training_path.read_bytes())
        h.update((DATA_DIR / "securities.csv").read_bytes())
        return h.hexdigest()[:16]

    def _fit(self, texts: list[str], labels: list[str], vectors: np.ndarray, data_hash: str) -> TrainedModel:
        surfaces = [self.surface(t) for t in texts]
        words = TfidfVectorizer(tokenizer=_word_tokens, token_pattern=None, lowercase=False, sublinear_tf=True)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
        words.fit(surfaces)
        chars.fit(surfaces)
        # Balanced: kb_question holds four times the utterances of any other intent, and without
        # weights that prior pulled gibberish (阿斯顿发生的发) over the confidence floor as kb_question.
        m = TrainedModel(words, chars, LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000), 1.0, [], data_hash)
        x = self._features(m, texts, vectors)
        m.model.fit(x, labels)
        m.labels = list(m.model.classes_)
        return m

    def train(self, data_hash: str) -> TrainedModel:
        texts, labels = self.load_training(self.training_path)
        vectors = self.embed([normalize_text(t) for t in texts])
        # Temperature from out-of-fold logits: the model is over-confident on its own training data.
        y = np.array(labels)
        logits, truth = [], []
        for train_idx, test_idx in StratifiedKFold(5, shuffle=True, random_state=7).split(texts, y):
            fold = self._fit([texts[i] for i in train_idx], list(y[train_idx]), vectors[train_idx], data_hash)
            x = self._features(fold, [texts[i] for i in test_idx], vectors[test_idx])
            logits.append(fold.model.decision_function(x))
            truth.extend(fold.labels.index(label) for label in y[test_idx])
        oof, truth_idx = np.vstack(logits), np.array(truth)

        def nll(t: float) -> float:
            return float(-_log_softmax(oof / t)[np.arange(len(truth_idx)), truth_idx].mean())

        temperature = float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)
        model = self._fit(texts, labels, vectors, data_hash)
        model.temperature = temperature
        # The quick check `assistant train` prints: accuracy on utterances each fold did not see.
        model.oof_accuracy = float((oof.argmax(axis=1) == truth_idx).mean())
        log.info("intent model trained on %d utterances, temperature %.2f", len(texts), temperature)
        return model

    @property
    def ready(self) -> bool:
        return self._trained is not None

    def cache_path(self) -> Path | None:
        """Where the model built from the current data lies (or would lie)."""
        return self.cache_dir / f"intent-model-{self._data_hash()}.joblib" if self.cache_dir else None

    def ensure_trained(self) -> TrainedModel:
        """The built model, loaded once; trained and saved first when it is not built."""
        if self._trained is not None:
            return self._trained
        with self._lock:
            if self._trained is None:
                data_hash = self._data_hash()
                path = self.cache_dir / f"intent-model-{data_hash}.joblib" if self.cache_dir else None
                self._trained = load_or_train(path, lambda: self.train(data_hash))
            return self._trained

    # --- inference ---

    def predict_proba(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        m = self.ensure_trained()
        vectors = self.embed([normalize_text(t) for t in texts])
        surfaces = [self.surface(t) for t in texts]
        w_words, w_chars, w_embed, bias = m.weights()
        # The same decision values as m.model.decision_function(self._features(...)).
        z = (tfidf_rows(m.words, surfaces) @ w_words + tfidf_rows(m.chars, surfaces) @ w_chars
             + vectors @ w_embed + bias) / m.temperature
        return m.labels, np.exp(_log_softmax(z))

    def classify(self, text: str) -> Intent:
        rule = RULES.get(rule_key(text))
        if rule:
            return Intent(label=rule, confidence=1.0, source="rule")
        labels, probs = self.predict_proba([text])
        order = np.argsort(-probs[0])
        best = order[0]
        return Intent(
            label=labels[best],
            confidence=round(float(probs[0][best]), 4),
            alternatives=[(labels[i], round(float(probs[0][i]), 4)) for i in order[1:3]],
            source="model",
        )
