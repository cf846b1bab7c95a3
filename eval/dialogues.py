"""`assistant eval dialogues`: scripted multi-turn conversations with expected replies and effects.

Each dialogue (eval/datasets/dialogues.yaml) runs in a fresh simulator database seeded with the
demo customers, with the clock pinned (default: a trading day, 10:30 Beijing time) and moved
forward where a turn says so. A turn may expect:

  intent, action            the reply's intent label and policy action
  contains / not_contains   substrings of the reply text (all / none)
  pending                   an order or cancellation waits for confirmation (true/false)
  handoff                   the reply hands over to a human agent (true/false)
  cited                     the reply cites the knowledge base (true/false)
  orders_placed             orders the customer has placed through the assistant so far
  orders_cancelled          of those, how many are cancelled now

A dialogue passes when every expectation of every turn holds.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml
from rich.console import Console

from assistant.domain import Turn
from assistant.nlu import NluParser
from assistant.settings import Settings
from assistant.storage import Database
from assistant.tools import SHANGHAI
from assistant.tools.simulator import ManualClock

DIALOGUES = Path(__file__).resolve().parent / "datasets" / "dialogues.yaml"
DEFAULT_NOW = datetime(2026, 11, 25, 10, 30, tzinfo=SHANGHAI)  # a Wednesday, continuous trading


@dataclass
class Outcome:
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)


def load_dialogues(path: Path = DIALOGUES) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = [d["name"] for d in data]
    if len(names) != len(set(names)):
        raise ValueError("dialogue names must be unique")
    return data


def _orders(engine, customer_id: str | None) -> tuple[int, int]:
    """(placed, cancelled) today: the seeded history lies on earlier trading days."""
    if customer_id is None:
        return 0, 0
    orders = engine.brokerage.orders(customer_id, day=engine.brokerage.now().date())
    return len(orders), sum(o.status == "cancelled" for o in orders)


def run_dialogue(dialogue: dict, parser: NluParser, kb, settings: Settings, workdir: Path) -> Outcome:
    from assistant.app import build_engine

    db_path = workdir / f"{abs(hash(dialogue['name']))}.db"
    db_path.unlink(missing_ok=True)
    db = Database(f"sqlite:///{db_path}")
    db.migrate()
    now = dialogue.get("now")
    clock = ManualClock(datetime.fromisoformat(now) if now else DEFAULT_NOW)
    engine = build_engine(settings, db, parser, kb=lambda: kb, clock=clock)
    customer = dialogue.get("customer")
    customer = str(customer) if customer is not None else None
    conv = engine.start(customer_id=customer)
    failures: list[str] = []
    try:
        for i, turn in enumerate(dialogue["turns"], start=1):
            clock.advance(seconds=turn.get("advance_s", 5))
            reply = engine.handle(Turn(conversation_id=conv.id, customer_id=customer, text=turn["user"]))
            expect = turn.get("expect", {})
            where = f"turn {i} “{turn['user']}”"
            if "intent" in expect and reply.intent != expect["intent"]:
                failures.append(f"{where}: intent {reply.intent}, expected {expect['intent']}")
            if "action" in expect and reply.action != expect["action"]:
                failures.append(f"{where}: action {reply.action}, expected {expect['action']}")
            for s in expect.get("contains", []):
                if str(s) not in reply.text:
                    failures.append(f"{where}: reply lacks “{s}”: {reply.text[:160]}")
            for s in expect.get("not_contains", []):
                if str(s) in reply.text:
                    failures.append(f"{where}: reply should not contain “{s}”")
            if "pending" in expect and (reply.pending_confirmation is not None) != expect["pending"]:
                failures.append(f"{where}: pending confirmation {reply.pending_confirmation is not None}")
            if "handoff" in expect and (reply.handoff is not None) != expect["handoff"]:
                failures.append(f"{where}: handoff {reply.handoff is not None}")
            if "cited" in expect and bool(reply.citations) != expect["cited"]:
                failures.append(f"{where}: citations {len(reply.citations)}")
            if "orders_placed" in expect or "orders_cancelled" in expect:
                placed, cancelled = _orders(engine, customer)
                if "orders_placed" in expect and placed != expect["orders_placed"]:
                    failures.append(f"{where}: {placed} orders placed, expected {expect['orders_placed']}")
                if "orders_cancelled" in expect and cancelled != expect["orders_cancelled"]:
                    failures.append(f"{where}: {cancelled} orders cancelled, expected {expect['orders_cancelled']}")
    finally:
        db.dispose()
        db_path.unlink(missing_ok=True)
    return Outcome(dialogue["name"], not failures, failures)


def run(parser: NluParser, kb, settings: Settings, console: Console, *, path: Path = DIALOGUES,
        only: str | None = None) -> float:
    dialogues = [d for d in load_dialogues(path) if not only or only in d["name"]]
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in dialogues:
            outcome = run_dialogue(d, parser, kb, settings, Path(tmp))
            outcomes.append(outcome)
            mark = "[green]PASS[/green]" if outcome.passed else "[red]FAIL[/red]"
            console.print(f"{mark} {outcome.name}")
            for f in outcome.failures:
                console.print(f"      {f}", style="dim")
    passed = sum(o.passed for o in outcomes)
    share = passed / max(len(outcomes), 1)
    console.print(f"dialogues passed: {passed}/{len(outcomes)} = {share:.3f}")
    return share
