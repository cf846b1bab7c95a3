"""A local stand-in for api.weixin.qq.com: access tokens, the customer-service send API and
jscode2session. It checks what we send as WeChat would (a valid token, UTF-8 JSON without \\u
escapes, the text limit) and can be told to fail, or to expire its tokens."""

from __future__ import annotations

import json
import threading
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from tests.local_server import LocalServer

APPID = "wx0123456789abcdef"
SECRET = "test-app-secret"


class FakeWeChat(LocalServer):
    def __init__(self, appid: str = APPID, secret: str = SECRET) -> None:
        self.appid, self.secret = appid, secret
        self.lock = threading.Lock()
        self.tokens_issued: list[str] = []
        self.valid_tokens: set[str] = set()
        self.sent: list[dict] = []  # messages WeChat accepted, in order
        self.send_attempts = 0  # every call to the send API, failed ones included
        self.problems: list[str] = []  # what WeChat would have refused as malformed
        self.fail_next = 0  # the next N sends fail
        self.fail_status = 500  # ... with this HTTP status, or 200 and fail_errcode
        self.fail_errcode = -1
        self.codes: dict[str, str] = {}  # wx.login code -> openid, each usable once
        app = FastAPI()

        @app.get("/cgi-bin/token")
        def token(grant_type: str = "", appid: str = "", secret: str = "") -> dict:
            if grant_type != "client_credential" or appid != self.appid:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if secret != self.secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            with self.lock:
                value = f"TOKEN-{len(self.tokens_issued) + 1}"
                self.tokens_issued.append(value)
                self.valid_tokens.add(value)
            return {"access_token": value, "expires_in": 7200}

        @app.post("/cgi-bin/message/custom/send")
        async def send(request: Request, access_token: str = ""):
            raw = await request.body()
            with self.lock:
                self.send_attempts += 1
                if access_token not in self.valid_tokens:
                    return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
                if self.fail_next > 0:
                    self.fail_next -= 1
                    if self.fail_status != 200:
                        return PlainTextResponse("upstream error", status_code=self.fail_status)
                    return {"errcode": self.fail_errcode, "errmsg": "failure requested by the test"}
            if b"\\u" in raw:
                self.problems.append("escaped non-ASCII text")
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                self.problems.append("not UTF-8 JSON")
                return JSONResponse({"errcode": 47001, "errmsg": "data format error"})
            content = body.get("text", {}).get("content") if isinstance(body.get("text"), dict) else None
            if body.get("msgtype") != "text" or not isinstance(content, str) or not content or not body.get("touser"):
                self.problems.append(f"malformed message: {body}")
                return {"errcode": 44002, "errmsg": "empty post data"}
            if len(content.encode("utf-8")) > 2048:
                self.problems.append("content over 2048 bytes")
                return {"errcode": 45002, "errmsg": "content size out of limit"}
            with self.lock:
                self.sent.append(body)
            return {"errcode": 0, "errmsg": "ok"}

        @app.get("/sns/jscode2session")
        def jscode2session(appid: str = "", secret: str = "", js_code: str = "", grant_type: str = "") -> dict:
            if appid != self.appid or secret != self.secret or grant_type != "authorization_code":
                return {"errcode": 40013, "errmsg": "invalid appid"}
            with self.lock:
                openid = self.codes.pop(js_code, None)
            if openid is None:
                return {"errcode": 40029, "errmsg": "invalid code"}
            return {"openid": openid, "session_key": "c2Vzc2lvbi1rZXk="}

        super().__init__(app)

    def login_code(self, openid: str) -> str:
        """What wx.login would give the mini-program of this user."""
        code = f"code-{openid}-{len(self.codes)}-{time.monotonic_ns()}"
        self.codes[code] = openid
        return code

    def expire_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()

    def messages_to(self, openid: str) -> list[str]:
        with self.lock:
            return [m["text"]["content"] for m in self.sent if m["touser"] == openid]

    def wait_for(self, openid: str, count: int, timeout: float = 30.0) -> list[str]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.messages_to(openid)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s) to {openid}, got {self.messages_to(openid)}")

