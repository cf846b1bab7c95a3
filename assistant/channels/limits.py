"""A byte limit on every request body, enforced before anything reads or parses it.

A declared Content-Length over the limit is answered 413 at once, without calling the route;
a body sent without one (chunked) is counted as it arrives and refused the moment it passes
the limit. Voice uploads get the speech limit plus room for the multipart envelope; every other
route gets the general limit.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.channels.errors import error_body

TOO_LARGE = "请求内容超过大小上限（{limit}），请精简后再试。"


def _human(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 and n % (1024 * 1024) == 0 else f"{n // 1024} KB"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, TOO_LARGE.format(limit=_human(limit)))


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            status, message = (413, TOO_LARGE.format(limit=_human(limit))) if declared.isdigit() else \
                (400, "请求头 Content-Length 不正确。")
            await JSONResponse(error_body("too_large" if status == 413 else "bad_request", message),
                               status_code=status, headers={"Connection": "close"})(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # raised where no exception handler caught it
            if started:
                raise
            await JSONResponse(error_body("too_large", exc.detail), status_code=413,
                               headers={"Connection": "close"})(scope, receive, send)
