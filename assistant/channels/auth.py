"""Who is calling. The app's back end signs customers in and issues a bearer JWT; we verify it
(channels/tokens.py). For development, the header X-Customer-Id may name the customer instead;
it is honoured only when the setting allows it, and never in production."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import Request
from starlette.requests import HTTPConnection

from assistant.channels.errors import ApiError
from assistant.channels.tokens import Principal, TokenError, verify

_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _bearer(request: HTTPConnection) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthenticated", "请先登录后再访问。")
    return token.strip()


def current_customer(request: Request) -> str | None:
    """The signed-in customer, or None for a visitor (who may ask knowledge questions only)."""
    return customer_of(request, _bearer(request))


def customer_of(request: HTTPConnection, token: str | None) -> str | None:
    """Browsers cannot set headers on a WebSocket: there the token comes as a query parameter."""
    settings = request.app.state.settings
    if token is not None:
        try:
            principal = verify(settings, token)
        except TokenError:
            raise ApiError(401, "bad_token", "登录凭证无效或已过期，请重新登录。") from None
        if principal.roles:  # a staff token is not a customer's
            raise ApiError(403, "forbidden", "该凭证不能用于客户会话。")
        if not _CUSTOMER_ID.fullmatch(principal.subject):
            raise ApiError(401, "bad_customer", "客户身份信息无效，请重新登录。")
        return principal.subject
    value = request.headers.get("x-customer-id")
    if value is None or not settings.dev_header_enabled:
        return None
    value = value.strip()
    if not _CUSTOMER_ID.fullmatch(value):
        raise ApiError(401, "bad_customer", "客户身份信息无效，请重新登录。")
    return value


def verified_principal(request: HTTPConnection, token: str | None, *, sign_in: str = "请先登录后再访问。",
                       expired: str = "登录凭证无效或已过期，请重新登录。") -> Principal:
    """A staff token that must be there and valid (401 otherwise, with the page's own wording);
    what it may do is the caller's check."""
    if token is None:
        raise ApiError(401, "unauthenticated", sign_in)
    try:
        return verify(request.app.state.settings, token)
    except TokenError:
        raise ApiError(401, "bad_token", expired) from None


def require_role(role: str) -> Callable[[Request], Principal]:
    """A dependency: the caller's bearer token must be valid and carry `role`."""

    def dependency(request: Request) -> Principal:
        principal = verified_principal(request, _bearer(request))
        if role not in principal.roles:
            raise ApiError(403, "forbidden", "您没有访问该内容的权限。")
        return principal

    return dependency
