"""Tables of the simulated broker. They stand in for the broker's own systems (customer master,
counter, clearing), so they are prefixed sim_ and only the simulator touches them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assistant.storage.models import Base
from assistant.storage.types import AwareDateTime

Money = Numeric(18, 2)
Price = Numeric(12, 3)


class SimCustomer(Base):
    __tablename__ = "sim_customers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    mobile: Mapped[str] = mapped_column(String(32))
    id_number: Mapped[str] = mapped_column(String(32))
    first_trade_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | applicant


class SimAccount(Base):
    __tablename__ = "sim_accounts"

    customer_id: Mapped[str] = mapped_column(ForeignKey("sim_customers.id"), primary_key=True)
    cash: Mapped[Decimal] = mapped_column(Money)  # settled and same-day sale proceeds, incl. frozen
    frozen: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))  # held by open buy orders
    bank_name: Mapped[str] = mapped_column(String(64))
    bank_card_tail: Mapped[str] = mapped_column(String(4))


class SimDailyAssets(Base):
    """End-of-day total assets, the basis of the 20-trading-day average that permissions need."""

    __tablename__ = "sim_daily_assets"

    customer_id: Mapped[str] = mapped_column(ForeignKey("sim_customers.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    total_assets: Mapped[Decimal] = mapped_column(Money)


class SimPermission(Base):
    __tablename__ = "sim_permissions"

    customer_id: Mapped[str] = mapped_column(ForeignKey("sim_customers.id"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_on: Mapped[date] = mapped_column(Date)


class SimRiskAssessment(Base):
    __tablename__ = "sim_risk_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("sim_customers.id"), index=True)
    level: Mapped[str] = mapped_column(String(2))  # C1..C5
    score: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)


class SimPosition(Base):
    __tablename__ = "sim_positions"

    customer_id: Mapped[str] = mapped_column(ForeignKey("sim_customers.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    cost_price: Mapped[Decimal] = mapped_column(Price)


class SimOrder(Base):
    __tablename__ = "sim_orders"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_sim_orders_idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("sim_customers.id"), index=True)
    code: Mapped[str] = mapped_column(String(6))
    side: Mapped[str] = mapped_column(String(4))  # buy | sell
    quantity: Mapped[int] = mapped_column(Integer)
    price_type: Mapped[str] = mapped_column(String(8))  # limit | market
    limit_price: Mapped[Decimal | None] = mapped_column(Price, nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # open | filled | cancelled
    filled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    frozen_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    idempotency_key: Mapped[str | None] = mapped_column(String(96), nullable=True)
    channel: Mapped[str] = mapped_column(String(16), default="assistant")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())


class SimTrade(Base):
    __tablename__ = "sim_trades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sim_orders.id"), nullable=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("sim_customers.id"), index=True)
    code: Mapped[str] = mapped_column(String(6))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Price)
    amount: Mapped[Decimal] = mapped_column(Money)
    fees: Mapped[Decimal] = mapped_column(Money)
    traded_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)


class SimBankTransfer(Base):
    __tablename__ = "sim_bank_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("sim_customers.id"), index=True)
    direction: Mapped[str] = mapped_column(String(4))  # in | out
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(12))  # done | pending | failed
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())


class SimAccountOpening(Base):
    __tablename__ = "sim_account_openings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("sim_customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # submitted | reviewing | approved | rejected
    step: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())


class SimSeedInfo(Base):
    __tablename__ = "sim_seed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seeded_at: Mapped[datetime] = mapped_column(AwareDateTime())
    demo: Mapped[bool] = mapped_column(Boolean, default=True)
