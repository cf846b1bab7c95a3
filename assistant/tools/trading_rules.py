"""Exchange and house rules an order must meet: sessions, lot sizes, price bands, ticks, fees.

Figures from our fact sheet (knowledge_base/README.md, as of 2025): price limits 10% main board
(risk-warning ST/*ST stocks too, since the exchanges' 2025-07-07 change from 5%), 20% ChiNext/STAR,
30% BSE; lots of 100 shares, STAR at least 200 then
steps of 1, BSE at least 100 then steps of 1; odd lots only sold, all at once. Commission
0.025% (min 5 yuan) on A shares, 0.01% (min 0.2 yuan) on ETFs; stamp duty 0.05% on stock
sales only; transfer fee 0.001% both ways on stocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from assistant.nlu import Security
from assistant.tools.calendar import xshg

SHANGHAI = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")

# Order entry: the opening call auction from 9:15, continuous trading, the closing auction.
MORNING = (time(9, 15), time(11, 30))
AFTERNOON = (time(13, 0), time(15, 0))


def is_trading_day(day: date) -> bool:
    return xshg().is_session(day)


def next_trading_day(day: date) -> date:
    d = day + timedelta(days=1)
    while not is_trading_day(d):
        d += timedelta(days=1)
    return d


def previous_trading_days(day: date, n: int) -> list[date]:
    """The n trading days before `day`, oldest first."""
    out = []
    d = day
    while len(out) < n:
        d -= timedelta(days=1)
        if is_trading_day(d):
            out.append(d)
    return list(reversed(out))


@dataclass(frozen=True)
class SessionCheck:
    open: bool
    next_open: datetime
    reason: str


def session_check(now: datetime) -> SessionCheck:
    local = now.astimezone(SHANGHAI)
    today, t = local.date(), local.time()

    def at(day: date, when: time) -> datetime:
        return datetime.combine(day, when, SHANGHAI)

    if is_trading_day(today):
        if MORNING[0] <= t < MORNING[1] or AFTERNOON[0] <= t < AFTERNOON[1]:
            return SessionCheck(True, local, "")
        if t < MORNING[0]:
            return SessionCheck(False, at(today, MORNING[0]), "尚未开盘")
        if MORNING[1] <= t < AFTERNOON[0]:
            return SessionCheck(False, at(today, AFTERNOON[0]), "午间休市")
        return SessionCheck(False, at(next_trading_day(today), MORNING[0]), "今日已收盘")
    return SessionCheck(False, at(next_trading_day(today), MORNING[0]), "今天不是交易日")


def continuous_trading(when: datetime) -> bool:
    """Continuous trading (9:30–11:30, 13:00–14:57), the only time a market order is taken; the call
    auctions take limit orders only."""
    local = when.astimezone(SHANGHAI)
    t = local.time()
    return is_trading_day(local.date()) and (time(9, 30) <= t < time(11, 30) or time(13, 0) <= t < time(14, 57))


def session_day(when: datetime) -> date:
    """The trading day an order placed at `when` is for: today's during or before today's session,
    the next trading day's after the close, at weekends and on holidays (a 预埋单)."""
    check = session_check(when)
    return when.astimezone(SHANGHAI).date() if check.open else check.next_open.date()


def band(security: Security) -> Decimal:
    """The daily price limit. A risk-warning stock has its board's limit (main board 10% since
    2025-07-07, when the SSE and SZSE raised it from 5%)."""
    return {"chinext": Decimal("0.20"), "star": Decimal("0.20"), "bse": Decimal("0.30")}.get(security.board, Decimal("0.10"))


def tick(security: Security) -> Decimal:
    return Decimal("0.001") if security.kind == "etf" else CENT


def round_price(security: Security, price: Decimal) -> Decimal:
    return price.quantize(tick(security), rounding=ROUND_HALF_UP)


def limit_prices(security: Security, prev_close: Decimal) -> tuple[Decimal, Decimal]:
    b = band(security)
    return round_price(security, prev_close * (1 + b)), round_price(security, prev_close * (1 - b))


def lot_problem(security: Security, side: str, quantity: int, held: int = 0) -> str | None:
    """Why `quantity` is not a valid order size, or None."""
    if quantity <= 0:
        return "委托数量须大于 0。"
    if security.board == "star":
        if quantity >= 200:
            return None
        if side == "sell" and quantity == held:
            return None
        return "科创板股票单笔申报数量不得少于 200 股，超过 200 股的部分可按 1 股递增。"
    if security.board == "bse":
        if quantity >= 100 or (side == "sell" and quantity == held):
            return None
        return "北交所股票单笔申报数量不得少于 100 股，超过部分可按 1 股递增。"
    if quantity % 100 == 0:
        return None
    if side == "sell" and quantity == held % 100 and held % 100:
        return None  # selling the odd lot, all of it at once
    if side == "sell" and quantity == held:
        return None
    if side == "sell":
        return "卖出须以 100 股（1 手）为单位；不足 100 股的零股须一次性全部卖出。"
    return "买入须以 100 股（1 手）为单位，例如 100 股、200 股。"


def round_lot_down(security: Security, quantity: int) -> int:
    """The largest valid buy size not above `quantity` (for 一半 / 全部 of a cash amount)."""
    if security.board in ("star", "bse"):
        minimum = 200 if security.board == "star" else 100
        return quantity if quantity >= minimum else 0
    return quantity // 100 * 100


@dataclass(frozen=True)
class Fees:
    commission: Decimal
    stamp_duty: Decimal
    transfer_fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.commission + self.stamp_duty + self.transfer_fee


def estimate_fees(security: Security, side: str, amount: Decimal) -> Fees:
    def money(x: Decimal) -> Decimal:
        return x.quantize(CENT, rounding=ROUND_HALF_UP)

    if security.kind == "etf":
        return Fees(max(money(amount * Decimal("0.0001")), Decimal("0.20")), Decimal("0"), Decimal("0"))
    commission = max(money(amount * Decimal("0.00025")), Decimal("5.00"))
    stamp = money(amount * Decimal("0.0005")) if side == "sell" else Decimal("0")
    transfer = money(amount * Decimal("0.00001"))
    return Fees(commission, stamp, transfer)


def affordable_quantity(security: Security, cash: Decimal, price: Decimal) -> int:
    """Most shares that cash buys at price, fees included, rounded to a valid lot."""
    if price <= 0:
        return 0
    qty = int((cash / (price * Decimal("1.0003"))).to_integral_value(rounding=ROUND_DOWN))
    qty = round_lot_down(security, qty)
    while qty > 0 and price * qty + estimate_fees(security, "buy", price * qty).total > cash:
        qty = round_lot_down(security, qty - (100 if security.board not in ("star", "bse") else 1))
    return qty
