"""The port to the broker's systems. The simulator implements it; a real back end would be an
HTTP adapter with the same methods. Every account method takes the signed-in customer's id and
returns only that customer's data."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, Field

PERMISSION_NAMES = {
    "star": "科创板",
    "chinext": "创业板",
    "bse": "北交所",
    "margin": "融资融券",
    "hk_connect": "港股通",
    "cbond": "可转债",
}
# Our fact sheet (knowledge_base/README.md): 20-trading-day average assets and months of trading.
PERMISSION_RULES: dict[str, tuple[Decimal, int]] = {
    "star": (Decimal("500000"), 24),
    "bse": (Decimal("500000"), 24),
    "chinext": (Decimal("100000"), 24),
    "hk_connect": (Decimal("500000"), 0),
    "margin": (Decimal("500000"), 6),
    "cbond": (Decimal("100000"), 24),
}


class BrokerageError(Exception):
    """A request the broker's systems refused; `message` is for the customer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CustomerProfile(BaseModel):
    customer_id: str
    name: str
    status: Literal["active", "applicant"]
    first_trade_date: date | None
    permissions: list[str]


class Balance(BaseModel):
    cash: Decimal = Field(description="资金余额")
    available: Decimal = Field(description="可用资金")
    withdrawable: Decimal = Field(description="可取资金")
    frozen: Decimal = Field(description="冻结资金")
    market_value: Decimal = Field(description="证券市值")
    total_assets: Decimal = Field(description="总资产")


class Position(BaseModel):
    code: str
    name: str
    quantity: int
    sellable: int = Field(description="可卖数量（当日买入的 T+1 才能卖）")
    cost_price: Decimal
    last_price: Decimal
    market_value: Decimal
    profit: Decimal
    profit_pct: Decimal


class Order(BaseModel):
    order_id: str
    code: str
    name: str
    side: Literal["buy", "sell"]
    quantity: int
    price_type: Literal["limit", "market"]
    limit_price: Decimal | None
    status: Literal["open", "filled", "cancelled"]
    filled_quantity: int
    created_at: datetime


class Trade(BaseModel):
    trade_id: str
    order_id: str | None
    code: str
    name: str
    side: Literal["buy", "sell"]
    quantity: int
    price: Decimal
    amount: Decimal
    fees: Decimal
    traded_at: datetime


class Quote(BaseModel):
    code: str
    name: str
    board: str
    last: Decimal
    prev_close: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    change: Decimal
    change_pct: Decimal
    limit_up: Decimal
    limit_down: Decimal
    as_of: datetime
    market_open: bool


class AccountOpening(BaseModel):
    status: Literal["submitted", "reviewing", "approved", "rejected"]
    step: str
    note: str
    submitted_at: datetime
    updated_at: datetime


class RiskProfile(BaseModel):
    level: str | None = Field(description="C1..C5; None if never assessed")
    assessed_on: date | None
    expires_on: date | None
    expired: bool


class PermissionStatus(BaseModel):
    permission: str
    name: str
    granted: bool
    average_assets_20d: Decimal
    required_assets: Decimal
    trading_months: int
    required_months: int
    missing: list[str] = Field(description="what the customer lacks, in Chinese; empty if eligible")

    @property
    def eligible(self) -> bool:
        return not self.missing


class OrderRequest(BaseModel):
    code: str
    side: Literal["buy", "sell"]
    quantity: int = Field(gt=0)
    price_type: Literal["limit", "market"]
    limit_price: Decimal | None = None


class SessionStatus(BaseModel):
    open: bool
    now: datetime
    next_open: datetime
    reason: str = Field(description="why it is closed, in Chinese; empty when open")


class Brokerage(Protocol):
    def now(self) -> datetime: ...

    def session_status(self) -> SessionStatus: ...

    def customer(self, customer_id: str) -> CustomerProfile: ...

    def balance(self, customer_id: str) -> Balance: ...

    def positions(self, customer_id: str) -> list[Position]: ...

    def orders(self, customer_id: str, *, day: date | None = None, status: str | None = None) -> list[Order]: ...

    def trades(self, customer_id: str, start: date, end: date) -> list[Trade]: ...

    def quote(self, code: str) -> Quote: ...

    def account_opening(self, customer_id: str) -> AccountOpening | None: ...

    def risk_profile(self, customer_id: str) -> RiskProfile: ...

    def average_daily_assets(self, customer_id: str, days: int = 20) -> Decimal: ...

    def place_order(self, customer_id: str, request: OrderRequest, idempotency_key: str) -> Order: ...

    def cancel_order(self, customer_id: str, order_id: str) -> Order: ...

    def repo_rate(self, code: str) -> Decimal:
        """The annualised rate, in percent, a reverse repo on `code` would be done at now."""
        ...

    def place_repo(self, customer_id: str, code: str, amount: Decimal, idempotency_key: str) -> Order:
        """Lend `amount` yuan on a reverse-repo code (a sell of the code at the current rate)."""
        ...

    def find_order(self, customer_id: str, idempotency_key: str) -> Order | None:
        """The order placed under this key, if any: a retried confirmation finds it instead of placing again."""
        ...
