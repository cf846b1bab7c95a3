"""The intent model: its data, its rules, and the shape of what it returns."""

from __future__ import annotations

import json
from collections import Counter

from assistant.nlu import LABELS, IntentClassifier, normalize_text
from assistant.settings import PROJECT_ROOT


def test_training_data_covers_every_label_with_variety() -> None:
    texts, labels = IntentClassifier.load_training()
    counts = Counter(labels)
    assert set(counts) == set(LABELS)
    assert min(counts.values()) >= 40
    assert len(set(texts)) == len(texts)


def test_the_test_set_is_separate_from_the_training_data() -> None:
    texts, _ = IntentClassifier.load_training()
    trained = {normalize_text(t) for t in texts}
    rows = [json.loads(line) for line in (PROJECT_ROOT / "eval/datasets/nlu_test.jsonl").read_text(encoding="utf-8").splitlines()]
    # Written independently; common short phrasings (你好, 撤单, 讲个笑话) coincide, and the
    # evaluation reports those apart. At least 300 must be utterances the model never saw.
    unseen = [r for r in rows if normalize_text(r["text"]) not in trained]
    assert len(unseen) >= 300
    assert set(r["intent"] for r in unseen) == set(LABELS)


def test_plain_yes_and_no_are_rules(nlu_parser) -> None:
    for text, label in (("确认", "confirm"), ("好的！", "confirm"), ("算了", "deny"), ("转人工", "human_agent")):
        intent = nlu_parser.classifier.classify(text)
        assert (intent.label, intent.confidence, intent.source) == (label, 1.0, "rule")


def test_predictions_are_probabilities_with_alternatives(nlu_parser) -> None:
    intent = nlu_parser.classifier.classify("我账户里还剩多少可用资金")
    assert intent.label == "account_balance" and intent.source == "model"
    assert 0.5 < intent.confidence <= 1.0
    assert len(intent.alternatives) == 2 and all(p <= intent.confidence for _, p in intent.alternatives)
