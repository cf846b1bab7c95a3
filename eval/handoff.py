"""`python -m eval handoff`: do the escalation triggers fire on the conversations that need a person, and
only on those?

Each scripted conversation (JSON Lines: id, customer signed_in|anonymous, turns, escalate, reason,
note) runs through the real engine with the real knowledge base, in a fresh simulator database
seeded with the demo customers, the clock pinned to a trading day. A conversation counts as
escalated when any turn's reply carries a handoff; its reason is the first handoff's.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path

from rich.console import Console

from assistant.domain import Turn
from assistant.nlu import NluParser
from assistant.settings import Settings
from assistant.storage import Database
from assistant.tools import SHANGHAI
from assistant.tools.simulator import ManualClock

DATASETS = Path(__file__).resolve().parent / "datasets"
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=SHANGHAI)
SIGNED_IN = "100001"  # a seeded demo customer
# The data set's name for the input guard's fraud-victim escalation.
REASON_ALIASES = {"fraud_victim": "fraud"}


def load_cases(path: Path) -> list[dict]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        case = json.loads(line)
        if not isinstance(case.get("turns"), list) or not case["turns"] or not isinstance(case.get("escalate"), bool):
            raise ValueError(f"{path}:{n}: a case needs turns and escalate")
        cases.append(case)
    return cases


def run_case(case: dict, parser: NluParser, kb, settings: Settings, guards, workdir: Path,
             triggers=None) -> tuple[bool, str | None, int, str | None]:
    """(escalated, reason, turn number of the first handoff, its priority)."""
    from assistant.app import build_engine

    db_path = workdir / f"{case['id']}.db"
    db_path.unlink(missing_ok=True)
    db = Database(f"sqlite:///{db_path}")
    db.migrate()
    clock = ManualClock(NOW)
    engine = build_engine(settings, db, parser, kb=lambda: kb, clock=clock, guards=guards, triggers=triggers)
    customer = SIGNED_IN if case.get("customer", "signed_in") == "signed_in" else None
    try:
        conv = engine.start(customer_id=customer)
        for i, text in enumerate(case["turns"], start=1):
            clock.advance(seconds=20)
            reply = engine.handle(Turn(conversation_id=conv.id, customer_id=customer, text=text))
            if reply.handoff is not None:
                return True, REASON_ALIASES.get(reply.handoff.reason, reply.handoff.reason), i, reply.handoff.priority
        return False, None, 0, None
    finally:
        db.dispose()
        db_path.unlink(missing_ok=True)


def run(parser: NluParser, kb, settings: Settings, console: Console, *, path: Path, triggers=None) -> dict:
    from assistant.app import build_guard_models
    from assistant.handoff import build_trigger_model

    cases = load_cases(path)
    from eval.compliance import judge_line

    guards = build_guard_models(settings, parser)
    guards.ensure_trained()
    console.print(judge_line(guards.judge))
    triggers = triggers or build_trigger_model(settings.resolved_compliance_model_dir)
    triggers.ensure_trained()
    tp = fp = fn = tn = reason_ok = urgent_want = urgent_got = 0
    misses: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            escalated, reason, turn, priority = run_case(case, parser, kb, settings, guards, Path(tmp), triggers)
            expected = case["escalate"]
            if case.get("priority") == "urgent":  # fraud and crisis: a person at once
                urgent_want += 1
                urgent_got += priority == "urgent"
                if priority != "urgent":
                    misses.append(f"{case['id']}: priority {priority}, expected urgent — {case.get('note', '')}")
            if escalated and expected:
                tp += 1
                if reason == case.get("reason"):
                    reason_ok += 1
                else:
                    misses.append(f"{case['id']}: reason {reason}, expected {case.get('reason')} (turn {turn})")
            elif escalated:
                fp += 1
                misses.append(f"{case['id']}: escalated ({reason}, turn {turn}) but should not — {case.get('note', '')}")
            elif expected:
                fn += 1
                misses.append(f"{case['id']}: not escalated, expected {case.get('reason')} — {case.get('note', '')}")
            else:
                tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    console.print(f"handoff triggers on {path.name}: {len(cases)} conversations, "
                  f"{tp + fn} should escalate, {tp + fp} escalated")
    console.print(f"precision {precision:.3f}  recall {recall:.3f}  "
                  f"reason accuracy on true positives {reason_ok / tp if tp else 0.0:.3f} ({reason_ok}/{tp})")
    console.print(f"true positives {tp}, false positives {fp}, false negatives {fn}, true negatives {tn}")
    if urgent_want:
        console.print(f"urgent where it must be (fraud, crisis): {urgent_got}/{urgent_want}")
    for m in misses:
        console.print(f"  {m}", style="dim")
    return {"precision": precision, "recall": recall, "reason_accuracy": reason_ok / tp if tp else 0.0,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn}
