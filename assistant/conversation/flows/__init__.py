"""The registry: every intent the policy can act on, the flow that serves it, and its flags.

A new intent is its taxonomy line and training data (nlu/), one flow (a module here or a Flow
in an existing one) and one line below.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.conversation.flows import answers, lookups
from assistant.conversation.flows.base import Flow, run_flow
from assistant.conversation.flows.cancel import CANCEL_ORDER
from assistant.conversation.flows.orders import (
    CONFIRM_TTL,
    ORDER_KEYS,
    PLACE_ORDER,
    order_slots,
)
from assistant.conversation.flows.repo import REVERSE_REPO, repo_slots


@dataclass(frozen=True)
class IntentSpec:
    flow: Flow
    visitor_flow: Flow | None = None  # what a visitor gets instead (a rule answer rather than a log-in)
    carries_over: bool = False  # "那五粮液呢?" asks the same about another security, date or permission
    disclosed: bool = False  # an answer about products or markets carries the risk disclosure


REGISTRY: dict[str, IntentSpec] = {
    # An order never carries over to another security by "那……呢": that is a quote or a question, or a new order said whole.
    "place_order": IntentSpec(PLACE_ORDER),
    "cancel_order": IntentSpec(CANCEL_ORDER),
    "reverse_repo": IntentSpec(REVERSE_REPO),
    "account_balance": IntentSpec(lookups.ACCOUNT_BALANCE),
    "positions": IntentSpec(lookups.POSITIONS, carries_over=True),
    "order_status": IntentSpec(lookups.ORDER_STATUS, carries_over=True),
    "trade_history": IntentSpec(lookups.TRADE_HISTORY, carries_over=True),
    "market_quote": IntentSpec(lookups.MARKET_QUOTE, carries_over=True),
    "account_opening_status": IntentSpec(lookups.ACCOUNT_OPENING_STATUS),
    "risk_assessment": IntentSpec(lookups.RISK_PROFILE, visitor_flow=answers.RISK_QUESTION, disclosed=True),
    "suitability_scope": IntentSpec(answers.SUITABILITY_SCOPE),
    "open_permission": IntentSpec(answers.OPEN_PERMISSION, carries_over=True, disclosed=True),
    "fees": IntentSpec(answers.FEES, carries_over=True, disclosed=True),
    "kb_question": IntentSpec(answers.KB_QUESTION, disclosed=True),
    "investment_advice_request": IntentSpec(answers.ADVICE),
    "human_agent": IntentSpec(answers.HUMAN_AGENT),
    "complaint": IntentSpec(answers.COMPLAINT),
    "greeting": IntentSpec(answers.GREETING),
    "goodbye": IntentSpec(answers.GOODBYE),
    "confirm": IntentSpec(answers.NOTHING_PENDING),
    "deny": IntentSpec(answers.DENY),
    "out_of_scope": IntentSpec(answers.OUT_OF_SCOPE),
    **{label: IntentSpec(flow) for label, flow in answers.APP_PAGE_FLOWS.items()},
}

CARRY_OVER = frozenset(label for label, spec in REGISTRY.items() if spec.carries_over)
DISCLOSED = frozenset(label for label, spec in REGISTRY.items() if spec.disclosed)
CONFIRMABLE = {"place_order": PLACE_ORDER, "cancel_order": CANCEL_ORDER, "reverse_repo": REVERSE_REPO}


def flow_for(label: str, signed_in: bool) -> Flow:
    spec = REGISTRY.get(label) or REGISTRY["out_of_scope"]
    return spec.flow if signed_in or spec.visitor_flow is None else spec.visitor_flow


__all__ = ["CARRY_OVER", "CONFIRMABLE", "CONFIRM_TTL", "DISCLOSED", "ORDER_KEYS", "REGISTRY", "Flow", "IntentSpec",
           "flow_for", "order_slots", "repo_slots", "run_flow"]
