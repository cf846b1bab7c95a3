"""SimulatedBrokerage: the Brokerage port over the sim_ tables and the simulated market feed.

It behaves like a broker's counter: it checks sessions, lots, price limits, cash and shares
itself (the assistant's preview checks are a courtesy, not the last line), fills marketable
orders at the current price, leaves the rest open until they cross or the day ends, and keeps
T+1 (shares bought today cannot be sold today; sale proceeds are usable today, withdrawable
tomorrow).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assistant.nlu import SecurityMaster
from assistant.storage import Database
from assistant.tools.brokerage import (
    AccountOpening,
    Balance,
    BrokerageError,
    CustomerProfile,
    Order,
    OrderRequest,
    Position,
    Quote,
    RiskProfile,
    SessionStatus,
    Trade,
)
from assistant.tools import repo
from assistant.tools.simulator.market import MarketData, repo_rate
from assistant.tools.simulator.models import (
    SimAccount,
    SimAccountOpening,
    SimCustomer,
    SimDailyAssets,
    SimOrder,
    SimPermission,
    SimPosition,
    SimRiskAssessment,
    SimTrade,
)
from assistant.tools.trading_rules import (
    AFTERNOON,
    CENT,
    SHANGHAI,
    continuous_trading,
    estimate_fees,
    lot_problem,
    session_check,
    session_day,
)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(SHANGHAI)


class ManualClock:
    """A clock that stands still until moved: a pinned demo time, scripted dialogues, tests."""

    def __init__(self, now: datetime) -> None:
        self.now = now if now.tzinfo else now.replace(tzinfo=SHANGHAI)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


class SimulatedBrokerage:
    def __init__(self, db: Database, master: SecurityMaster, clock: Clock = system_clock) -> None:
        self.db = db
        self.master = master
        self.market = MarketData(master)
        self.clock = clock

    # --- clock and market ---

    def now(self) -> datetime:
        return self.clock().astimezone(SHANGHAI)

    def session_status(self) -> SessionStatus:
        check = session_check(self.now())
        return SessionStatus(open=check.open, now=self.now(), next_open=check.next_open, reason=check.reason)

    def quote(self, code: str) -> Quote:
        return self.market.quote(code, self.now())

    # --- reads ---

    def _customer_row(self, s: Session, customer_id: str) -> SimCustomer:
        row = s.get(SimCustomer, customer_id)
        if row is None:
            raise BrokerageError("unknown_customer", "未找到该客户的账户信息。")
        return row

    def customer(self, customer_id: str) -> CustomerProfile:
        with self.db.session() as s:
            row = self._customer_row(s, customer_id)
            perms = s.scalars(select(SimPermission.permission).where(SimPermission.customer_id == customer_id)).all()
            return CustomerProfile(customer_id=row.id, name=row.name, status=row.status,
                                   first_trade_date=row.first_trade_date, permissions=sorted(perms))

    def _today_bounds(self) -> tuple[datetime, datetime]:
        today = self.now().date()
        return datetime.combine(today, time.min, SHANGHAI), datetime.combine(today, time.max, SHANGHAI)

    def balance(self, customer_id: str) -> Balance:
        with self.db.session() as s:
            self._customer_row(s, customer_id)
            self._match_open_orders(s, customer_id)
            account = s.get(SimAccount, customer_id)
            cash = account.cash if account else Decimal("0")
            frozen = account.frozen if account else Decimal("0")
            start, end = self._today_bounds()
            sold_today = s.scalar(
                select(func.coalesce(func.sum(SimTrade.amount - SimTrade.fees), 0)).where(
                    SimTrade.customer_id == customer_id, SimTrade.side == "sell",
                    SimTrade.traded_at >= start, SimTrade.traded_at <= end)
            )
            market_value = sum((p.market_value for p in self._positions(s, customer_id)), Decimal("0"))
            available = cash - frozen
            return Balance(
                cash=cash, available=available, frozen=frozen,
                withdrawable=max(available - Decimal(str(sold_today)), Decimal("0")).quantize(CENT),
                market_value=market_value.quantize(CENT), total_assets=(cash + market_value).quantize(CENT),
            )

    def _positions(self, s: Session, customer_id: str) -> list[Position]:
        start, end = self._today_bounds()
        rows = s.scalars(select(SimPosition).where(SimPosition.customer_id == customer_id).order_by(SimPosition.code)).all()
        if not rows:
            return []
        # Not sellable today: shares bought today (T+1) and shares already offered in open sell orders.
        bought_today = dict(s.execute(
            select(SimTrade.code, func.sum(SimTrade.quantity)).where(
                SimTrade.customer_id == customer_id, SimTrade.side == "buy",
                SimTrade.traded_at >= start, SimTrade.traded_at <= end).group_by(SimTrade.code)
        ).all())
        selling = dict(s.execute(
            select(SimOrder.code, func.sum(SimOrder.quantity - SimOrder.filled_quantity)).where(
                SimOrder.customer_id == customer_id, SimOrder.side == "sell", SimOrder.status == "open")
            .group_by(SimOrder.code)
        ).all())
        out = []
        for p in rows:
            q = self.quote(p.code)
            value = (q.last * p.quantity).quantize(CENT)
            cost = (p.cost_price * p.quantity).quantize(CENT)
            profit = value - cost
            out.append(Position(
                code=p.code, name=q.name, quantity=p.quantity,
                sellable=max(p.quantity - int(bought_today.get(p.code, 0)) - int(selling.get(p.code, 0)), 0),
                cost_price=p.cost_price, last_price=q.last, market_value=value, profit=profit,
                profit_pct=(profit / cost * 100).quantize(Decimal("0.01")) if cost else Decimal("0"),
            ))
        return out

    def positions(self, customer_id: str) -> list[Position]:
        with self.db.session() as s:
            self._customer_row(s, customer_id)
            self._match_open_orders(s, customer_id)
            return self._positions(s, customer_id)

    def _order_out(self, o: SimOrder) -> Order:
        return Order(
            order_id=str(o.id), code=o.code, name=self._name(o.code), side=o.side,
            quantity=o.quantity, price_type=o.price_type, limit_price=o.limit_price, status=o.status,
            filled_quantity=o.filled_quantity, created_at=o.created_at,
        )

    def orders(self, customer_id: str, *, day: date | None = None, status: str | None = None) -> list[Order]:
        with self.db.session() as s:
            self._customer_row(s, customer_id)
            self._match_open_orders(s, customer_id)
            query = select(SimOrder).where(SimOrder.customer_id == customer_id)
            if day is not None:
                query = query.where(SimOrder.created_at >= datetime.combine(day, time.min, SHANGHAI),
                                    SimOrder.created_at <= datetime.combine(day, time.max, SHANGHAI))
            if status is not None:
                query = query.where(SimOrder.status == status)
            return [self._order_out(o) for o in s.scalars(query.order_by(SimOrder.id.desc())).all()]

    def trades(self, customer_id: str, start: date, end: date) -> list[Trade]:
        with self.db.session() as s:
            self._customer_row(s, customer_id)
            self._match_open_orders(s, customer_id)
            rows = s.scalars(
                select(SimTrade).where(
                    SimTrade.customer_id == customer_id,
                    SimTrade.traded_at >= datetime.combine(start, time.min, SHANGHAI),
                    SimTrade.traded_at <= datetime.combine(end, time.max, SHANGHAI),
                ).order_by(SimTrade.traded_at.desc(), SimTrade.id.desc())
            ).all()
            return [
                Trade(trade_id=str(t.id), order_id=str(t.order_id) if t.order_id else None, code=t.code,
                      name=self._name(t.code), side=t.side, quantity=t.quantity, price=t.price,
                      amount=t.amount, fees=t.fees, traded_at=t.traded_at)
                for t in rows
            ]

    def account_opening(self, customer_id: str) -> AccountOpening | None:
        with self.db.session() as s:
            self._customer_row(s, customer_id)
            row = s.scalars(select(SimAccountOpening).where(SimAccountOpening.customer_id == customer_id)
                            .order_by(SimAccountOpening.id.desc())).first()
            if row is None:
                return None
            return AccountOpening(status=row.status, step=row.step, note=row.note,
                                  submitted_at=row.submitted_at, updated_at=row.updated_at)

    def risk_profile(self, customer_id: str) -> RiskProfile:
        with self.db.session() as s:
            self._customer_row(s, customer_id)
            row = s.scalars(select(SimRiskAssessment).where(SimRiskAssessment.customer_id == customer_id)
                            .order_by(SimRiskAssessment.assessed_on.desc(), SimRiskAssessment.id.desc())).first()
            if row is None:
                return RiskProfile(level=None, assessed_on=None, expires_on=None, expired=True)
            return RiskProfile(level=row.level, assessed_on=row.assessed_on, expires_on=row.expires_on,
                               expired=row.expires_on < self.now().date())

    def average_daily_assets(self, customer_id: str, days: int = 20) -> Decimal:
        with self.db.session() as s:
            self._customer_row(s, customer_id)
            values = s.scalars(
                select(SimDailyAssets.total_assets).where(SimDailyAssets.customer_id == customer_id,
                                                          SimDailyAssets.day < self.now().date())
                .order_by(SimDailyAssets.day.desc()).limit(days)
            ).all()
            if not values:
                return Decimal("0.00")
            # Days without a record count as zero: the rule averages over 20 trading days.
            return (sum(values, Decimal("0")) / days).quantize(CENT)

    # --- writes ---

    def place_order(self, customer_id: str, request: OrderRequest, idempotency_key: str) -> Order:
        with self.db.session() as s:
            if (existing := self._by_key(s, customer_id, idempotency_key)) is not None:
                return self._order_out(existing)
            self._customer_row(s, customer_id)
            now = self.now()
            session = session_check(now)
            if request.price_type != "limit" and not continuous_trading(now):
                raise BrokerageError("market_closed", "市价委托只在连续竞价时段（9:30–11:30、13:00–14:57）受理。")
            sec = self.market.security(request.code)
            q = self.quote(request.code)
            position = s.get(SimPosition, (customer_id, request.code))
            held = position.quantity if position else 0
            if problem := lot_problem(sec, request.side, request.quantity, held):
                raise BrokerageError("invalid_quantity", problem)
            price = request.limit_price if request.price_type == "limit" else q.last
            if price is None or not (q.limit_down <= price <= q.limit_up):
                raise BrokerageError("price_out_of_band",
                                     f"委托价格须在跌停价 {q.limit_down} 元与涨停价 {q.limit_up} 元之间。")
            account = s.get(SimAccount, customer_id)
            if request.side == "buy":
                amount = (price * request.quantity).quantize(CENT)
                need = amount + estimate_fees(sec, "buy", amount).total
                if account is None or account.cash - account.frozen < need:
                    raise BrokerageError("insufficient_cash", "可用资金不足。")
            else:
                sellable = next((p.sellable for p in self._positions(s, customer_id) if p.code == request.code), 0)
                if request.quantity > sellable:
                    raise BrokerageError("insufficient_shares", f"可卖数量不足（可卖 {sellable} 股）。")
            order = SimOrder(
                customer_id=customer_id, code=request.code, side=request.side, quantity=request.quantity,
                price_type=request.price_type, limit_price=request.limit_price, status="open",
                filled_quantity=0, frozen_amount=Decimal("0"), idempotency_key=idempotency_key,
                created_at=now, updated_at=now,
            )
            if (first := self._add_once(s, order)) is not order:
                return self._order_out(first)
            if session.open and self._marketable(order, q.last):
                self._fill(s, order, q.last, now)
            elif order.side == "buy":  # open, or a 预埋单 held for the next session: the cash is set aside
                amount = (order.limit_price * order.quantity).quantize(CENT)
                order.frozen_amount = amount + estimate_fees(sec, "buy", amount).total
                account.frozen += order.frozen_amount
            return self._order_out(order)

    @staticmethod
    def _by_key(s: Session, customer_id: str, key: str) -> SimOrder | None:
        """The order already placed under this idempotency key; another customer's key is a conflict."""
        existing = s.scalars(select(SimOrder).where(SimOrder.idempotency_key == key)).first()
        if existing is not None and existing.customer_id != customer_id:
            raise BrokerageError("idempotency_conflict", "委托请求编号冲突，请重新发起。")
        return existing

    @staticmethod
    def _add_once(s: Session, order: SimOrder) -> SimOrder:
        """Insert the order; when the same confirmation raced in twice, the first one's order."""
        s.add(order)
        try:
            s.flush()
        except IntegrityError:
            s.rollback()
            return s.scalars(select(SimOrder).where(SimOrder.idempotency_key == order.idempotency_key)).one()
        return order

    def _name(self, code: str) -> str:
        product = repo.BY_CODE.get(code)
        return product.name if product is not None else self.market.security(code).name

    def repo_rate(self, code: str) -> Decimal:
        return repo_rate(code, repo.BY_CODE[code].tenor_days, self.now())

    def place_repo(self, customer_id: str, code: str, amount: Decimal, idempotency_key: str) -> Order:
        """Lend `amount` yuan on the repo `code` at the current rate. It fills at once (the simulator has
        always a borrower); the cash and the fee leave the account now. The return of the cash with its
        interest at maturity is not simulated."""
        product = repo.BY_CODE.get(code)
        if product is None:
            raise BrokerageError("unknown_security", f"{code} 不是国债逆回购代码。")
        with self.db.session() as s:
            if (existing := self._by_key(s, customer_id, idempotency_key)) is not None:
                return self._order_out(existing)
            self._customer_row(s, customer_id)
            now = self.now()
            is_open, next_open = repo.session_open(now)
            if not is_open:
                raise BrokerageError("market_closed", f"国债逆回购的交易时间为交易日 9:30–11:30、13:00–15:30，"
                                                      f"下一个交易时段从 {next_open:%Y-%m-%d %H:%M} 开始。")
            if problem := repo.amount_problem(amount):
                raise BrokerageError("invalid_quantity", problem)
            account = s.get(SimAccount, customer_id)
            fee = repo.fee(amount, product.tenor_days)
            if account is None or account.cash - account.frozen < amount + fee:
                raise BrokerageError("insufficient_cash", "可用资金不足。")
            rate = self.repo_rate(code)
            order = SimOrder(customer_id=customer_id, code=code, side="sell", quantity=int(amount), price_type="limit",
                             limit_price=rate, status="filled", filled_quantity=int(amount), frozen_amount=Decimal("0"),
                             idempotency_key=idempotency_key, created_at=now, updated_at=now)
            if (first := self._add_once(s, order)) is not order:
                return self._order_out(first)
            account.cash -= amount + fee
            s.add(SimTrade(order_id=order.id, customer_id=customer_id, code=code, side="sell", quantity=int(amount),
                           price=rate, amount=amount, fees=fee, traded_at=now))
            return self._order_out(order)

    def find_order(self, customer_id: str, idempotency_key: str) -> Order | None:
        with self.db.session() as s:
            order = s.scalars(select(SimOrder).where(SimOrder.idempotency_key == idempotency_key,
                                                     SimOrder.customer_id == customer_id)).first()
            return self._order_out(order) if order is not None else None

    def cancel_order(self, customer_id: str, order_id: str) -> Order:
        with self.db.session() as s:
            self._match_open_orders(s, customer_id)
            order = s.get(SimOrder, int(order_id)) if order_id.isdigit() else None
            # Another customer's order is reported exactly like a missing one.
            if order is None or order.customer_id != customer_id:
                raise BrokerageError("order_not_found", f"未找到您的委托 {order_id}。")
            if order.status != "open":
                status = {"filled": "已成交", "cancelled": "已撤销"}.get(order.status, order.status)
                raise BrokerageError("order_not_open", f"委托 {order_id} {status}，无法撤单。")
            now = self.now()
            if not session_check(now).open and session_day(order.created_at) < now.date():
                raise BrokerageError("market_closed", "当前不在交易时间，无法撤单。")
            if not session_check(now).open and session_day(order.created_at) == now.date() and \
                    now.time() >= AFTERNOON[1]:
                raise BrokerageError("market_closed", "今日已收盘，未成交的委托收盘后自动失效，无需撤单。")
            self._release(s, order)
            order.status = "cancelled"
            order.updated_at = self.now()
            return self._order_out(order)

    # --- matching ---

    @staticmethod
    def _marketable(order: SimOrder, last: Decimal) -> bool:
        if order.price_type == "market":
            return True
        return order.limit_price >= last if order.side == "buy" else order.limit_price <= last

    def _release(self, s: Session, order: SimOrder) -> None:
        if order.frozen_amount:
            account = s.get(SimAccount, order.customer_id)
            account.frozen -= order.frozen_amount
            order.frozen_amount = Decimal("0")

    def _fill(self, s: Session, order: SimOrder, price: Decimal, when: datetime) -> None:
        sec = self.market.security(order.code)
        self._release(s, order)
        amount = (price * order.quantity).quantize(CENT)
        fees = estimate_fees(sec, order.side, amount).total
        account = s.get(SimAccount, order.customer_id)
        position = s.get(SimPosition, (order.customer_id, order.code))
        if order.side == "buy":
            account.cash -= amount + fees
            if position is None:
                s.add(SimPosition(customer_id=order.customer_id, code=order.code, quantity=order.quantity,
                                  cost_price=((amount + fees) / order.quantity).quantize(Decimal("0.001"))))
            else:
                total_cost = position.cost_price * position.quantity + amount + fees
                position.quantity += order.quantity
                position.cost_price = (total_cost / position.quantity).quantize(Decimal("0.001"))
        else:
            account.cash += amount - fees
            position.quantity -= order.quantity
            if position.quantity == 0:
                s.delete(position)
        s.add(SimTrade(order_id=order.id, customer_id=order.customer_id, code=order.code, side=order.side,
                       quantity=order.quantity, price=price, amount=amount, fees=fees, traded_at=when))
        order.status = "filled"
        order.filled_quantity = order.quantity
        order.updated_at = when

    def _match_open_orders(self, s: Session, customer_id: str) -> None:
        """Fill open orders the price has crossed since; orders from earlier days expire."""
        now = self.now()
        start, _ = self._today_bounds()
        market_open = session_check(now).open
        for order in s.scalars(select(SimOrder).where(SimOrder.customer_id == customer_id,
                                                      SimOrder.status == "open")).all():
            # An order lives for the session it was placed for: a 预埋单 placed in the evening is
            # tomorrow's, and expires only after tomorrow.
            if session_day(order.created_at) < start.date():
                self._release(s, order)
                order.status = "cancelled"
                order.updated_at = now
                continue
            if market_open:
                last = self.quote(order.code).last
                if self._marketable(order, last):
                    self._fill(s, order, last, now)
        s.flush()
