"""`python -m eval faq`: does a question find its standard question, and only when there is one?

Two sides, at the matcher's threshold and at a sweep of thresholds around it:
- held out: every paraphrase of every entry, its own row hidden, must find its entry
  (accepted and right / accepted and wrong / not accepted);
- must not match: the off-topic questions (kb_unanswerable.jsonl) and the intent training
  utterances that are actions or chat, not questions (orders, look-ups of one's own account,
  greetings): the share the FAQ would wrongly answer.
Also listed: paraphrases closer to another entry than to their own (confusable entries).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml
from rich.console import Console

from assistant.rag.faq import FaqIndex, _unit

DATASETS = Path(__file__).resolve().parent / "datasets"
ROOT = Path(__file__).resolve().parents[1]
# Utterances that ask for an action on one's own account or are chat: never an FAQ answer.
ACTION_INTENTS = ("place_order", "cancel_order", "positions", "account_balance", "order_status", "trade_history",
                  "market_quote", "greeting", "goodbye", "confirm", "deny")


def negatives() -> list[str]:
    texts = [json.loads(line)["question"] for line in (DATASETS / "kb_unanswerable.jsonl").read_text("utf-8").splitlines()
             if line.strip()]
    intents = yaml.safe_load((ROOT / "training" / "intents" / "utterances.yml").read_text("utf-8"))
    for label in ACTION_INTENTS:
        texts += [str(t) for t in intents.get(label, [])]
    return texts


def run(faq: FaqIndex, console: Console) -> dict:
    vectors, owner = faq.vectors, faq.owner
    first_row = {}
    for row, n in enumerate(owner):
        first_row.setdefault(int(n), row)
    held: list[tuple[float, bool]] = []  # (score, right entry)
    confusable = []
    for row in range(len(faq.wordings)):
        n = int(owner[row])
        if row == first_row[n]:
            continue  # the standard question itself stays; its paraphrases are the questions
        similarity = vectors @ vectors[row]
        similarity[row] = -1.0  # hidden
        order = np.argsort(-similarity)[: faq.shortlist]
        words = set(_tokens(faq.wordings[row]))
        best_score, best_n = -1.0, -1
        for r in order:
            score = float(similarity[r]) + faq.overlap_weight * faq._overlap(words, faq.wordings[r])
            if score > best_score:
                best_score, best_n = score, int(owner[r])
        held.append((best_score, best_n == n))
        if best_n != n:
            confusable.append((faq.wordings[row], faq.entries[n].id, faq.entries[best_n].id, best_score))
    negative = negatives()
    neg_scores = [m[0].score if (m := faq.candidates(t, k=1)) else 0.0 for t in negative]

    def at(threshold: float) -> tuple[float, float, float]:
        right = sum(1 for s, ok in held if ok and s >= threshold) / len(held)
        wrong = sum(1 for s, ok in held if not ok and s >= threshold) / len(held)
        false = sum(1 for s in neg_scores if s >= threshold) / len(neg_scores)
        return right, wrong, false

    console.print(f"FAQ: {len(faq.entries)} standard questions, {len(faq.wordings)} wordings; "
                  f"{len(held)} paraphrases held out, {len(negative)} texts that must not match")
    console.print("threshold  held-out right  held-out wrong  must-not matched")
    for t in sorted({round(faq.threshold + d, 3) for d in (-0.02, -0.01, -0.005, 0.0, 0.005, 0.01, 0.02)}):
        right, wrong, false = at(t)
        mark = "  ← in use" if abs(t - faq.threshold) < 1e-9 else ""
        console.print(f"  {t:.3f}      {right:.3f}           {wrong:.3f}           {false:.3f}{mark}")
    console.print(f"paraphrases nearer another entry than their own: {len(confusable)}")
    for text, own, other, score in sorted(confusable, key=lambda c: -c[3])[:25]:
        console.print(f"  {text}  ({own} → {other}, {score:.3f})", style="dim")
    worst = sorted(zip(neg_scores, negative), reverse=True)[:10]
    console.print("must-not texts closest to an entry:")
    for score, text in worst:
        console.print(f"  {score:.3f} {text}", style="dim")
    right, wrong, false = at(faq.threshold)
    return {"held_out_right": right, "held_out_wrong": wrong, "must_not_matched": false}


def _tokens(text: str) -> list[str]:
    from assistant.rag.text import tokenize

    return tokenize(text)


__all__ = ["run", "negatives", "_unit"]
