"""Learned checks beside the patterns, for what is said without the telltale words.

"这个产品收益是有底的" promises a return, "如果是我就换到券商板块" is advice, "今晚24点截止" is
pressure; "我那个朋友在公司财务部，说下个月有大动作" fishes for inside information. No keyword
list covers every such phrasing. Each check is one logistic regression per rule (one-vs-rest)
over jieba words and character 1–3-grams:

- outgoing messages: trained on training/output_guard/ (outgoing texts written for training,
  about half compliant, most of those hard negatives sharing the vocabulary of violations; in
  marketing_and_chat_sentences and service_reply_sentences a violating text of several
  sentences is stored as its sentences, each with its own label, so the greeting before a tip
  is not learned as advice) plus our own vetted content (knowledge-base sentences, fixed reply
  texts) as compliant examples;
- customer messages: trained on training/input_guard/ plus the intent training utterances
  (advice requests positive, every other intent negative), masked as the guard masks them.

Each sentence is scored on its own (and a short text as a whole), so a finding names the
sentence. No sentence embedding by default: every message passes these checks, and n-grams score
one in about a millisecond where e5 would add tens. With `ASSISTANT_GUARD_EXEMPLAR_WEIGHT` above 0
the nearest training texts in e5 space vote too (exemplars.py), for the sentences the n-grams are
unsure of; on the dev splits that changed a few texts either way, so it is off. Models train in seconds; `assistant train` builds them
into var/compliance/, keyed by the hash of their data. The patterns stay the first line: they give
exact spans, understand negation, and need no model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pypinyin import lazy_pinyin

from assistant.compliance.exemplars import EmbedFn, ExemplarIndex
from assistant.compliance.pii import mask_pii
from assistant.nlu.ngrams import CHARS, WORDS, NgramBlock, load_or_build, vectorizer
from assistant.training import files as training_files

log = logging.getLogger(__name__)

OUTPUT_RULES = ("guaranteed_return", "zero_risk", "investment_advice", "misleading_promotion", "aml_evasion",
                "inside_information")
INPUT_RULES = ("investment_advice", "guaranteed_return", "inside_information", "market_manipulation", "aml_evasion",
               "other_customer_data", "prompt_injection", "fraud_victim")
FEATURE_VERSION = "4"  # 3: every training text also in pinyin; 4: served as arrays
Example = tuple[str, set[str]]
# A probability at or above these marks a violation. Chosen on the dev splits (eval/datasets/
# compliance_*_dev.jsonl), never on the test splits; see `python -m eval compliance`. Customer
# messages need more certainty: a refusal there turns away an honest question.
OUTPUT_THRESHOLD = 0.6
INPUT_THRESHOLD = 0.7
MIN_UNIT = 5
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
_DIGITS = re.compile(r"\d+(\.\d+)?")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _surface(text: str) -> str:
    return _DIGITS.sub("#", text.lower())


def pinyin_view(text: str) -> str:
    """"保本保息" as "bao ben bao xi". Customers and copywriters type pinyin to slip past a keyword
    ("baoben baoxi", "nei mu xiao xi"); each training text is also learned in this form."""
    return " ".join(lazy_pinyin(text))


@dataclass
class _Trained:
    """The built check as served: every rule's weights in one matrix per n-gram block (terms × rules),
    so two products score all rules at once (see nlu/ngrams.py)."""

    words: NgramBlock
    chars: NgramBlock
    rules: list[str]  # the rules with a model (one with no examples either way is left to the patterns)
    w_words: np.ndarray
    w_chars: np.ndarray
    bias: np.ndarray
    data_hash: str


@dataclass(frozen=True)
class Finding:
    rule: str
    probability: float
    start: int
    end: int


def sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def own_content(kb_dir: Path, fixed_texts: list[str]) -> list[str]:
    """Sentences of the knowledge base's Markdown and our fixed reply texts."""
    out = [t for t in fixed_texts if len(t) >= 4]
    out.extend(s.strip() for t in fixed_texts for s in _SENTENCE.findall(t) if len(s.strip()) >= 4)
    for path in sorted(kb_dir.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        body = path.read_text(encoding="utf-8")
        if body.startswith("---"):  # front matter: metadata, not text we send
            body = body.split("---", 2)[-1]
        for line in body.splitlines():
            line = line.strip().lstrip("#->*|").strip()
            out.extend(s.strip() for s in _SENTENCE.findall(line) if len(s.strip()) >= 6)
    return out


def _masking_code() -> bytes:
    """The source of the masking customer messages pass through before a learned check reads them."""
    from assistant.compliance import pii, textnorm

    return Path(pii.__file__).read_bytes() + Path(textnorm.__file__).read_bytes()


def load_examples(path: Path, key: str) -> list[Example]:
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return [(row["text"], set(row[key])) for row in rows]


def output_examples(kb_dir: Path, fixed_texts: list[str]) -> list[Example]:
    examples = [e for path in training_files("output_guard") for e in load_examples(path, "violations")]
    return examples + [(t, set()) for t in sorted(set(own_content(kb_dir, fixed_texts)))]


def as_received(examples: list[Example]) -> list[Example]:
    """Customer messages as the models receive them: personal data masked first. Trained on the raw
    text, the model saw "18727409138" and is shown "187****9138"; the password in "我的密码是 qwe123"
    becomes "******"."""
    return [(mask_pii(text).text, labels) for text, labels in examples]


def input_examples(intent_utterances: dict[str, list[str]]) -> list[Example]:
    examples = [e for path in training_files("input_guard") for e in load_examples(path, "rules")]
    for intent, utterances in sorted(intent_utterances.items()):
        label = {"investment_advice"} if intent == "investment_advice_request" else set()
        examples.extend((u, label) for u in utterances)
    return examples  # as written: RuleClassifier(received=True) trains on them masked


class RuleClassifier:
    def __init__(self, name: str, rules: tuple[str, ...], examples: Callable[[], list[Example]], *,
                 cache_dir: Path | None = None, threshold: float = OUTPUT_THRESHOLD,
                 embed: EmbedFn | None = None, exemplar_weight: float = 0.0, received: bool = False) -> None:
        """`examples` gives the training texts with the rules each breaks (an empty set: compliant).
        `received`: they are customer messages, which the guards read with personal data masked, so
        the model learns them masked (`training_examples`).
        With `embed` (texts to e5 unit vectors) and an `exemplar_weight` above 0, each unit's
        probability is mixed with the vote of its nearest training texts (exemplars.py)."""
        self.name = name
        self.rules = rules
        self._examples = examples
        self.received = received
        self.cache_dir = cache_dir
        self.threshold = threshold
        self.embed = embed if exemplar_weight > 0 else None
        self.exemplar_weight = exemplar_weight if embed is not None else 0.0
        self._trained: _Trained | None = None
        self._path: Path | None = None
        self._exemplars: ExemplarIndex | None = None
        self._lock = threading.Lock()

    def training_examples(self) -> list[Example]:
        """The texts as the model learns them: customer messages masked as the guard shows them."""
        examples = self._examples()
        return as_received(examples) if self.received else examples

    def train(self, data_hash: str = "", examples: list[Example] | None = None) -> _Trained:
        """One logistic regression per rule over both blocks, fitted with scikit-learn (imported here:
        a serving process only loads what this returns)."""
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression

        examples = examples if examples is not None else self.training_examples()
        examples = examples + [(pinyin_view(t), lab) for t, lab in examples if _HAN.search(t)]
        labels = [lab for _, lab in examples]
        surfaces = [_surface(t) for t, _ in examples]
        words_v, chars_v = vectorizer(WORDS).fit(surfaces), vectorizer(CHARS).fit(surfaces)
        x = sparse.hstack([words_v.transform(surfaces), chars_v.transform(surfaces)]).tocsr()
        rules, coefs, bias = [], [], []
        for rule in self.rules:
            y = np.array([rule in lab for lab in labels], dtype=int)
            if y.min() == y.max():  # no examples either way: the patterns alone judge this rule
                log.warning("%s compliance model: no training examples for %s", self.name, rule)
                continue
            model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000).fit(x, y)
            rules.append(rule)
            coefs.append(model.coef_[0])
            bias.append(model.intercept_[0])
        n_words = len(words_v.vocabulary_)
        weights = np.column_stack(coefs) if coefs else np.zeros((x.shape[1], 0))
        log.info("%s compliance model trained on %d texts", self.name, len(examples))
        return _Trained(NgramBlock.from_vectorizer(WORDS, words_v), NgramBlock.from_vectorizer(CHARS, chars_v), rules,
                        np.ascontiguousarray(weights[:n_words]), np.ascontiguousarray(weights[n_words:]),
                        np.array(bias), data_hash)

    def _data_hash(self, examples: list[Example]) -> str:
        """Of the texts as written (and, for customer messages, of the masking code that prepares them):
        finding the built file at start-up then reads the data without masking every text."""
        h = hashlib.sha256(f"{FEATURE_VERSION}:{self.name}:{','.join(self.rules)}".encode())
        if self.received:
            h.update(_masking_code())
        for text, labels in examples:
            h.update(json.dumps([text, sorted(labels)], ensure_ascii=False).encode())
        return h.hexdigest()[:16]

    def cache_path(self) -> Path | None:
        """Where the model built from the current data lies (or would lie). Worked out once: it reads
        every training text, and the data does not change while the process runs."""
        if self.cache_dir is None:
            return None
        if self._path is None:
            self._path = self.cache_dir / f"{self.name}-{self._data_hash(self._examples())}.pkl"
        return self._path

    def ensure_trained(self) -> _Trained:
        """The built model, loaded once; trained and saved first when it is not built (and its
        exemplar vectors, when the votes are on)."""
        if self._trained is not None:
            return self._trained
        with self._lock:
            if self._trained is None:
                examples = self._examples()
                data_hash = self._data_hash(examples)
                path = self.cache_dir / f"{self.name}-{data_hash}.pkl" if self.cache_dir else None
                learned = (lambda: as_received(examples)) if self.received else (lambda: examples)
                trained = load_or_build(path, lambda: self.train(data_hash, learned()))
                if self.embed is not None:
                    vectors = self.cache_dir / f"{self.name}-exemplars-{data_hash}.pkl" if self.cache_dir else None
                    self._exemplars = load_or_build(vectors, lambda: ExemplarIndex.build(
                        self.embed, [t for t, _ in learned()], [lab for _, lab in learned()], self.rules, data_hash))
                self._trained = trained
        return self._trained

    @property
    def ready(self) -> bool:
        return self._trained is not None

    def probabilities(self, text: str) -> tuple[list[tuple[int, int]], dict[str, np.ndarray]]:
        """Per-sentence probability of each rule (the whole text counts as one more unit when short)."""
        m = self.ensure_trained()
        # A bare "可以。" says nothing by itself; the whole text is judged with it.
        all_units = sentences(text)
        units = [(a, b) for a, b in all_units if len(text[a:b].strip()) >= MIN_UNIT]
        if len(all_units) > 1 and len(text) <= 200:
            units.append((0, len(text)))
        if not units:
            return [], {}
        rules = m.rules
        if not rules:
            return units, {}
        surfaces = [_surface(text[a:b]) for a, b in units]
        z = m.words.scores(surfaces, m.w_words) + m.chars.scores(surfaces, m.w_chars) + m.bias
        p = 1.0 / (1.0 + np.exp(-z))  # the binary logistic model's P(rule) is the logistic of its decision value
        index = self._exemplars
        if index is not None and self.embed is not None:
            # The vote can move a probability by at most its weight: only a unit whose n-gram probability
            # lies where the vote could carry it across the threshold is embedded (most lie far from it).
            w = self.exemplar_weight
            low, high = (self.threshold - w) / (1 - w), self.threshold / (1 - w)
            unsure = [j for j in range(len(units)) if ((p[j] >= low) & (p[j] < high)).any()]
            if unsure:
                votes = index.votes(self.embed([text[units[j][0]:units[j][1]].strip() for j in unsure]))
                for i, rule in enumerate(rules):
                    if rule in index.rules:
                        p[unsure, i] = (1 - w) * p[unsure, i] + w * votes[:, index.rules.index(rule)]
        return units, {rule: p[:, i] for i, rule in enumerate(rules)}

    def best(self, text: str, rule: str) -> float:
        """The highest probability of one rule over the text's units (0 when it has none to judge)."""
        _, probs = self.probabilities(text)
        return float(probs[rule].max()) if rule in probs and len(probs[rule]) else 0.0

    def findings(self, text: str) -> list[Finding]:
        units, probs = self.probabilities(text)
        found = []
        for rule, p in probs.items():
            best = int(np.argmax(p))
            if p[best] >= self.threshold:
                # The whole-text unit is last; name a single sentence when one carries it alone.
                a, b = units[best]
                found.append(Finding(rule, float(p[best]), a, b))
        return found
