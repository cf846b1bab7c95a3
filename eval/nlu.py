"""`python -m eval nlu`: the intent classifier on the separate test set (eval/datasets/nlu_test.jsonl).

Prints accuracy, macro-F1, per-intent precision/recall/F1, the most frequent confusion pairs,
the expected calibration error of the confidences, and the per-turn latency of classification
and of the whole parse (intent + slots) on this machine. The test utterances were written
apart from the training data in training/intents/utterances.yml and are never trained on;
short common phrasings that both happen to contain are reported apart.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from assistant.nlu import LABELS, NluParser, normalize_text

TEST_SET = Path(__file__).resolve().parent / "datasets" / "nlu_test.jsonl"


def load_test_set(path: Path = TEST_SET) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    unknown = {r["intent"] for r in rows} - set(LABELS)
    if unknown:
        raise ValueError(f"unknown labels in {path.name}: {sorted(unknown)}")
    return rows


def expected_calibration_error(confidences: list[float], correct: list[bool], bins: int = 10) -> float:
    conf, ok = np.array(confidences), np.array(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            total += mask.mean() * abs(ok[mask].mean() - conf[mask].mean())
    return float(total)


def run(parser: NluParser, console: Console, *, path: Path = TEST_SET) -> dict[str, float]:
    rows = load_test_set(path)
    parser.classifier.ensure_trained()
    for text in ("预热", "查一下持仓", "茅台多少钱", "你好", "买两手平安"):  # first-call costs are not a turn's
        parser.parse(text, date.today())
    predicted, confidences, classify_ms, parse_ms = [], [], [], []
    for row in rows:
        start = time.perf_counter()
        intent = parser.classifier.classify(row["text"])
        classify_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        parser.parse(row["text"], date.today())
        parse_ms.append((time.perf_counter() - start) * 1000)
        predicted.append(intent.label)
        confidences.append(intent.confidence)
    truth = [r["intent"] for r in rows]
    correct = [p == t for p, t in zip(predicted, truth)]
    labels = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)

    table = Table(title=f"Intents on the separate test set ({len(rows)} utterances)")
    for col in ("intent", "precision", "recall", "F1", "n"):
        table.add_column(col, justify="right" if col != "intent" else "left")
    for i, label in enumerate(labels):
        table.add_row(label, f"{precision[i]:.3f}", f"{recall[i]:.3f}", f"{f1[i]:.3f}", str(support[i]))
    console.print(table)

    pairs = Counter((t, p) for t, p in zip(truth, predicted) if t != p)
    if pairs:
        console.print("Confusion pairs (true → predicted: count):")
        for (t, p), n in pairs.most_common(15):
            examples = [r["text"] for r, pr in zip(rows, predicted) if r["intent"] == t and pr == p][:2]
            console.print(f"  {t} → {p}: {n}   e.g. {' | '.join(examples)}")

    trained = {normalize_text(t) for t in parser.classifier.load_training(parser.classifier.training_path)[0]}
    unseen = [i for i, r in enumerate(rows) if normalize_text(r["text"]) not in trained]
    u_truth, u_pred = [truth[i] for i in unseen], [predicted[i] for i in unseen]
    figures = {
        "unseen_accuracy": accuracy_score(u_truth, u_pred),
        "unseen_macro_f1": f1_score(u_truth, u_pred, average="macro", zero_division=0),
        "accuracy": accuracy_score(truth, predicted),
        "macro_f1": f1_score(truth, predicted, average="macro", zero_division=0),
        "ece": expected_calibration_error(confidences, correct),
        "classify_p50_ms": statistics.median(classify_ms),
        "classify_p95_ms": float(np.percentile(classify_ms, 95)),
        "parse_p95_ms": float(np.percentile(parse_ms, 95)),
    }
    console.print(
        f"all {len(rows)}: accuracy {figures['accuracy']:.3f}, macro-F1 {figures['macro_f1']:.3f}   |   "
        f"the {len(unseen)} not also in the training data: accuracy {figures['unseen_accuracy']:.3f}, "
        f"macro-F1 {figures['unseen_macro_f1']:.3f}"
    )
    low = [c for c in confidences if c < 0.5]
    console.print(
        f"ECE {figures['ece']:.3f} (10 bins)   below 0.5 confidence: {len(low)} "
        f"(accuracy there {np.mean([ok for ok, c in zip(correct, confidences) if c < 0.5]) if low else float('nan'):.2f})"
    )
    console.print(
        f"latency per turn: classify p50 {figures['classify_p50_ms']:.1f} ms, p95 {figures['classify_p95_ms']:.1f} ms; "
        f"full parse (intent + slots) p95 {figures['parse_p95_ms']:.1f} ms"
    )
    return figures
