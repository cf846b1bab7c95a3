"""Demo customers for the simulator, seeded once into an empty database.

Each one exists to show a behaviour: a well-qualified investor, a conservative C1 who may not
buy ordinary stocks, an investor short of the STAR-market threshold, one whose risk assessment
has expired, an applicant whose account is still under review, and a C4 investor eligible for
ChiNext who has opened no permission yet. Dates are relative to the day of seeding, so "trading for 6 years" and
"assessed last year" stay true on whichever day the service first starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from assistant.storage import Database
from assistant.tools.simulator.broker import SimulatedBrokerage
from assistant.tools.simulator.models import (
    SimAccount,
    SimAccountOpening,
    SimBankTransfer,
    SimCustomer,
    SimDailyAssets,
    SimOrder,
    SimPermission,
    SimPosition,
    SimRiskAssessment,
    SimSeedInfo,
    SimTrade,
)
from assistant.tools.trading_rules import CENT, SHANGHAI, estimate_fees, previous_trading_days


@dataclass
class DemoCustomer:
    id: str
    name: str
    mobile: str
    id_number: str
    level: str | None
    assessed_days_ago: int
    trading_months: int | None
    cash: Decimal
    avg_assets: Decimal
    permissions: list[str] = field(default_factory=list)
    positions: list[tuple[str, int, str]] = field(default_factory=list)  # code, quantity, cost
    status: str = "active"
    note: str = ""


DEMO_CUSTOMERS = [
    DemoCustomer("100001", "王磊", "13800000001", "110101198001010011", "C4", 200, 74, Decimal("320000.00"),
                 Decimal("860000"), ["star", "chinext"],
                 [("600519", 200, "1380.500"), ("000858", 500, "142.300"), ("300750", 300, "210.800"),
                  ("510300", 10000, "3.862")],
                 note="C4, STAR and ChiNext opened, plenty of cash and shares"),
    DemoCustomer("100002", "李娜", "13800000002", "310101199002020022", "C1", 100, 14, Decimal("52000.00"),
                 Decimal("52000"), [], [], note="C1 conservative: R1 products only"),
    DemoCustomer("100003", "张伟", "13800000003", "440101198503030033", "C3", 300, 40, Decimal("120000.00"),
                 Decimal("310000"), ["chinext"], [("601318", 1000, "48.200"), ("600036", 2000, "35.600")],
                 note="C3, ChiNext only, 20-day average assets below the STAR threshold"),
    DemoCustomer("100004", "刘洋", "13800000004", "510101197504040044", "C5", 900, 130, Decimal("1500000.00"),
                 Decimal("2100000"), ["star", "chinext", "bse", "margin"], [("601398", 50000, "5.120")],
                 note="C5 but the risk assessment expired: no purchases until it is redone"),
    DemoCustomer("100005", "陈静", "13800000005", "320101200005050055", None, 0, None, Decimal("0.00"),
                 Decimal("0"), [], [], status="applicant", note="account opening under review"),
    DemoCustomer("100006", "赵强", "13800000006", "420101198806060066", "C4", 30, 30, Decimal("126000.00"),
                 Decimal("126000"), [], [("601398", 1000, "6.850")],
                 note="C4, eligible for ChiNext but not opened; short of the STAR threshold"),
]


_SCORES = {"C1": 18, "C2": 35, "C3": 52, "C4": 70, "C5": 88}  # questionnaire score behind each level


def _two_years_later(day: date) -> date:
    """The house rule: an assessment is valid for 2 years (29 February ends on 28 February)."""
    return day.replace(year=day.year + 2, day=28 if (day.month, day.day) == (2, 29) else day.day)


def _months_ago(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, 28))


def seed_demo_data(db: Database, broker: SimulatedBrokerage) -> bool:
    """Seed the demo customers if the simulator is empty; True when it seeded. Workers starting
    together take turns (the check and the inserts under one lock), so one seeds and the others
    find it done."""
    with db.exclusive("seed-demo"):
        return _seed(db, broker)


def _seed(db: Database, broker: SimulatedBrokerage) -> bool:
    now = broker.now()
    today = now.date()
    with db.session() as s:
        if s.scalar(select(SimSeedInfo.id)) is not None or s.scalar(select(SimCustomer.id)) is not None:
            return False
        s.add(SimSeedInfo(id=1, seeded_at=now, demo=True))
        history_days = previous_trading_days(today, 25)
        for c in DEMO_CUSTOMERS:
            first_trade = _months_ago(today, c.trading_months) if c.trading_months is not None else None
            s.add(SimCustomer(id=c.id, name=c.name, mobile=c.mobile, id_number=c.id_number,
                              first_trade_date=first_trade, status=c.status))
            s.flush()  # the customer row first: the other tables refer to it
            s.add(SimAccount(customer_id=c.id, cash=c.cash, frozen=Decimal("0"), bank_name="招商银行",
                             bank_card_tail=c.id[-4:]))
            if c.level:
                assessed = today - timedelta(days=c.assessed_days_ago)
                s.add(SimRiskAssessment(customer_id=c.id, level=c.level, score=_SCORES[c.level], assessed_on=assessed,
                                        expires_on=_two_years_later(assessed)))
            for p in c.permissions:
                s.add(SimPermission(customer_id=c.id, permission=p, granted_on=_months_ago(today, 12)))
            for code, qty, cost in c.positions:
                s.add(SimPosition(customer_id=c.id, code=code, quantity=qty, cost_price=Decimal(cost)))
            for i, day in enumerate(history_days):
                wobble = Decimal(1) + Decimal((i % 5) - 2) / 100
                s.add(SimDailyAssets(customer_id=c.id, day=day, total_assets=(c.avg_assets * wobble).quantize(CENT)))
            if c.status == "applicant":
                submitted = datetime.combine(today - timedelta(days=1), time(20, 14), SHANGHAI)
                s.add(SimAccountOpening(customer_id=c.id, status="reviewing", step="复核中",
                                        note="视频见证已完成，资料正在复核；一般 1–2 个交易日内完成审核。",
                                        submitted_at=submitted, updated_at=submitted + timedelta(hours=13)))
            else:
                s.add(SimBankTransfer(customer_id=c.id, direction="in", amount=c.cash,
                                      status="done", created_at=datetime.combine(history_days[0], time(10, 2), SHANGHAI)))
        s.flush()
        _seed_history(s, broker, history_days)
    return True


def _seed_history(s, broker: SimulatedBrokerage, days: list[date]) -> None:
    """A few past trades for 100001 and 100003, so trade history has something to show."""
    plan = [
        ("100001", "600519", "buy", 100, days[2]), ("100001", "000858", "buy", 200, days[6]),
        ("100001", "510300", "sell", 2000, days[11]), ("100001", "300750", "buy", 100, days[18]),
        ("100003", "601318", "buy", 500, days[4]), ("100003", "600036", "sell", 500, days[15]),
    ]
    for customer_id, code, side, qty, day in plan:
        sec = broker.master.get(code)
        when = datetime.combine(day, time(10, 31), SHANGHAI)
        price = broker.market.quote(code, when).last
        amount = (price * qty).quantize(CENT)
        fees = estimate_fees(sec, side, amount).total
        order = SimOrder(customer_id=customer_id, code=code, side=side, quantity=qty, price_type="limit",
                         limit_price=price, status="filled", filled_quantity=qty, frozen_amount=Decimal("0"),
                         idempotency_key=None, channel="app", created_at=when, updated_at=when)
        s.add(order)
        s.flush()
        s.add(SimTrade(order_id=order.id, customer_id=customer_id, code=code, side=side, quantity=qty,
                       price=price, amount=amount, fees=fees, traded_at=when))
