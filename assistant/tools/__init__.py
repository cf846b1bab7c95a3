"""Account and order tools over the Brokerage port; the simulator is the embedded back end."""

from assistant.tools.account_tools import build_account_tools, quote_tool
from assistant.tools.brokerage import (
    PERMISSION_NAMES,
    AccountOpening,
    Balance,
    Brokerage,
    BrokerageError,
    Order,
    OrderRequest,
    PermissionStatus,
    Position,
    Quote,
    RiskProfile,
    Trade,
)
from assistant.tools.orders import OrderDraft, OrderPreview
from assistant.tools.trading_rules import SHANGHAI, estimate_fees, session_check

__all__ = [
    "PERMISSION_NAMES",
    "SHANGHAI",
    "AccountOpening",
    "Balance",
    "Brokerage",
    "BrokerageError",
    "Order",
    "OrderDraft",
    "OrderPreview",
    "OrderRequest",
    "PermissionStatus",
    "Position",
    "Quote",
    "RiskProfile",
    "Trade",
    "build_account_tools",
    "estimate_fees",
    "quote_tool",
    "session_check",
]
