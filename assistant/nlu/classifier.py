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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from assistant.domain import Intent
from assistant.nlu.ngrams import CHARS, WORDS, NgramBlock, load_or_build, vectorizer
from assistant.nlu.normalize import normalize_text
from assistant.nlu.securities import DATA_DIR, SecurityMaster
from assistant.nlu.taxonomy import LABELS
from assistant.training import TRAINING_DIR

log = logging.getLogger(__name__)
_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: the same result, about six times quicker

TRAINING_YML = TRAINING_DIR / "intents" / "utterances.yml"  # listed in training/manifest.jsonl
FEATURE_VERSION = "6"  # bump when features or model change, to invalidate cached models (6: served as arrays)
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
    """The built model as served: two n-gram blocks and the embedding, one weight matrix each
    (terms × labels), no scikit-learn object (see ngrams.py)."""

    words: NgramBlock
    chars: NgramBlock
    w_words: np.ndarray
    w_chars: np.ndarray
    w_embed: np.ndarray  # EMBEDDING_WEIGHT already applied
    bias: np.ndarray
    temperature: float
    labels: list[str]
    data_hash: str
    oof_accuracy: float | None = None  # 5-fold out-of-fold accuracy on the training utterances


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


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

    @staticmethod
    def _features(words_v, chars_v, surfaces: list[str], vectors: np.ndarray):
        """Training only: the feature matrix scikit-learn fits on."""
        from scipy import sparse

        return sparse.hstack([words_v.transform(surfaces), chars_v.transform(surfaces),
                              sparse.csr_matrix(vectors * EMBEDDING_WEIGHT)]).tocsr()

    # --- training ---

    @staticmethod
    def load_training(path: Path = TRAINING_YML) -> tuple[list[str], list[str]]:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML)
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

    def _fit(self, texts: list[str], labels: list[str], vectors: np.ndarray):
        """The vectorizers and the logistic regression fitted on these utterances (scikit-learn objects)."""
        from sklearn.linear_model import LogisticRegression

        surfaces = [self.surface(t) for t in texts]
        words_v, chars_v = vectorizer(WORDS).fit(surfaces), vectorizer(CHARS).fit(surfaces)
        # Balanced: kb_question holds four times the utterances of any other intent, and without
        # weights that prior pulled gibberish (阿斯顿发生的发) over the confidence floor as kb_question.
        model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)
        model.fit(self._features(words_v, chars_v, surfaces, vectors), labels)
        return words_v, chars_v, model

    def train(self, data_hash: str) -> TrainedModel:
        from scipy.optimize import minimize_scalar
        from sklearn.model_selection import StratifiedKFold

        texts, labels = self.load_training(self.training_path)
        vectors = self.embed([normalize_text(t) for t in texts])
        # Temperature from out-of-fold logits: the model is over-confident on its own training data.
        y = np.array(labels)
        logits, truth = [], []
        for train_idx, test_idx in StratifiedKFold(5, shuffle=True, random_state=7).split(texts, y):
            words_v, chars_v, fold = self._fit([texts[i] for i in train_idx], list(y[train_idx]), vectors[train_idx])
            surfaces = [self.surface(texts[i]) for i in test_idx]
            logits.append(fold.decision_function(self._features(words_v, chars_v, surfaces, vectors[test_idx])))
            truth.extend(list(fold.classes_).index(label) for label in y[test_idx])
        oof, truth_idx = np.vstack(logits), np.array(truth)

        def nll(t: float) -> float:
            return float(-_log_softmax(oof / t)[np.arange(len(truth_idx)), truth_idx].mean())

        temperature = float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)
        words_v, chars_v, model = self._fit(texts, labels, vectors)
        n_words, n_chars = len(words_v.vocabulary_), len(chars_v.vocabulary_)
        coef = model.coef_
        log.info("intent model trained on %d utterances, temperature %.2f", len(texts), temperature)
        return TrainedModel(
            NgramBlock.from_vectorizer(WORDS, words_v), NgramBlock.from_vectorizer(CHARS, chars_v),
            np.ascontiguousarray(coef[:, :n_words].T), np.ascontiguousarray(coef[:, n_words:n_words + n_chars].T),
            np.ascontiguousarray(coef[:, n_words + n_chars:].T) * EMBEDDING_WEIGHT, np.asarray(model.intercept_),
            temperature, list(model.classes_), data_hash,
            # The quick check `assistant train` prints: accuracy on utterances each fold did not see.
            oof_accuracy=float((oof.argmax(axis=1) == truth_idx).mean()))

    @property
    def ready(self) -> bool:
        return self._trained is not None

    def cache_path(self) -> Path | None:
        """Where the model built from the current data lies (or would lie)."""
        return self.cache_dir / f"intent-model-{self._data_hash()}.pkl" if self.cache_dir else None

    def ensure_trained(self) -> TrainedModel:
        """The built model, loaded once; trained and saved first when it is not built."""
        if self._trained is not None:
            return self._trained
        with self._lock:
            if self._trained is None:
                data_hash = self._data_hash()
                path = self.cache_dir / f"intent-model-{data_hash}.pkl" if self.cache_dir else None
                self._trained = load_or_build(path, lambda: self.train(data_hash))
            return self._trained

    # --- inference ---

    def predict_proba(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        m = self.ensure_trained()
        vectors = self.embed([normalize_text(t) for t in texts])
        surfaces = [self.surface(t) for t in texts]
        z = (m.words.scores(surfaces, m.w_words) + m.chars.scores(surfaces, m.w_chars)
             + vectors @ m.w_embed + m.bias) / m.temperature
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
