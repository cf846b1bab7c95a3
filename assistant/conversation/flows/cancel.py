"""Cancelling an open order: which order → preview of the cancellation → (yes) → cancel."""

from __future__ import annotations

import uuid

from assistant.conversation import templates as T
from assistant.conversation.flows.base import Flow, Step, refuse
from assistant.conversation.flows.orders import CONFIRM_TTL, write_ahead
from assistant.conversation.store import DialogueState, PendingAction, PendingSlot
from assistant.conversation.turn import TurnContext, pending_out
from assistant.domain import Reply
from assistant.tools import BrokerageError


def _choose_and_preview(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    label = "cancel_order"
    open_orders = turn.tools()["get_orders"].invoke({"status": "open", "today_only": False})
    if slots.get("order_id"):
        chosen = [o for o in open_orders if o.order_id == slots["order_id"]]
        if not chosen:
            listing = ("您当前未成交的委托：\n" + "\n".join(T.order_line(o) for o in open_orders)) if open_orders else ""
            return turn.reply(label, "run_tool",
                              f"没有找到您可撤的委托 {slots['order_id']}（可能已成交、已撤销或编号有误）。" + listing)
    else:
        chosen = open_orders
        if slots.get("security"):
            chosen = [o for o in open_orders if o.code == slots["security"]["code"]]
        if not chosen:
            what = f"{slots['security']['name']}的" if slots.get("security") else ""
            today = turn.tools()["get_orders"].invoke({"status": None, "today_only": True})
            if slots.get("security"):
                today = [o for o in today if o.code == slots["security"]["code"]]
            if today:  # say what became of them: filled orders cannot be withdrawn
                reason = "今天的委托已全部成交或已撤销，已成交的委托无法撤销：\n" + "\n".join(T.order_line(o) for o in today)
                return refuse(turn, state, label, f"您目前没有可以撤销的{what}未成交委托。{reason}", reasons=[reason],
                              data={"orders": today})
            return turn.reply(label, "run_tool", f"您目前没有可以撤销的{what}未成交委托。")
        if len(chosen) > 1:
            state.pending_slot = PendingSlot(intent=label, slot="order_id", slots=slots)
            return turn.reply(label, "ask_for_slot", "您有多笔未成交委托，请告诉我要撤销哪一笔的委托号：\n"
                              + "\n".join(T.order_line(o) for o in chosen))
    order = chosen[0]
    line = T.order_line(order)
    pending = PendingAction(kind="cancel_order", order_id=order.order_id, summary=line, readback=f"撤销委托 {line}",
                            idempotency_key=f"{turn.conversation.id}:{uuid.uuid4().hex[:16]}",
                            created_at=turn.now, expires_at=turn.now + CONFIRM_TTL)
    state.pending_action = pending
    turn.record("confirmation", stage="requested", kind="cancel_order", summary=pending.summary,
                idempotency_key=pending.idempotency_key, order_id=order.order_id)
    return turn.reply(label, "confirm",
                      f"请确认撤销以下委托：\n{line}\n确认撤单请回复“确认”（2 分钟内有效），不撤请回复“取消”。",
                      pending=pending_out(pending), data=order)


def execute(turn: TurnContext, state: DialogueState, pending: PendingAction) -> Reply:
    write_ahead(turn, pending)
    try:
        order = turn.tools()["cancel_order"].invoke({"order_id": pending.order_id})
    except BrokerageError as exc:
        return turn.reply("confirm", "run_tool", f"撤单没有办理：{exc.message}")
    turn.record("order", operation="cancel", order_id=order.order_id, code=order.code, status=order.status)
    state.last_intent, state.last_slots = "cancel_order", {}
    return turn.reply("confirm", "run_tool", f"已为您撤单：{T.order_line(order)}。", data=order)


CANCEL_ORDER = Flow(name="cancel_order", needs_sign_in=True, steps=(Step("preview", _choose_and_preview),),
                    execute=execute)
