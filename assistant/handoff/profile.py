"""The customer as the agent sees them: masked name, risk level, permissions, open orders."""

from __future__ import annotations

from collections.abc import Callable

from assistant.tools import Brokerage


def _mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def brokerage_profile(brokerage: Brokerage) -> Callable[[str], dict]:
    def profile(customer_id: str) -> dict:
        c = brokerage.customer(customer_id)
        risk = brokerage.risk_profile(customer_id)
        orders = brokerage.orders(customer_id, status="open")
        return {
            "signed_in": True,
            "customer_id": c.customer_id,
            "name": _mask_name(c.name),
            "status": c.status,
            "risk_level": risk.level,
            "risk_expired": risk.expired,
            "permissions": list(c.permissions),
            "open_orders": [{"order_id": o.order_id, "code": o.code, "name": o.name, "side": o.side,
                             "quantity": o.quantity, "price_type": o.price_type,
                             "limit_price": str(o.limit_price) if o.limit_price is not None else None,
                             "filled_quantity": o.filled_quantity} for o in orders[:20]],
        }

    return profile
