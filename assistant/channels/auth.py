"""Who is calling. Until bearer tokens land (issue "Service and channels"), a development header
X-Customer-Id names the signed-in customer; it is honoured only when the setting allows it, and
never in production."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import Request

from assistant.channels.errors import ApiError
from assistant.channels.tokens import Principal, TokenError, verify

_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def current_customer(request: Request) -> str | None:
    settings = request.app.state.settings
    value = request.headers.get("x-customer-id")
    if value is None or not settings.dev_header_enabled:
        return None
    value = value.strip()
    if not _CUSTOMER_ID.fullmatch(value):
        raise ApiError(401, "bad_customer", "客户身份信息无效，请重新登录。")
    return value


def require_role(role: str) -> Callable[[Request], Principal]:
    """A dependency: the caller's bearer token must be valid and carry `role`."""

    def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthenticated", "请先登录后再访问。")
        try:
            principal = verify(request.app.state.settings, token.strip())
        except TokenError:
            raise ApiError(401, "bad_token", "登录凭证无效或已过期，请重新登录。") from None
        if role not in principal.roles:
            raise ApiError(403, "forbidden", "您没有访问该内容的权限。")
        return principal

    return dependency
