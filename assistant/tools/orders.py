"""Order previews: every check an order must pass before the customer is asked to confirm.

The preview answers "what exactly would be sent, what would it cost, and may it be sent?".
The same preview is run again at confirmation (prices move, the session may have closed), and
only a clean preview is placed, once, under its idempotency key.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from assistant.compliance import check_purchase
from assistant.nlu import SecurityMaster
from assistant.tools.brokerage import Brokerage, BrokerageError, OrderRequest
from assistant.tools.trading_rules import (
    CENT,
    affordable_quantity,
    band,
    estimate_fees,
    lot_problem,
    round_lot_down,
    continuous_trading,
    round_price,
)


class OrderDraft(BaseModel):
    """What the customer asked for, before the checks; the slots of a place_order turn."""

    code: str
    side: Literal["buy", "sell"]
    quantity: int | None = Field(default=None, gt=0)
    quantity_mode: Literal["shares", "all", "half", "third"] | None = None
    price_type: Literal["limit", "market", "limit_up", "limit_down"]
    price: Decimal | None = None


class OrderPreview(BaseModel):
    draft: OrderDraft
    request: OrderRequest | None = Field(description="what would be sent; None when a check failed")
    name: str
    board: str
    risk_level: str
    customer_level: str | None = Field(default=None, description="the buyer's risk level, for the suitability line")
    last_price: Decimal
    limit_up: Decimal
    limit_down: Decimal
    est_price: Decimal
    est_amount: Decimal
    est_fees: Decimal
    problems: list[str] = Field(description="why it cannot be placed, each with what to do")
    risk_notes: list[str]

    @property
    def ok(self) -> bool:
        return self.request is not None and not self.problems


_WEEKDAYS = "一二三四五六日"


def _fmt_time(dt) -> str:
    """"11月30日（周一）9:15": the day a customer plans by, not a timestamp."""
    return f"{dt.month}月{dt.day}日（周{_WEEKDAYS[dt.weekday()]}）{dt.hour}:{dt.minute:02d}"


class OrderDesk:
    def __init__(self, brokerage: Brokerage, master: SecurityMaster) -> None:
        self.brokerage = brokerage
        self.master = master

    def preview(self, customer_id: str, draft: OrderDraft) -> OrderPreview:
        sec = self.master.get(draft.code)
        if sec is None:
            raise BrokerageError("unknown_security", f"未找到证券代码 {draft.code}。")
        q = self.brokerage.quote(sec.code)
        problems: list[str] = []
        notes: list[str] = []

        profile = self.brokerage.customer(customer_id)
        if profile.status != "active":
            problems.append("您的开户申请还在审核中，账户开通前不能交易；审核进度可以问我“开户进度”。")
        session = self.brokerage.session_status()
        continuous = continuous_trading(self.brokerage.now())
        if session.open and draft.price_type == "market" and not continuous:
            problems.append("现在是集合竞价时段，只接受限价委托，市价委托请在 9:30 连续竞价开始后提交；也可以改为限价委托。")
        if not session.open:
            # Our App's 预埋单: a limit order is held and sent when the next session opens; a market
            # order has no price to hold, so it waits for continuous trading.
            if draft.price_type == "market":
                problems.append(
                    f"现在不在交易时间（{session.reason}），市价委托只在连续竞价时段受理。您可以改为限价委托作为预埋单，"
                    f"于 {_fmt_time(session.next_open)} 开市时报送交易所；或在开市后再用市价下单。"
                )
            else:
                notes.append(f"现在不在交易时间（{session.reason}），这笔委托将作为预埋单，于 {_fmt_time(session.next_open)} "
                             "开市时报送交易所，报送前可以撤单；开市后按价格优先、时间优先的原则撮合，不保证成交。")

        if draft.price_type == "market":
            est_price = q.last
            notes.append("市价委托按成交时的市场价格成交，成交价可能与当前价格不同。")
        elif draft.price_type == "limit_up":
            est_price = q.limit_up
        elif draft.price_type == "limit_down":
            est_price = q.limit_down
        else:
            est_price = draft.price or Decimal("0")
            if round_price(sec, est_price) != est_price:
                problems.append(f"委托价格的最小变动单位是 {'0.001' if sec.kind == 'etf' else '0.01'} 元，请调整价格。")
            if not (q.limit_down <= est_price <= q.limit_up):
                problems.append(
                    f"委托价格 {est_price} 元超出今日涨跌幅限制，{sec.name}今日可委托价格范围为 "
                    f"{q.limit_down}–{q.limit_up} 元。"
                )

        # A sale is limited by the shares held, a purchase by cash: read only the one that applies
        # (each read values the whole account at current prices).
        held = sellable = 0
        available = Decimal("0")
        if draft.side == "sell":
            position = next((p for p in self.brokerage.positions(customer_id) if p.code == sec.code), None)
            if position is not None:
                held, sellable = position.quantity, position.sellable
        else:
            available = self.brokerage.balance(customer_id).available

        quantity = draft.quantity or 0
        if draft.quantity_mode in ("all", "half", "third"):
            base = sellable if draft.side == "sell" else \
                (affordable_quantity(sec, available, est_price) if est_price > 0 else 0)
            quantity, note = fraction_of(sec, draft.side, draft.quantity_mode, base, held)
            if note:
                notes.insert(0, note)
            if quantity <= 0:
                problems.append("按您的" + ("可卖数量" if draft.side == "sell" else "可用资金") + "计算，可委托数量不足一个交易单位。")

        if quantity > 0 and (problem := lot_problem(sec, draft.side, quantity, held)):
            problems.append(problem)

        amount = (est_price * quantity).quantize(CENT)
        fees = estimate_fees(sec, draft.side, amount).total if quantity else Decimal("0.00")
        if quantity > 0 and draft.side == "buy" and amount + fees > available:
            most = affordable_quantity(sec, available, est_price) if est_price > 0 else 0
            problems.append(
                f"可用资金不足：本次约需 {amount + fees:,.2f} 元（含费用），您的可用资金为 {available:,.2f} 元"
                + (f"，按此价格最多可买 {most} 股。" if most else "。")
                + "如需入金，请在 App「交易—银证转账」办理。"
            )
        if quantity > 0 and draft.side == "sell" and quantity > sellable:
            if held == 0:
                problems.append(f"您的账户没有{sec.name}的持仓，无法卖出。")
            else:
                problems.append(
                    f"可卖数量不足：您持有{sec.name} {held} 股，其中可卖 {sellable} 股"
                    "（当日买入的股票下一交易日才能卖出，已挂卖单的数量也不能重复卖出）。"
                )

        customer_level = None
        if draft.side == "buy" and profile.status == "active":
            risk = self.brokerage.risk_profile(customer_id)
            customer_level = risk.level
            for issue in check_purchase(customer_level=risk.level, assessment_expired=risk.expired,
                                        product_risk=sec.risk_level, board=sec.board,
                                        permissions=profile.permissions, security_label=sec.name):
                problems.append(issue.message)
            if sec.is_st:
                notes.append(f"{sec.name}为风险警示股票，存在退市风险；涨跌幅限制为 {band(sec) * 100:.0f}%"
                             "（沪深主板自 2025 年 7 月 7 日起由 5% 调整为 10%）。")
            if sec.board in ("star", "chinext", "bse"):
                notes.append(f"{sec.board_name}股票涨跌幅限制更宽，价格波动风险较大。")
        notes.append("行情为模拟数据，仅供演示；实际成交价以交易所撮合结果为准。")

        request = None
        if not problems and quantity > 0:
            request = OrderRequest(
                code=sec.code, side=draft.side, quantity=quantity,
                price_type="market" if draft.price_type == "market" else "limit",
                limit_price=None if draft.price_type == "market" else est_price,
            )
        return OrderPreview(
            draft=draft, request=request, name=sec.name, board=sec.board, risk_level=sec.risk_level,
            customer_level=customer_level, last_price=q.last, limit_up=q.limit_up, limit_down=q.limit_down, est_price=est_price,
            est_amount=amount, est_fees=fees, problems=problems, risk_notes=notes,
        )


_FRACTIONS = {"half": (2, "一半"), "third": (3, "三分之一")}


def fraction_of(sec, side: str, mode: str, base: int, held: int) -> tuple[int, str]:
    """Shares for 全部 / 一半 / 三分之一 of `base` (sellable shares, or what the cash buys), rounded
    down to whole lots, with the sentence that says how. Selling everything may include an odd lot
    (零股, fewer than 100 shares), which can only be sold all at once."""
    what = "可卖数量" if side == "sell" else "可用资金可买数量"
    if mode == "all":
        return base, (f"“全部”按您的{what} {base} 股计算。" if base else "")
    parts, word = _FRACTIONS[mode]
    exact = base // parts
    quantity = round_lot_down(sec, exact)
    if quantity == exact:
        return quantity, f"“{word}”按您的{what} {base} 股计算为 {quantity} 股。"
    unit = {"star": "200 股起、以 1 股递增", "bse": "100 股起、以 1 股递增"}.get(sec.board, "100 股（一手）的整数倍")
    note = f"“{word}”按您的{what} {base} 股计算为 {base / parts:g} 股，委托数量须为{unit}，已向下取整为 {quantity} 股。"
    if side == "sell" and held % 100:
        note += "不足 100 股的零股只能一次性全部卖出。"
    return quantity, note
