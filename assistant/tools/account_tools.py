"""Account and order tools as LangChain tools with typed arguments.

They are bound to one signed-in customer when built, so no argument can point them at another
customer's account: the customer id is not a parameter an LLM (or anyone) can fill in. The
deterministic dialogue policy calls them through the same objects an LLM's tool-calling would.
Placing and cancelling orders are not in the LLM's set: they run only after the customer's
explicit confirmation, which the dialogue layer owns.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from assistant.nlu import SecurityMaster
from assistant.tools.brokerage import (
    PERMISSION_NAMES,
    PERMISSION_RULES,
    Brokerage,
    BrokerageError,
    OrderRequest,
    PermissionStatus,
)
from assistant.tools.orders import OrderDesk, OrderDraft


class NoArgs(BaseModel):
    pass


class OrdersArgs(BaseModel):
    status: Literal["open", "filled", "cancelled"] | None = Field(default=None, description="filter by status")
    today_only: bool = Field(default=True, description="only today's orders")


class TradesArgs(BaseModel):
    start: date = Field(description="first day, inclusive")
    end: date = Field(description="last day, inclusive")


class QuoteArgs(BaseModel):
    code: str = Field(description="six-digit security code", pattern=r"^\d{6}$")


class PermissionArgs(BaseModel):
    permission: Literal["star", "chinext", "bse", "margin", "hk_connect", "cbond"] | None = Field(
        default=None, description="one permission, or all when empty")


class CancelArgs(BaseModel):
    order_id: str = Field(pattern=r"^\d{1,12}$")


class PlaceArgs(BaseModel):
    request: OrderRequest
    idempotency_key: str = Field(min_length=8, max_length=96)


def months_between(start: date, end: date) -> int:
    return max((end.year - start.year) * 12 + end.month - start.month - (end.day < start.day), 0)


def permission_eligibility(brokerage: Brokerage, customer_id: str, permission: str | None = None) -> list[PermissionStatus]:
    """Compare the customer's 20-day average assets and trading experience with each threshold."""
    profile = brokerage.customer(customer_id)
    average = brokerage.average_daily_assets(customer_id, 20)
    today = brokerage.now().date()
    months = months_between(profile.first_trade_date, today) if profile.first_trade_date else 0
    risk = brokerage.risk_profile(customer_id)
    out = []
    for name in [permission] if permission else list(PERMISSION_RULES):
        required_assets, required_months = PERMISSION_RULES[name]
        missing = []
        if name not in profile.permissions:
            if average < required_assets:
                missing.append(f"前 20 个交易日日均资产 {average:,.2f} 元，未达到 {required_assets:,.0f} 元")
            if months < required_months:
                missing.append(f"证券交易经验约 {months} 个月，未满 {required_months} 个月")
            if risk.level is None or risk.expired:
                missing.append("风险测评结果缺失或已过期，须先完成有效的风险测评")
            elif int(risk.level[1]) < 4:
                # The house rates these businesses R4 (中高风险); matching needs C4 or above.
                missing.append(f"风险承受能力等级为 {risk.level}，需达到 C4 及以上")
        out.append(PermissionStatus(
            permission=name, name=PERMISSION_NAMES[name], granted=name in profile.permissions,
            average_assets_20d=average, required_assets=required_assets, trading_months=months,
            required_months=required_months, missing=missing,
        ))
    return out


def build_account_tools(brokerage: Brokerage, master: SecurityMaster, customer_id: str,
                        *, include_actions: bool = True) -> dict[str, StructuredTool]:
    desk = OrderDesk(brokerage, master)

    def balance():
        return brokerage.balance(customer_id)

    def positions():
        return brokerage.positions(customer_id)

    def orders(status: str | None = None, today_only: bool = True):
        return brokerage.orders(customer_id, day=brokerage.now().date() if today_only else None, status=status)

    def trades(start: date, end: date):
        if end < start:
            raise BrokerageError("bad_range", "查询的结束日期早于开始日期。")
        return brokerage.trades(customer_id, start, end)

    def quote(code: str):
        return brokerage.quote(code)

    def account_opening_status():
        return brokerage.account_opening(customer_id)

    def risk_profile():
        return brokerage.risk_profile(customer_id)

    def permission_status(permission: str | None = None):
        return permission_eligibility(brokerage, customer_id, permission)

    def preview_order(**draft):
        return desk.preview(customer_id, OrderDraft(**draft))

    def cancel_order(order_id: str):
        return brokerage.cancel_order(customer_id, order_id)

    def place_order(request: OrderRequest, idempotency_key: str):
        return brokerage.place_order(customer_id, request, idempotency_key)

    specs = [
        (balance, "get_balance", "可用资金、可取资金、冻结资金、证券市值、总资产。", NoArgs),
        (positions, "get_positions", "持仓：数量、可卖数量、成本价、现价、市值、盈亏。", NoArgs),
        (orders, "get_orders", "委托：当日或全部，可按状态（open 未成交、filled 已成交、cancelled 已撤）筛选。", OrdersArgs),
        (trades, "get_trades", "某个日期区间内的成交记录。", TradesArgs),
        (quote, "get_quote", "一只证券的模拟行情：现价、涨跌、涨跌停价。", QuoteArgs),
        (account_opening_status, "get_account_opening_status", "开户申请的进度和结果。", NoArgs),
        (risk_profile, "get_risk_profile", "风险承受能力等级、测评日期和有效期。", NoArgs),
        (permission_status, "check_permission_eligibility",
         "交易权限是否已开通，未开通时对照日均资产和交易经验门槛说明还差什么。", PermissionArgs),
        (preview_order, "preview_order", "下单前的预览和全部检查（不下单）。", OrderDraft),
    ]
    if include_actions:
        specs += [
            (cancel_order, "cancel_order", "撤销客户本人的一笔未成交委托（须客户确认后调用）。", CancelArgs),
            (place_order, "place_order", "提交一笔已由客户确认的委托（须客户确认后调用）。", PlaceArgs),
        ]
    return {
        name: StructuredTool.from_function(func=fn, name=name, description=desc, args_schema=schema)
        for fn, name, desc, schema in specs
    }


def quote_tool(brokerage: Brokerage) -> StructuredTool:
    """Quotes need no sign-in."""

    def quote(code: str):
        return brokerage.quote(code)

    return StructuredTool.from_function(func=quote, name="get_quote", description="一只证券的模拟行情。",
                                        args_schema=QuoteArgs)


__all__ = ["build_account_tools", "months_between", "permission_eligibility", "quote_tool"]
