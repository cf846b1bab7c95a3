"""A deterministic market-data feed over the securities master list.

Prices are a pure function of (code, trading day, minute): the same question at the same
minute gets the same answer on every worker and in every test, and prices stay inside the
day's price limits. They are simulated, and every quote says so.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, datetime
from decimal import Decimal

from assistant.nlu import Security, SecurityMaster
from assistant.tools.brokerage import BrokerageError, Quote
from assistant.tools.trading_rules import SHANGHAI, band, is_trading_day, limit_prices, round_price, session_check


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [-1, 1] from the parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**63 - 1.0


def _last_session_day(now: datetime) -> date:
    day = now.astimezone(SHANGHAI).date()
    while not is_trading_day(day):
        day = date.fromordinal(day.toordinal() - 1)
    return day


class MarketData:
    def __init__(self, master: SecurityMaster) -> None:
        self.master = master

    def security(self, code: str) -> Security:
        s = self.master.get(code)
        if s is None:
            raise BrokerageError("unknown_security", f"未找到证券代码 {code}。")
        return s

    def prev_close(self, s: Security, day: date) -> Decimal:
        drift = Decimal(str(round(0.02 * _unit(s.code, "close", day.isoformat()), 4)))
        return round_price(s, s.ref_price * (1 + drift))

    def _move(self, s: Security, day: date, minute: int) -> float:
        """Fraction of the price band the price has moved by `minute` of the session (0..240)."""
        a, b, c = (_unit(s.code, day.isoformat(), k) for k in "abc")
        x = minute / 240.0
        return 0.45 * (a * x + 0.5 * b * math.sin(3.1 * x + c) * x + 0.15 * c * math.sin(17 * x))

    def _session_minute(self, now: datetime) -> tuple[date, int]:
        local = now.astimezone(SHANGHAI)
        day = _last_session_day(local)
        if day != local.date():
            return day, 240
        minutes = local.hour * 60 + local.minute
        if minutes < 9 * 60 + 30:
            return day, 0
        if minutes <= 11 * 60 + 30:
            return day, minutes - (9 * 60 + 30)
        if minutes < 13 * 60:
            return day, 120
        return day, min(120 + minutes - 13 * 60, 240)

    def quote(self, code: str, now: datetime) -> Quote:
        s = self.security(code)
        day, minute = self._session_minute(now)
        prev = self.prev_close(s, day)
        up, down = limit_prices(s, prev)
        width = float(band(s))

        def price_at(m: int) -> Decimal:
            p = prev * (1 + Decimal(str(round(width * self._move(s, day, m), 5))))
            return min(max(round_price(s, p), down), up)

        path = [price_at(m) for m in range(0, minute + 1, 10)] + [price_at(minute)]
        last = path[-1]
        change = last - prev
        return Quote(
            code=s.code,
            name=s.name,
            board=s.board,
            last=last,
            prev_close=prev,
            open=path[0],
            high=max(path),
            low=min(path),
            change=change,
            change_pct=(change / prev * 100).quantize(Decimal("0.01")),
            limit_up=up,
            limit_down=down,
            as_of=now.astimezone(SHANGHAI),
            market_open=session_check(now).open,
        )


_REPO_BASE = {1: 1.45, 2: 1.48, 3: 1.50, 4: 1.52, 7: 1.58, 14: 1.62, 28: 1.66, 91: 1.70, 182: 1.72}


def repo_rate(code: str, tenor_days: int, now: datetime) -> Decimal:
    """A simulated annualised repo rate in percent: near the tenor's usual level, moving a little
    through the day, the same on every worker for the same minute."""
    local = now.astimezone(SHANGHAI)
    minute = local.hour * 60 + local.minute
    move = 0.15 * _unit(code, local.date().isoformat()) + 0.05 * _unit(code, local.date().isoformat(), minute // 10)
    return Decimal(str(round(_REPO_BASE[tenor_days] + move, 3)))
