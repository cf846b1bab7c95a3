"""Account and order tools over the Brokerage port; the simulator is the embedded back end."""

from assistant.tools.account_tools import build_account_tools, permission_eligibility, quote_tool
from assistant.tools.brokerage import (
    PERMISSION_NAMES,
    Brokerage,
    BrokerageError,
    OrderRequest,
)
from assistant.tools.orders import OrderDesk, OrderDraft, OrderPreview
from assistant.tools.trading_rules import SHANGHAI, estimate_fees, session_check

__all__ = [
    "PERMISSION_NAMES",
    "SHANGHAI",
    "Brokerage",
    "BrokerageError",
    "OrderDesk",
    "OrderDraft",
    "OrderPreview",
    "OrderRequest",
    "build_account_tools",
    "estimate_fees",
    "permission_eligibility",
    "quote_tool",
    "session_check",
]
