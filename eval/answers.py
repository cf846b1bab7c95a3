"""`python -m eval answers`: are rule, product and how-to questions answered completely, by the
knowledge, and in plain sentences?

Each item (answers_{dev,test}.jsonl, written by a separate author who had not read the knowledge
base) is one to three customer messages, sent through the whole turn pipeline as a visitor or a
signed-in demo customer, in a fresh conversation, with the clock on a trading morning. The LAST
reply is judged by behaviour a customer would notice:
- complete: every required fact (`must_contain`, each group a set of spellings) is in it;
- mis-routed: it says what a rule question must never get (`must_not`: a log-in request, out of
  scope, a stock-tip refusal for arithmetic), or it is a refusal or "out of scope" by its action;
- not found: the knowledge base said it had nothing;
- repeated: two of its sentences say the same thing (near-identical text);
- latency: every turn's time in the pipeline, p50 and p95.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rapidfuzz import fuzz
from rich.console import Console

from assistant.domain import Turn
from assistant.nlu import NluParser
from assistant.rag import NOT_FOUND_TEXT
from assistant.settings import Settings
from assistant.storage import Database
from assistant.tools.simulator import ManualClock

DATASETS = Path(__file__).resolve().parent / "datasets"
NOW = "2026-11-25T10:30:00+08:00"  # a Wednesday morning, continuous trading
_SENTENCE = re.compile(r"[^。！？!?；;\n]+")
_CITATION = re.compile(r"\[\d{1,2}\]")
_FIGURES = re.compile(r"\d+(?:[.,]\d+)*")


def load(split: str) -> list[dict]:
    path = DATASETS / f"answers_{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _plain(text: str) -> str:
    return text.replace(",", "").replace("，", "").replace(" ", "").lower()


def has_fact(text: str, spellings: list[str]) -> bool:
    """A fact is found as written, ignoring case, spaces and thousands separators."""
    plain = _plain(text)
    return any(_plain(str(s)) in plain for s in spellings)


def repeated_sentences(text: str) -> list[str]:
    """Sentences that say again what an earlier one said: near-identical (12 characters or more) and
    with the same figures (parallel rules with different figures — 科创板 10 万股, 创业板 30 万股 — are not
    repeats)."""
    sentences = [s.strip() for s in _SENTENCE.findall(_CITATION.sub("", text)) if len(s.strip()) >= 12]
    return [b for i, b in enumerate(sentences) for a in sentences[:i]
            if fuzz.ratio(a, b) >= 85 and _FIGURES.findall(a) == _FIGURES.findall(b)]


@dataclass
class Outcome:
    id: str
    complete: bool
    misrouted: bool
    not_found: bool
    repeated: bool
    reply: str
    missing: list[list[str]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def run_item(item: dict, engine, clock) -> Outcome:
    customer = str(item["customer"]) if item.get("customer") else None
    conv = engine.start(customer_id=customer)
    latencies, reply = [], None
    for text in item["turns"]:
        clock.advance(seconds=15)
        started = time.perf_counter()
        reply = engine.handle(Turn(conversation_id=conv.id, customer_id=customer, text=text))
        latencies.append(time.perf_counter() - started)
    text = reply.text
    missing = [group for group in item["must_contain"] if not has_fact(text, group)]
    said = [s for s in item.get("must_not", []) if s in text]
    refused = reply.action == "refuse" or reply.intent == "out_of_scope"
    return Outcome(item["id"], complete=not missing, misrouted=bool(said) or refused,
                   not_found=NOT_FOUND_TEXT[:20] in text, repeated=bool(repeated_sentences(text)),
                   reply=text, missing=missing, said=said + (["(refusal)"] if refused else []), latencies=latencies)


def run(parser: NluParser, kb, settings: Settings, console: Console, *, split: str = "dev",
        only: str | None = None, verbose: bool = False) -> dict:
    from assistant.app import build_engine

    items = [i for i in load(split) if not only or only in i["id"] or only == i.get("topic")]
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'answers.db'}")
        db.migrate()
        clock = ManualClock(datetime.fromisoformat(NOW))
        engine = build_engine(settings, db, parser, kb=lambda: kb, clock=clock)
        for item in items:
            outcomes.append(run_item(item, engine, clock))
        db.dispose()

    n = len(outcomes)
    latencies = sorted(t for o in outcomes for t in o.latencies)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0.0
    figures = {
        "n": n,
        "complete": sum(o.complete for o in outcomes) / n,
        "misrouted": sum(o.misrouted for o in outcomes) / n,
        "not_found": sum(o.not_found for o in outcomes) / n,
        "repeated": sum(o.repeated for o in outcomes) / n,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p95_ms": p95 * 1000,
    }
    console.print(f"answers_{split}: {n} items ({sum(len(o.latencies) for o in outcomes)} turns)")
    console.print(f"every required fact  {figures['complete']:.3f} ({sum(o.complete for o in outcomes)}/{n})")
    console.print(f"mis-routed           {figures['misrouted']:.3f} ({sum(o.misrouted for o in outcomes)}/{n})"
                  "  (log-in request, out of scope or a refusal)")
    console.print(f"not found            {figures['not_found']:.3f} ({sum(o.not_found for o in outcomes)}/{n})")
    console.print(f"repeated sentence    {figures['repeated']:.3f} ({sum(o.repeated for o in outcomes)}/{n})")
    console.print(f"latency per turn     p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms")
    for o in outcomes:
        if o.complete and not o.misrouted and not o.repeated:
            continue
        problems = [f"lacks {g[:3]}" for g in o.missing] + [f"said “{s}”" for s in o.said]
        problems += ["repeats a sentence"] if o.repeated else []
        console.print(f"  {o.id}: {'; '.join(problems)}", style="dim")
        if verbose:
            console.print(f"     {o.reply[:300]}", style="dim")
    return figures
