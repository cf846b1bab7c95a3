"""A business flow as declared steps: collect the slots it needs, then run its steps in order.

A flow reads like the desk's checklist (`PLACE_ORDER = Flow("place_order", steps=(Collect(...),
…, Step("preview", …)))`). The runner is the only place that walks steps: a `Collect` whose slot
is missing asks for it and stops; a `Step` may stop the flow with a reply (a refusal, a preview
that waits for confirmation, a report) or let it go on. What happens after the customer's
explicit yes is the flow's `execute`; the policy decides when that is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.conversation import templates as T
from assistant.conversation.store import (
    DialogueState,
    PendingAction,
    PendingSlot,
    Refusal,
)
from assistant.conversation.turn import TurnContext
from assistant.domain import Reply

StepFn = Callable[[TurnContext, DialogueState, dict], "Reply | None"]


@dataclass(frozen=True)
class Collect:
    """Ask for `slot` unless `filled(slots)`; `ask` writes the question from what is known so far."""

    slot: str
    ask: Callable[[TurnContext, dict], str]
    filled: Callable[[dict], bool] | None = None
    action: Callable[[TurnContext, dict], str] | None = None  # the reply's action when not the flow's ask_action

    def is_filled(self, slots: dict) -> bool:
        return self.filled(slots) if self.filled is not None else bool(slots.get(self.slot))


@dataclass(frozen=True)
class Step:
    name: str  # validate | preview | report | …: what the step is, for readers and the audit
    run: StepFn


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Collect | Step, ...]
    needs_sign_in: bool = False
    execute: Callable[[TurnContext, DialogueState, PendingAction], Reply] | None = None
    before_sign_in: tuple[Step, ...] = ()  # steps that answer a visitor too, before the sign-in check
    # the action label a reply carries when this flow asks for a slot (kept for channels and eval)
    ask_action: str = "ask_for_slot"
    notes: dict = field(default_factory=dict)


def run_flow(flow: Flow, turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    state.last_intent, state.last_slots = flow.name, slots
    for step in flow.before_sign_in:  # what is said to anyone, signed in or not
        reply = step.run(turn, state, slots)
        if reply is not None:
            return reply
    if flow.needs_sign_in and turn.customer_id is None:
        return refuse(turn, state, flow.name, T.SIGN_IN)
    for step in flow.steps:
        if isinstance(step, Collect):
            if not step.is_filled(slots):
                if step.slot == "security" and not slots.get("security_candidates"):
                    offered = turn.services.master.partial(turn.text)
                    if offered:
                        slots = {**slots, "security_candidates": [s.ref(s.name, "partial").model_dump() for s in offered]}
                state.pending_slot = PendingSlot(intent=flow.name, slot=step.slot, slots=slots)
                action = step.action(turn, slots) if step.action is not None else flow.ask_action
                return turn.reply(flow.name, action, step.ask(turn, slots))
            continue
        reply = step.run(turn, state, slots)
        if reply is not None:
            return reply
    raise RuntimeError(f"flow {flow.name} ended without a reply")  # a flow's last step always answers


UNDER_REVIEW = "您的开户申请还在审核中，账户开通前不能交易或申请交易权限；审核进度可以问我“开户进度”。"


def account_active(turn: TurnContext, state: DialogueState, slots: dict) -> Reply | None:
    """An applicant whose account is still under review is told so before anything is asked."""
    if turn.services.brokerage.customer(turn.customer_id).status == "active":
        return None
    return refuse(turn, state, state.last_intent or "place_order", UNDER_REVIEW)


def refuse(turn: TurnContext, state: DialogueState, label: str, text: str, *, reasons: list[str] | None = None,
           slots: dict | None = None, data=None) -> Reply:
    """A refusal the customer can ask about ("为什么") and correct ("那200股呢")."""
    state.last_refusal = Refusal(intent=label, reasons=reasons or [text], slots=slots or {})
    return turn.reply(label, "refuse", text, data=data)
