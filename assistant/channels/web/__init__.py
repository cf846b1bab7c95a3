"""The web chat page: static files served at `/` and `/chat/…`, and the demo sign-in behind it.

The page is plain HTML, CSS and JavaScript (no build step, nothing loaded from the internet).
It talks to the same REST and WebSocket API as the app. The demo sign-in lists the seeded demo
customers (names masked) and mints a short-lived customer token for one; it exists outside
production only, and a setting turns it off there too (then it is a 404).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, StringConstraints

from assistant.channels.errors import ApiError, errors
from assistant.channels.ratelimit import limit_by_ip
from assistant.channels.tokens import TokenError, mint
from assistant.settings import Settings
from assistant.tools import PERMISSION_NAMES, BrokerageError
from assistant.tools.simulator import DEMO_CUSTOMERS

router = APIRouter(tags=["web"])

PAGE_DIR = Path(__file__).resolve().parent / "chat"
# The only files served: a fixed list, so no path from the URL ever reaches the file system.
_ASSETS = {"chat.js": "text/javascript; charset=utf-8", "cards.js": "text/javascript; charset=utf-8",
           "chat.css": "text/css; charset=utf-8"}
DEMO_TOKEN_TTL = timedelta(hours=2)

# Nothing from elsewhere: scripts, styles and connections stay on this origin; recordings are blobs.
_SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self' ws: wss:; media-src 'self' blob:; object-src 'none'; "
                                "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(PAGE_DIR / "index.html", media_type="text/html; charset=utf-8", headers=_SECURITY_HEADERS)


@router.get("/chat/{name}", include_in_schema=False)
def asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise ApiError(404, "not_found", "请求的内容不存在。")
    return FileResponse(PAGE_DIR / name, media_type=_ASSETS[name], headers=_SECURITY_HEADERS)


# --- demo sign-in ---------------------------------------------------------------------------------


def _demo_enabled(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    if not settings.demo_sign_in_enabled:
        raise ApiError(404, "not_found", "请求的内容不存在。")  # as if it did not exist at all
    return settings


def mask_name(name: str) -> str:
    """王磊 → 王*, 欧阳娜娜 → 欧***: the surname stays, enough to tell demo customers apart."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "客户"


class DemoCustomerOut(BaseModel):
    customer_id: str
    name: str  # masked
    description: str


class DemoCustomersOut(BaseModel):
    customers: list[DemoCustomerOut]


def _describe(brokerage, customer_id: str) -> DemoCustomerOut | None:
    try:
        profile = brokerage.customer(customer_id)
        risk = brokerage.risk_profile(customer_id)
    except BrokerageError:
        return None  # not in this back end (seeding turned off, or a real broker)
    if profile.status == "applicant":
        parts = ["开户审核中"]
    else:
        parts = [f"风险等级 {risk.level}" if risk.level else "尚未测评"]
        if risk.level and risk.expired:
            parts.append("风险测评已过期")
        names = [PERMISSION_NAMES.get(p, p) for p in profile.permissions]
        parts.append("已开通" + "、".join(names) if names else "未开通专项权限")
    return DemoCustomerOut(customer_id=profile.customer_id, name=mask_name(profile.name), description="，".join(parts))


@router.get("/v1/demo/customers", response_model=DemoCustomersOut, tags=["demo"], responses=errors(404, 429),
            dependencies=[Depends(limit_by_ip)])
def demo_customers(request: Request, _: Annotated[Settings, Depends(_demo_enabled)]) -> DemoCustomersOut:
    brokerage = request.app.state.brokerage
    found = (_describe(brokerage, c.id) for c in DEMO_CUSTOMERS)
    return DemoCustomersOut(customers=[c for c in found if c is not None])


class DemoSignInIn(BaseModel):
    customer_id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,12}$")]


class DemoSignInOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    customer: DemoCustomerOut


@router.post("/v1/demo/sign-in", response_model=DemoSignInOut, tags=["demo"], responses=errors(404, 429),
             dependencies=[Depends(limit_by_ip)])
def demo_sign_in(body: DemoSignInIn, request: Request,
                 settings: Annotated[Settings, Depends(_demo_enabled)]) -> DemoSignInOut:
    if body.customer_id not in {c.id for c in DEMO_CUSTOMERS}:
        raise ApiError(404, "unknown_customer", "没有这位演示客户，请从列表中选择。")
    customer = _describe(request.app.state.brokerage, body.customer_id)
    if customer is None:
        raise ApiError(404, "unknown_customer", "没有这位演示客户，请从列表中选择。")
    try:
        token = mint(settings, body.customer_id, ttl=DEMO_TOKEN_TTL)
    except TokenError:  # RS256 without our private key: this service cannot sign customers in
        raise ApiError(404, "not_found", "演示登录不可用，请通过券商 App 登录。") from None
    return DemoSignInOut(access_token=token, expires_in=int(DEMO_TOKEN_TTL.total_seconds()), customer=customer)
