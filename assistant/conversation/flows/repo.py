"""国债逆回购: which tenor, how much (and which exchange) → checks → preview → (yes) → lend.

Shanghai (GC001…) unless the customer names Shenzhen or an R- code; the preview says which, with
the rate, the days the cash is actually lent, the interest and the fee, so "10万的1天期" is never
anything but a repo, and nothing is lent without the customer's explicit yes.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from assistant.compliance import check_purchase
from assistant.conversation import templates as T
from assistant.conversation.flows.base import (
    Collect,
    Flow,
    Step,
    account_active,
    refuse,
)
from assistant.conversation.flows.orders import CONFIRM_TTL, write_ahead
from assistant.conversation.store import DialogueState, PendingAction
from assistant.conversation.turn import TurnContext, pending_out
from assistant.domain import Reply
from assistant.tools import BrokerageError
from assistant.tools import repo as R

_SHENZHEN = re.compile(r"深市|深圳|深交所|R-?\d{3}", re.I)
_SHANGHAI = re.compile(r"沪市|上海|上交所|GC\d{3}", re.I)
REPO_KEYS = ("repo_code", "tenor_days", "amount", "exchange")


def repo_slots(slots: dict, text: str = "") -> dict:
    """The repo terms a turn gives: a named code fixes tenor and exchange."""
    out = {k: v for k, v in slots.items() if k in REPO_KEYS and v}
    code = out.get("repo_code")
    if code:
        product = R.BY_CODE[code]
        out.update(tenor_days=product.tenor_days, exchange=product.exchange)
    elif _SHENZHEN.search(text):
        out["exchange"] = "SZ"
    elif _SHANGHAI.search(text):
        out["exchange"] = "SH"
    return out


def _product(slots: dict) -> R.RepoProduct | None:
    return R.product(slots.get("exchange") or "SH", int(slots["tenor_days"]))


def _check(turn: TurnContext, state: DialogueState, slots: dict) -> Reply | None:
    tenor, amount = int(slots["tenor_days"]), Decimal(str(slots["amount"]))
    if tenor not in R.TENORS:
        state.last_slots = {k: v for k, v in slots.items() if k != "tenor_days"}
        return refuse(turn, state, "reverse_repo", f"国债逆回购没有 {tenor} 天期的品种。沪深两市均有 1、2、3、4、7、14、28、91、"
                      "182 天期，请告诉我要借出几天。", slots=slots)
    reasons = []
    if problem := R.amount_problem(amount):
        reasons.append(problem)
    is_open, next_open = R.session_open(turn.now)
    if not is_open:
        reasons.append(f"现在不在国债逆回购的交易时间（交易日 9:30–11:30、13:00–15:30），下一个交易时段从 "
                       f"{next_open:%m月%d日 %H:%M} 开始，届时可再来办理。")
    brokerage = turn.services.brokerage
    profile = brokerage.customer(turn.customer_id)
    if profile.status != "active":
        reasons.append("您的账户尚未开通完成，暂不能交易；开户审核通过后即可办理。")
    else:
        risk = brokerage.risk_profile(turn.customer_id)
        reasons += [i.message for i in check_purchase(customer_level=risk.level, assessment_expired=risk.expired,
                                                      product_risk="R1", board="main", permissions=profile.permissions,
                                                      security_label="国债逆回购")]
        available = brokerage.balance(turn.customer_id).available
        fee = R.fee(amount, tenor)
        if not reasons and amount + fee > available:
            reasons.append(f"可用资金不足：借出 {T.yuan(amount)} 另需手续费约 {T.yuan(fee)}，您的可用资金为 {T.yuan(available)}。")
    if reasons:
        text = "这笔国债逆回购暂时无法办理：\n" + "\n".join(f"· {r}" for r in reasons)
        return refuse(turn, state, "reverse_repo", text, reasons=reasons, slots=slots)
    return None


def _preview(turn: TurnContext, state: DialogueState, slots: dict) -> Reply:
    product = _product(slots)
    amount = Decimal(str(slots["amount"]))
    rate = turn.services.brokerage.repo_rate(product.code)
    first, maturity, days = R.settlement(turn.now.date(), product.tenor_days)
    interest, fee = R.interest(amount, rate, days), R.fee(amount, product.tenor_days)
    summary = f"借出 {T.yuan(amount)}，{product.name}（{product.code}），年化约 {rate}%"
    other = "深市 R-" if product.exchange == "SH" else "沪市 GC"
    lines = [
        "请核对以下国债逆回购委托：",
        f"品种：{product.label}",
        "方向：借出资金（交易软件中为“卖出”）",
        f"金额：{T.yuan(amount)}",
        f"年化利率：约 {rate}%{T.SIM_NOTE}，以成交时为准",
        f"计息天数：{days} 天（{first:%m月%d日}起息，{maturity:%m月%d日}到期，资金到期当日可用、下一交易日可取）",
        f"预估利息：{T.yuan(interest)}（{T.yuan(amount)} × {rate}% × {days} ÷ 365），手续费约 {T.yuan(fee)}",
    ]
    if not slots.get("exchange"):
        lines.append(f"（默认按沪市办理；如需{other}品种，请告诉我。）")
    lines.append("确认借出请回复“确认”（2 分钟内有效），取消请回复“取消”。")
    pending = PendingAction(kind="reverse_repo", slots=slots, request={"code": product.code, "amount": str(amount)},
                            summary=summary, readback=summary,
                            idempotency_key=f"{turn.conversation.id}:{uuid.uuid4().hex[:16]}",
                            created_at=turn.now, expires_at=turn.now + CONFIRM_TTL)
    state.pending_action, state.last_refusal = pending, None
    turn.record("confirmation", stage="requested", kind="reverse_repo", summary=summary,
                idempotency_key=pending.idempotency_key, request=pending.request)
    data = {"kind": "reverse_repo", "code": product.code, "name": product.name, "tenor_days": product.tenor_days,
            "days": days, "amount": str(amount), "rate": str(rate), "interest": str(interest), "fee": str(fee)}
    return turn.reply("reverse_repo", "confirm", "\n".join(lines), data=data, pending=pending_out(pending))


def execute(turn: TurnContext, state: DialogueState, pending: PendingAction) -> Reply:
    write_ahead(turn, pending)
    brokerage = turn.services.brokerage
    try:
        order = brokerage.find_order(turn.customer_id, pending.idempotency_key) or \
            brokerage.place_repo(turn.customer_id, pending.request["code"], Decimal(pending.request["amount"]),
                                 pending.idempotency_key)
    except BrokerageError as exc:
        return refuse(turn, state, "reverse_repo", f"国债逆回购没有提交：{exc.message}", slots=pending.slots)
    turn.record("order", operation="place", order_id=order.order_id, code=order.code, side=order.side,
                quantity=order.quantity, status=order.status, idempotency_key=pending.idempotency_key)
    state.last_intent, state.last_slots = "reverse_repo", {}
    state.last_order = {"order_id": order.order_id, "at": turn.now.isoformat()}
    return turn.reply("confirm", "run_tool", f"委托已提交并成交：{T.order_line(order)}。到期后本金和利息自动回到您的账户。",
                      data=order)


REVERSE_REPO = Flow(
    name="reverse_repo",
    needs_sign_in=True,
    steps=(
        Step("account_active", account_active),
        Collect("tenor_days", lambda turn, slots: "请问借出几天？国债逆回购有 1、2、3、4、7、14、28、91、182 天期。"),
        Collect("amount", lambda turn, slots: "请问借出多少钱？1,000 元起，须为 1,000 元的整数倍，例如“10万”。"),
        Step("check", _check),
        Step("preview", _preview),
    ),
    execute=execute,
)
