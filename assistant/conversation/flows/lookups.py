"""Account look-ups and quotes: one tool call each, reported in the desk's words with the data."""

from __future__ import annotations

from datetime import date, timedelta

from assistant.conversation import templates as T
from assistant.conversation.flows.base import Collect, Flow, Step
from assistant.conversation.flows.orders import confirm_sound_alike, which_security
from assistant.conversation.store import DialogueState
from assistant.conversation.turn import TurnContext
from assistant.domain import Reply


def _balance(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    b = turn.tools()["get_balance"].invoke({})
    return turn.reply("account_balance", "run_tool", T.balance_text(b), data=b)


def _positions(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    items = turn.tools()["get_positions"].invoke({})
    security = slots.get("security")
    code = security["code"] if security else None
    shown = [p for p in items if p.code == code] if code else items  # the data is what the text is about
    return turn.reply("positions", "run_tool", T.positions_text(items, code), data={"positions": shown})


def _orders(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    status = slots.get("order_status")
    items = turn.tools()["get_orders"].invoke({"status": status, "today_only": True})
    if slots.get("security"):
        items = [o for o in items if o.code == slots["security"]["code"]]
    return turn.reply("order_status", "run_tool", T.orders_text(items, status), data={"orders": items})


def _trades(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    rng = slots.get("date_range")
    if rng:  # slots are kept as JSON, so the dates are ISO strings
        start, end = date.fromisoformat(rng["start"]), date.fromisoformat(rng["end"])
    else:
        end = turn.now.date()
        start = end - timedelta(days=29)
    items = turn.tools()["get_trades"].invoke({"start": start, "end": end})
    if slots.get("security"):
        items = [t for t in items if t.code == slots["security"]["code"]]
    return turn.reply("trade_history", "run_tool", T.trades_text(items, start, end), data={"trades": items})


def _quote(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    q = turn.tools()["get_quote"].invoke({"code": slots["security"]["code"]})
    return turn.reply("market_quote", "run_tool", T.quote_text(q), data=q)


def _opening(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    a = turn.tools()["get_account_opening_status"].invoke({})
    return turn.reply("account_opening_status", "run_tool", T.opening_text(a), data=a)


def _risk(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    r = turn.tools()["get_risk_profile"].invoke({})
    return turn.reply("risk_assessment", "run_tool", T.risk_text(r), data=r)


ACCOUNT_BALANCE = Flow("account_balance", (Step("report", _balance),), needs_sign_in=True)
POSITIONS = Flow("positions", (Step("report", _positions),), needs_sign_in=True)
ORDER_STATUS = Flow("order_status", (Step("report", _orders),), needs_sign_in=True)
TRADE_HISTORY = Flow("trade_history", (Step("report", _trades),), needs_sign_in=True)
ACCOUNT_OPENING_STATUS = Flow("account_opening_status", (Step("report", _opening),), needs_sign_in=True)
RISK_PROFILE = Flow("risk_assessment", (Step("report", _risk),), needs_sign_in=True)
MARKET_QUOTE = Flow("market_quote", (
    Collect("security", lambda turn, slots: which_security(slots, "查询行情", turn)),
    Step("confirm_sound_alike", lambda turn, state, slots: confirm_sound_alike(turn, state, "market_quote", slots)),
    Step("report", _quote),
))
