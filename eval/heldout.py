"""`python -m eval heldout`: the guards' learned checks on training authors they never saw.

Every training file was written by one author (or one batch); leaving a file out of training and
judging it shows how the learned check does on unseen phrasing, which the evaluation sets (tuned on,
and mostly caught by the patterns) no longer can.

- `--model output|input`: leave each training file out in turn; the learned check alone (no
  patterns) judges the file's texts: verdict accuracy per file and the mean, at each exemplar-vote
  weight asked for (`--weights 0,0.2,0.35`; above 0 every training text is embedded once, cached
  under var/compliance/heldout-<model>-vectors.pkl).
- `--file NAME --folds 5` (output only): k-fold cross-validation inside one file, with the full
  output check (patterns and a model trained without the fold): per-rule recall of the file's
  labels and false alarms on its compliant texts.
"""

from __future__ import annotations

import collections
import pickle
import random
from pathlib import Path

import numpy as np
from rich.console import Console

from assistant.compliance import check_output
from assistant.compliance.classifier import (
    INPUT_RULES,
    INPUT_THRESHOLD,
    OUTPUT_RULES,
    OUTPUT_THRESHOLD,
    RuleClassifier,
    as_received,
    load_examples,
    own_content,
)
from assistant.compliance.exemplars import ExemplarIndex
from assistant.settings import Settings
from assistant.training import files as training_files


def _folds(model: str, settings: Settings, parser) -> tuple[dict[str, list], list, tuple[str, ...], float]:
    """(training files by name, the examples always trained on, the rules, the threshold)."""
    if model == "output":
        from assistant.app import _fixed_reply_texts

        folds = {p.name: load_examples(p, "violations") for p in training_files("output_guard")}
        always = [(t, set()) for t in sorted(set(own_content(settings.kb_dir, _fixed_reply_texts())))]
        return folds, always, OUTPUT_RULES, OUTPUT_THRESHOLD
    texts, labels = parser.classifier.load_training(parser.classifier.training_path)
    folds = {p.name: as_received(load_examples(p, "rules")) for p in training_files("input_guard")}
    always = as_received([(t, {"investment_advice"} if lab == "investment_advice_request" else set())
                          for t, lab in zip(texts, labels)])
    return folds, always, INPUT_RULES, INPUT_THRESHOLD


def leave_one_out(model: str, settings: Settings, parser, console: Console, weights: list[float]) -> dict[float, float]:
    folds, always, rules, threshold = _folds(model, settings, parser)
    embed = parser.classifier.embed
    vectors: dict[str, np.ndarray] = {}
    if any(w > 0 for w in weights):
        cache = settings.resolved_compliance_model_dir / f"heldout-{model}-vectors.pkl"
        vectors = pickle.loads(cache.read_bytes()) if cache.exists() else {}
        missing = sorted({t for ex in [*folds.values(), always] for t, _ in ex} - set(vectors))
        for start in range(0, len(missing), 256):
            chunk = missing[start:start + 256]
            vectors.update(zip(chunk, np.asarray(embed(chunk), dtype=np.float16)))
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(pickle.dumps(vectors))
    means: dict[float, list[float]] = {w: [] for w in weights}
    for name, held in folds.items():
        train = always + [e for other, ex in folds.items() if other != name for e in ex]
        clf = RuleClassifier(f"heldout-{model}", rules, lambda train=train: train, threshold=threshold,
                             embed=embed, exemplar_weight=max(weights) or 0.0)
        clf._trained = clf.train("heldout", train)
        if vectors:
            merged: dict[str, set[str]] = {}
            for text, lab in train:
                merged.setdefault(text, set()).update(lab)
            unique = list(merged)
            clf._exemplars = ExemplarIndex(np.stack([vectors[t] for t in unique]),
                                           np.array([[r in merged[t] for r in rules] for t in unique], dtype=np.uint8),
                                           rules)
        row = []
        for w in weights:
            clf.exemplar_weight = w
            ok = sum(bool(clf.findings(text)) == bool(lab) for text, lab in held)
            means[w].append(ok / len(held))
            row.append(f"w={w}: {ok / len(held):.3f}")
        console.print(f"{name} ({len(held)}): " + "  ".join(row))
    result = {w: float(np.mean(v)) for w, v in means.items()}
    console.print("mean: " + "  ".join(f"w={w}: {m:.3f}" for w, m in result.items()))
    return result


def cross_validate(file: str, settings: Settings, console: Console, folds_n: int = 5) -> collections.Counter:
    folds, always, rules, threshold = _folds("output", settings, None)
    if file not in folds:
        raise SystemExit(f"no output training file {file}")
    others = [e for name, ex in folds.items() if name != file for e in ex]
    rows = list(folds[file])
    random.Random(7).shuffle(rows)
    parts = [rows[i::folds_n] for i in range(folds_n)]
    count: collections.Counter = collections.Counter()
    for k in range(folds_n):
        train = always + others + [r for j in range(folds_n) if j != k for r in parts[j]]
        clf = RuleClassifier("heldout-cv", rules, lambda train=train: train, threshold=threshold)
        clf._trained = clf.train("heldout", train)
        for text, lab in parts[k]:
            patterns = {v.rule for v in check_output(text)} - {"pii"}
            found = {v.rule for v in check_output(text, clf)} - {"pii"}
            for rule in lab:
                count[(rule, "n")] += 1
                count[(rule, "patterns")] += rule in patterns
                count[(rule, "caught")] += rule in found
            if not lab:
                count[("compliant", "n")] += 1
                count[("compliant", "false alarms")] += bool(found)
            count[("all", "verdict right")] += bool(lab) == bool(found)
            count[("all", "n")] += 1
    for rule in sorted({r for r, _ in count if r not in ("compliant", "all")}):
        console.print(f"{rule}: caught {count[(rule, 'caught')]}/{count[(rule, 'n')]} "
                      f"(the patterns alone {count[(rule, 'patterns')]})")
    console.print(f"compliant: false alarms {count[('compliant', 'false alarms')]}/{count[('compliant', 'n')]}; "
                  f"verdict accuracy {count[('all', 'verdict right')] / count[('all', 'n')]:.3f}")
    return count


def run(settings: Settings, parser, console: Console, *, model: str, file: str | None, folds: int,
        weights: list[float]) -> None:
    if file:
        cross_validate(Path(file).name, settings, console, folds)
    else:
        leave_one_out(model, settings, parser, console, weights)
