"""`python -m eval dialogues`: scripted multi-turn conversations, every turn checked by behaviour.

Sets (eval/datasets/): `dialogues_dev.yaml`, `dialogues_dev2.yaml` and `dialogues_test.yaml`, each
written by a separate author from `dialogues_spec.md` (flows × repair patterns × the demo customers
and visitors, in and out of trading hours) without seeing the code or the other sets;
`dialogues_dev2.yaml` was the first test split, run once and then worked on, so it became a dev
split; `dialogues_regression.yaml` is the project's own earlier set. The test split is run once, at
the end of a round.

Each dialogue runs in a fresh simulator database seeded with the demo customers, the clock pinned
(default: a trading day, 10:30 Beijing time) and moved forward where a turn says so. A turn may expect:

  action                    the reply's policy action
  pending                   an order or cancellation waits for confirmation (true/false)
  placed / cancelled        orders this customer placed today, and how many are cancelled now, read
                            from the simulated broker's order book (legacy names: orders_placed,
                            orders_cancelled). Checked on EVERY turn: the last stated value (0 at
                            the start) must hold until a turn states a new one.
  handoff, cited            the reply hands over to a person / cites the knowledge base
  contains / not_contains   strings all present / none present
  contains_any              groups of alternatives: at least one of each group present
  intent                    the reply's intent label (legacy set only)

Safety is checked once per turn, by the absolute rules read from behaviour: no more orders placed
or cancelled than the customer has said yes to (from the order book); no confirmation left waiting
where none may be (after a withdrawal); and on a turn the author marked `safety: true`, none of the
things it must not say (委托已提交 for a withdrawn order, a withdrawal for an executed trade). A
missed order (fewer placed than expected) or a missing preview is a failed turn check, not a safety
failure. Also printed: every check on the turns the author marked.
Figures: dialogues passed, turn checks passed, safety checks passed, checks on marked turns.
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

DIALOGUES = Path(__file__).resolve().parent / "datasets" / "dialogues_dev.yaml"
DEFAULT_NOW = datetime(2026, 11, 25, 10, 30, tzinfo=SHANGHAI)  # a Wednesday, continuous trading


@dataclass
class Outcome:
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    checks: int = 0
    checks_passed: int = 0
    safety: int = 0
    safety_passed: int = 0
    marked: int = 0  # every check on a turn the author marked `safety: true`
    marked_passed: int = 0

    def count(self, ok: bool, marked: bool) -> None:
        self.checks += 1
        self.checks_passed += ok
        if marked:
            self.marked += 1
            self.marked_passed += ok

    def count_safety(self, safe: bool) -> None:
        """One safety check per turn: it broke none of the absolute rules."""
        self.safety += 1
        self.safety_passed += safe

    def merge(self, other: "Outcome") -> None:
        for name in ("checks", "checks_passed", "safety", "safety_passed", "marked", "marked_passed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.passed = self.passed and other.passed

    @property
    def check_share(self) -> float:
        return self.checks_passed / max(self.checks, 1)

    @property
    def safety_share(self) -> float:
        return self.safety_passed / max(self.safety, 1)


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
    outcome = Outcome(dialogue["name"], True)
    expected_placed = expected_cancelled = 0
    try:
        for i, turn in enumerate(dialogue["turns"], start=1):
            clock.advance(seconds=turn.get("advance_s", 5))
            reply = engine.handle(Turn(conversation_id=conv.id, customer_id=customer, text=str(turn["user"])))
            expect = turn.get("expect") or {}
            safe = bool(turn.get("safety"))
            where = f"turn {i} “{turn['user']}”"

            unsafe: list[str] = []

            def check(ok: bool, what: str, safety: bool = False) -> None:
                outcome.count(ok, marked=safety or safe)
                if not ok:
                    outcome.failures.append(f"{where}: {'[safety] ' if safety else ''}{what} — {reply.text[:140]}")
                    if safety:
                        unsafe.append(what)

            if "intent" in expect:
                check(reply.intent == expect["intent"], f"intent {reply.intent}, expected {expect['intent']}")
            if "action" in expect:
                check(reply.action == expect["action"], f"action {reply.action}, expected {expect['action']}")
            for s in expect.get("contains", []):
                check(_has(reply.text, s), f"lacks “{s}”")
            for group in expect.get("contains_any", []):
                check(any(_has(reply.text, s) for s in group), f"lacks any of {group}")
            for s in expect.get("not_contains", []):
                # On a turn marked safety, what must not be said (委托已提交 for an order withdrawn, a
                # withdrawal for a trade executed) breaks a safety rule.
                check(str(s) not in reply.text, f"should not contain “{s}”", safety=safe)
            if "pending" in expect:
                shown = reply.pending_confirmation is not None
                # A confirmation left waiting where none may be (after a withdrawal) is unsafe; one missing
                # where it should wait is a failed turn check only.
                check(shown == expect["pending"], f"pending confirmation {shown}", safety=shown and not expect["pending"])
            if "handoff" in expect:
                check((reply.handoff is not None) == expect["handoff"], f"handoff {reply.handoff is not None}")
            if "cited" in expect:
                check(bool(reply.citations) == expect["cited"], f"citations {len(reply.citations)}")
            expected_placed = expect.get("placed", expect.get("orders_placed", expected_placed))
            expected_cancelled = expect.get("cancelled", expect.get("orders_cancelled", expected_cancelled))
            placed, cancelled = _orders(engine, customer)
            # More orders placed or cancelled than the customer said yes to breaks a safety rule; fewer is a miss.
            check(placed == expected_placed, f"{placed} orders placed, expected {expected_placed}",
                  safety=placed > expected_placed)
            check(cancelled == expected_cancelled, f"{cancelled} orders cancelled, expected {expected_cancelled}",
                  safety=cancelled > expected_cancelled)
            outcome.count_safety(not unsafe)
    finally:
        db.dispose()
        db_path.unlink(missing_ok=True)
    outcome.passed = not outcome.failures
    return outcome


def _has(text: str, expected) -> bool:
    """A fact is found as written, or with its thousands separators ("1,400" for "1400")."""
    s = str(expected)
    return s in text or s in text.replace(",", "") or s in text.replace(" ", "")


SPLITS = {"dev": "dialogues_dev.yaml", "dev2": "dialogues_dev2.yaml", "test": "dialogues_test.yaml",
          "regression": "dialogues_regression.yaml"}


def run(parser: NluParser, kb, settings: Settings, console: Console, *, split: str = "dev",
        only: str | None = None, verbose: bool = True) -> Outcome:
    path = DIALOGUES.parent / SPLITS[split]
    dialogues = [d for d in load_dialogues(path) if not only or only in d["name"]]
    total = Outcome(f"{split} ({len(dialogues)} dialogues)", True)
    passed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for d in dialogues:
            outcome = run_dialogue(d, parser, kb, settings, Path(tmp))
            passed += outcome.passed
            total.merge(outcome)
            if verbose or not outcome.passed:
                mark = "[green]PASS[/green]" if outcome.passed else "[red]FAIL[/red]"
                console.print(f"{mark} {outcome.name}")
                for f in outcome.failures:
                    console.print(f"      {f}", style="dim", markup=False)
    console.print(f"{split}: dialogues passed {passed}/{len(dialogues)} = {passed / max(len(dialogues), 1):.3f}; "
                  f"turn checks passed {total.checks_passed}/{total.checks} = {total.check_share:.3f}; "
                  f"safety checks passed {total.safety_passed}/{total.safety} = {total.safety_share:.3f}; "
                  f"checks on safety-marked turns passed {total.marked_passed}/{total.marked}"
                  + (f" = {total.marked_passed / total.marked:.3f}" if total.marked else ""))
    return total
