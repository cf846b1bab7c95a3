"""Placing an order: which security, which side, how many, at what price → preview → (yes) → place.

The preview runs every check the broker would (session, lots, price band, cash or shares,
suitability); a failed check is a refusal the customer can ask about or correct. Only the
customer's explicit yes, decided by the policy, reaches `execute`, which checks everything
again and places the order once under its idempotency key.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

from assistant.conversation import templates as T
from assistant.conversation.flows.base import (
    Collect,
    Flow,
    Step,
    account_active,
    refuse,
)
from assistant.conversation.store import DialogueState, PendingAction, PendingSecurity
from assistant.conversation.turn import TurnContext, pending_out
from assistant.domain import Reply
from assistant.tools import BrokerageError, OrderDraft, OrderRequest

CONFIRM_TTL = timedelta(minutes=2)
ORDER_KEYS = ("security", "side", "quantity", "quantity_mode", "price_type", "price")


def order_slots(slots: dict) -> dict:
    return {k: v for k, v in slots.items() if k in ORDER_KEYS}


def which_security(slots: dict, purpose: str, turn: TurnContext | None = None) -> str:
    candidates = slots.get("security_candidates") or []
    if candidates:
        names = "、".join(f"{c['name']}（{c['code']}）" for c in candidates[:4])
        return f"您说的可能是以下几只证券：{names}。请问您要{purpose}的是哪一只？请回复名称或 6 位代码。"
    partial = turn.services.master.partial(turn.text) if turn is not None else []
    if partial:  # "招商" names no security exactly: offer the ones it starts, never pick one
        names = "、".join(s.label for s in partial)
        return f"请问您要{purpose}的是哪一只：{names}？请回复名称或 6 位代码。"
    return f"请问您要{purpose}的是哪只证券？可以告诉我名称或 6 位代码。"


def _vague_security(turn: TurnContext, slots: dict) -> bool:
    """The customer named something, but not one security exactly: the question is a clarification."""
    return bool(slots.get("security_candidates")) or bool(turn.services.master.partial(turn.text))


def confirm_sound_alike(turn: TurnContext, state: DialogueState, intent: str, slots: dict) -> Reply | None:
    """A security found only by its sound (毛台 → 贵州茅台) is confirmed by name and code before
    anything is done with it; `None` when the security was named exactly."""
    security = slots.get("security")
    if not security or security.get("match") != "pinyin":
        return None
    state.pending_security = PendingSecurity(intent=intent, slots=slots)
    return turn.reply(intent, "clarify",
                      f"请确认一下证券：您说的“{security['mention']}”是{security['name']}（{security['code']}）吗？"
                      "是的话请回复“是”，不是请告诉我正确的名称或 6 位代码。")


# Well-known securities listed outside our markets: named, they are answered with what we can and cannot do.
_ABROAD = re.compile(r"腾讯|美团|阿里巴巴|阿里|京东|小米|快手|网易|百度|拼多多|苹果|特斯拉|英伟达|微软|谷歌|亚马逊|港股|美股")


def _cannot_trade_abroad(turn: TurnContext, state: DialogueState, slots: dict) -> Reply | None:
    if slots.get("security") or slots.get("security_candidates") or not _ABROAD.search(turn.text):
        return None
    return refuse(turn, state, "place_order",
                  "这只证券不在沪深北交易所上市，我不能为您下单。本服务可以交易沪深北 A 股和场内基金。"
                  "港股可以通过港股通买卖（需开通港股通权限：前 20 个交易日日均资产不低于 50 万元等），开通后在 App"
                  "「交易—港股通」自行下单；美股目前不能通过本公司交易。")


def _ask_quantity(turn: TurnContext, slots: dict) -> str:
    security, side = slots["security"], slots["side"]
    unit = {"star": "科创板单笔不少于 200 股", "bse": "北交所单笔不少于 100 股"}.get(security.get("board", ""),
                                                                                 "以 100 股为一手")
    return f"请问{T.SIDE[side]}{security['name']}多少股？（{unit}）"


def _ask_price(turn: TurnContext, slots: dict) -> str:
    security, side = slots["security"], slots["side"]
    q = turn.services.brokerage.quote(security["code"])
    session = turn.services.brokerage.session_status()
    text = (f"请问按什么价格{T.SIDE[side]}？{security['name']}现价 {T.price(q.last)} 元{T.SIM_NOTE}。"
            f"您可以说一个限价（例如“{T.price(q.last)}元”）")
    if session.open:
        return text + "，或者说“市价”。"
    return text + f"。现在不在交易时间（{session.reason}），只能提交限价委托作为预埋单，于下一交易时段开始时报送。"


def _check_security(turn: TurnContext, state: DialogueState, slots: dict) -> Reply | None:
    return confirm_sound_alike(turn, state, "place_order", slots)


_BARE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d.]|\s*(?:股|手|元|块|万|千|天|%|％|号|日|月|点|分|秒))")


def _read_bare_numbers(turn: TurnContext, state: DialogueState, slots: dict) -> Reply | None:
    """A trader's "茅台1400买100", "招行 43 买3手": numbers with no unit, read against the quote. One
    near today's price range is the limit price; a whole number of lots out of it is the quantity. A
    number that could be either is left for the question. The preview shows what was read."""
    if slots.get("price_type") and _has_quantity(slots):
        return None
    security = slots["security"]
    numbers = [Decimal(m.group(1)) for m in _BARE.finditer(turn.text) if m.group(1) != security["code"]]
    numbers = [n for n in numbers if n not in (Decimal(str(slots.get("quantity") or -1)),)]
    if not numbers:
        return None
    q = turn.services.brokerage.quote(security["code"])
    lot = 200 if security.get("board") == "star" else 100

    def price_like(n: Decimal) -> bool:
        return q.limit_down * Decimal("0.9") <= n <= q.limit_up * Decimal("1.1")

    def lots_like(n: Decimal) -> bool:
        return n == n.to_integral_value() and n >= lot and (security.get("board") in ("star", "bse") or n % 100 == 0)

    for n in numbers:
        if not slots.get("price_type") and price_like(n) and (not lots_like(n) or _has_quantity(slots)):
            slots.update(price_type="limit", price=str(n))
        elif not _has_quantity(slots) and lots_like(n) and (not price_like(n) or slots.get("price_type")):
            slots.update(quantity=int(n), quantity_mode="shares")
    return None


def _check_holding(turn: TurnContext, state: DialogueState, slots: dict) -> Reply | None:
    """A sale of a security not held is refused before the price is asked."""
    if slots.get("side") != "sell":
        return None
    held = next((p for p in turn.tools()["get_positions"].invoke({}) if p.code == slots["security"]["code"]), None)
    if held is not None:
        return None
    name = slots["security"]["name"]
    return refuse(turn, state, "place_order", f"您的账户没有{name}的持仓（可卖数量为 0），无法卖出。可以问我“我的持仓”查看持有的证券。",
                  slots=order_slots(slots))


def _preview(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    security = slots["security"]
    draft = OrderDraft(
        code=security["code"], side=slots["side"],
        quantity=slots.get("quantity") if slots.get("quantity_mode", "shares") == "shares" else None,
        quantity_mode=slots.get("quantity_mode") or "shares",
        price_type=slots["price_type"], price=Decimal(str(slots["price"])) if slots.get("price") else None,
    )
    preview = turn.tools()["preview_order"].invoke(draft.model_dump())
    prefix = slots.get("_prefix", "")
    if not preview.ok:
        return refuse(turn, state, "place_order", prefix + T.preview_problems_text(preview), reasons=preview.problems,
                      slots=order_slots(slots), data=preview)
    state.last_refusal = None
    summary = (f"{T.SIDE[preview.request.side]} {preview.name}（{preview.request.code}）{preview.request.quantity} 股，"
               + ("市价" if preview.request.price_type == "market" else f"限价 {T.price(preview.request.limit_price)} 元"))
    pending = PendingAction(
        kind="place_order", slots=order_slots(slots), draft=draft.model_dump(mode="json"),
        request=preview.request.model_dump(mode="json"), summary=summary, readback=summary,
        idempotency_key=f"{turn.conversation.id}:{uuid.uuid4().hex[:16]}",
        created_at=turn.now, expires_at=turn.now + CONFIRM_TTL,
    )
    state.pending_action = pending
    turn.record("confirmation", stage="requested", kind="place_order", summary=pending.summary,
                idempotency_key=pending.idempotency_key, request=pending.request)
    return turn.reply("place_order", "confirm", prefix + T.preview_text(preview), data=preview,
                      pending=pending_out(pending))


def write_ahead(turn: TurnContext, pending: PendingAction) -> None:
    """The request is in the audit trail (with the turn so far) before the broker sees it, so no
    order can exist that the trail does not show, whatever happens next."""
    turn.record("order", operation="submit", kind=pending.kind, order_id=pending.order_id,
                idempotency_key=pending.idempotency_key)
    turn.services.audit.append(turn.audit, turn.now)
    turn.audit.clear()


def execute(turn: TurnContext, state: DialogueState, pending: PendingAction) -> Reply:
    tools = turn.tools()
    write_ahead(turn, pending)
    try:
        # A retried 确认 after a crash finds the order the first one placed, instead of checking
        # again against the cash that order already spent.
        order = turn.services.brokerage.find_order(turn.customer_id, pending.idempotency_key)
        if order is None:
            # Everything is checked again: the price or the session may have changed since the preview.
            preview = tools["preview_order"].invoke(pending.draft)
            if not preview.ok:
                return refuse(turn, state, "place_order", "委托没有提交。" + T.preview_problems_text(preview),
                              reasons=preview.problems, slots=pending.slots, data=preview)
            order = tools["place_order"].invoke({"request": OrderRequest.model_validate(pending.request),
                                                 "idempotency_key": pending.idempotency_key})
    except BrokerageError as exc:
        return refuse(turn, state, "place_order", f"委托没有提交：{exc.message}", slots=pending.slots)
    turn.record("order", operation="place", order_id=order.order_id, code=order.code, side=order.side,
                quantity=order.quantity, price_type=order.price_type, limit_price=order.limit_price,
                status=order.status, idempotency_key=pending.idempotency_key)
    state.last_intent, state.last_slots = "place_order", {}
    state.last_order = {"order_id": order.order_id, "at": turn.now.isoformat(), "side": order.side,
                        "price_type": order.price_type}
    return turn.reply("confirm", "run_tool", T.order_placed_text(order), data=order)


def _has_quantity(slots: dict) -> bool:
    return bool(slots.get("quantity")) or slots.get("quantity_mode") in ("all", "half", "third")


PLACE_ORDER = Flow(
    name="place_order",
    needs_sign_in=True,
    steps=(
        Step("account_active", account_active),
        Collect("security", lambda turn, slots: which_security(slots, "交易", turn),
                action=lambda turn, slots: "clarify" if _vague_security(turn, slots) else "ask_for_slot"),
        Step("read_bare_numbers", _read_bare_numbers),  # before any question, so the answer keeps them
        Step("confirm_sound_alike", _check_security),
        Collect("side", lambda turn, slots: f"请问您要买入还是卖出{slots['security']['name']}？"),
        Step("check_holding", _check_holding),
        Collect("quantity", _ask_quantity, filled=_has_quantity),
        Collect("price", _ask_price, filled=lambda slots: bool(slots.get("price_type"))),
        Step("preview", _preview),
    ),
    execute=execute,
    before_sign_in=(Step("cannot_trade_abroad", _cannot_trade_abroad),),
)
