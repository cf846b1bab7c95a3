"""Who is calling. Until bearer tokens land (issue "Service and channels"), a development header
X-Customer-Id names the signed-in customer; it is honoured only when the setting allows it, and
never in production."""

from __future__ import annotations

import re

from fastapi import Request

from assistant.channels.errors import ApiError

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
