"""One error shape for every failure: {"error": {"code", "message"}}, with a Chinese message."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

_STATUS_MESSAGES = {
    400: "请求格式不正确。",
    401: "请先登录。",
    403: "您没有权限进行此操作。",
    404: "请求的内容不存在。",
    405: "不支持该请求方法。",
    413: "请求内容过大。",
    415: "不支持的内容类型。",
    429: "请求过于频繁，请稍后再试。",
    503: "服务暂时不可用，请稍后再试。",
}


class ErrorDetail(BaseModel):
    code: str
    message: str  # Chinese, for the customer or the agent to act on
    violations: list[dict] | None = None  # the guard's findings, when an agent's reply was refused


class ErrorOut(BaseModel):
    error: ErrorDetail


_DOCUMENTED = {
    400: "请求无法处理（格式、编码或凭证格式不正确）",
    401: "未登录，或登录凭证无效、已过期",
    403: "凭证有效，但无权进行此操作",
    404: "请求的对象不存在，或不属于当前用户",
    409: "与当前状态冲突（已被他人处理、已绑定等）",
    413: "请求体超过大小上限",
    415: "不支持的内容类型或音频格式",
    422: "请求字段不正确（缺失、超长、超出范围）",
    429: "请求过于频繁或账号暂时锁定",
    503: "所需的服务暂不可用（索引建立中、未配置、繁忙）",
}


def errors(*codes: int) -> dict[int | str, dict]:
    """OpenAPI `responses` for the error statuses a route can answer, all in the one error shape."""
    return {code: {"model": ErrorOut, "description": _DOCUMENTED[code]} for code in sorted({*codes, 400, 413, 422})}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _describe(errors: list[dict]) -> str:
    first = errors[0] if errors else {}
    location = list(first.get("loc", ()))
    if location and location[0] in ("body", "query", "path", "header", "cookie"):
        location = location[1:]  # where it came from; the field name is what the caller can fix
    field = ".".join(str(p) for p in location)
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "请求体不是合法的 JSON。"
    if kind == "missing":
        return f"缺少必填字段：{field}。" if field else "缺少请求体。"
    if kind in ("string_too_long", "too_long"):
        return f"字段 {field} 过长，请精简后再试。"
    if kind == "value_error":
        return str(first.get("msg", "")).removeprefix("Value error, ") + "。"
    if kind in ("string_too_short", "too_short"):
        return f"字段 {field} 不能为空。"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal") and field:
        return f"字段 {field} 超出允许的范围。"
    if kind == "string_pattern_mismatch" and field:
        return f"字段 {field} 的格式不正确。"
    if field:
        return f"字段 {field} 的取值不正确。"
    return "请求格式不正确。"


def _required_body_fields(request: Request) -> list[str]:
    """The required fields of the route's body model (for the message about a missing body)."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    model = getattr(getattr(field, "field_info", None), "annotation", None)
    fields = getattr(model, "model_fields", None)
    if not isinstance(fields, dict):
        return []
    return [getattr(f, "alias", None) or name for name, f in fields.items() if f.is_required()]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if errors and errors[0].get("type") == "missing" and tuple(errors[0].get("loc", ())) == ("body",):
            # No body at all: name the fields the body must carry, not an empty one.
            fields = _required_body_fields(request)
            if fields:
                message = f"缺少请求体：请以 JSON 发送必填字段 {'、'.join(fields)}。"
                return JSONResponse(error_body("invalid_request", message), status_code=422)
        return JSONResponse(error_body("invalid_request", _describe(errors)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        return JSONResponse(
            error_body("too_large" if exc.status_code == 413 else f"http_{exc.status_code}", message or _STATUS_MESSAGES.get(exc.status_code, "请求无法处理。")),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:  # a bug: log it, answer politely
        log.exception("unhandled error")
        return JSONResponse(error_body("internal_error", "系统繁忙，请稍后再试。"), status_code=500)
