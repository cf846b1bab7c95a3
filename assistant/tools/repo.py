"""国债逆回购 (reverse repo on government bonds): the products, sizes, hours, days and costs.

The customer lends cash against government bonds for a tenor at an annualised rate; in the
order book it is a sell of the repo code. Rules as of 2025 (上交所、深交所债券交易规则; the
Shanghai minimum came down from 100,000 to 1,000 yuan in 2022, so both exchanges take 1,000 yuan
and its multiples). Interest accrues for the days the cash is actually lent (实际占款天数):
from the first settlement day (the next trading day) to the maturity settlement day, which moves
to the next trading day when it falls on a holiday — so a Thursday 1-day repo earns 3 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from assistant.tools.trading_rules import SHANGHAI, is_trading_day, next_trading_day

TENORS = (1, 2, 3, 4, 7, 14, 28, 91, 182)
MIN_AMOUNT = Decimal("1000")
STEP = Decimal("1000")
# Commission by tenor (本公司规定, the usual schedule): a share of the amount, whatever the days lent.
FEE_RATES = {1: Decimal("0.00001"), 2: Decimal("0.00002"), 3: Decimal("0.00003"), 4: Decimal("0.00004"),
             7: Decimal("0.00005"), 14: Decimal("0.0001"), 28: Decimal("0.0002"), 91: Decimal("0.0003"),
             182: Decimal("0.0003")}
SESSIONS = ((time(9, 30), time(11, 30)), (time(13, 0), time(15, 30)))
EXCHANGE_NAMES = {"SH": "上海", "SZ": "深圳"}


@dataclass(frozen=True)
class RepoProduct:
    code: str
    exchange: str  # SH | SZ
    name: str  # GC001 | R-001
    tenor_days: int

    @property
    def label(self) -> str:
        return f"{self.name}（{EXCHANGE_NAMES[self.exchange]} {self.tenor_days} 天期国债逆回购，代码 {self.code}）"


_SH = ("204001", "204002", "204003", "204004", "204007", "204014", "204028", "204091", "204182")
_SZ = ("131810", "131811", "131800", "131809", "131801", "131802", "131803", "131805", "131806")
PRODUCTS = tuple(RepoProduct(code, "SH", f"GC{t:03d}", t) for code, t in zip(_SH, TENORS)) + \
    tuple(RepoProduct(code, "SZ", f"R-{t:03d}", t) for code, t in zip(_SZ, TENORS))
BY_CODE = {p.code: p for p in PRODUCTS}
BY_NAME = {p.name.upper().replace("-", ""): p for p in PRODUCTS}


def product(exchange: str, tenor_days: int) -> RepoProduct | None:
    return next((p for p in PRODUCTS if p.exchange == exchange and p.tenor_days == tenor_days), None)


def session_open(now: datetime) -> tuple[bool, datetime]:
    """Whether repo orders are taken now, and when the next repo session opens."""
    local = now.astimezone(SHANGHAI)
    day, t = local.date(), local.time()
    if is_trading_day(day):
        for start, end in SESSIONS:
            if start <= t < end:
                return True, local
            if t < start:
                return False, datetime.combine(day, start, SHANGHAI)
    return False, datetime.combine(next_trading_day(day), SESSIONS[0][0], SHANGHAI)


def settlement(trade_day: date, tenor_days: int) -> tuple[date, date, int]:
    """(first settlement day, maturity settlement day, days lent) for a repo done on `trade_day`."""
    first = next_trading_day(trade_day)
    maturity = first + timedelta(days=tenor_days)
    while not is_trading_day(maturity):
        maturity += timedelta(days=1)
    return first, maturity, (maturity - first).days


def interest(amount: Decimal, rate_pct: Decimal, days: int) -> Decimal:
    return (amount * rate_pct / 100 * days / 365).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def fee(amount: Decimal, tenor_days: int) -> Decimal:
    return max(Decimal("0.01"), (amount * FEE_RATES[tenor_days]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def amount_problem(amount: Decimal) -> str | None:
    if amount < MIN_AMOUNT:
        return "国债逆回购最低 1,000 元起。"
    if amount % STEP:
        return "国债逆回购的金额须为 1,000 元的整数倍。"
    return None
