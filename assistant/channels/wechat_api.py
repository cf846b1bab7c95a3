"""The WeChat server API, as far as the mini-program channel needs it: the access token (cached,
shared by workers through Redis when ASSISTANT_REDIS_URL is set, refreshed before it expires and
at once when WeChat says it is no longer valid), the customer-service send API and jscode2session.

The base URL is a setting, so tests run against a local fake of api.weixin.qq.com.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Protocol

import httpx

from assistant.settings import Settings

log = logging.getLogger(__name__)

# errcodes meaning "this access token is not (or no longer) valid": refresh and try once more.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# errcodes that no retry can fix: outside the 48-hour window, over the send quota, unknown openid,
# content too long, no permission for the API.
FINAL_ERRORS = frozenset({40003, 43004, 45002, 45015, 45047, 48001})
# jscode2session: the code is wrong, used already or expired; the mini-program must call wx.login again.
BAD_CODE_ERRORS = frozenset({40029, 40163, 40226})
TOKEN_EARLY_REFRESH_S = 300  # refresh this long before WeChat's expiry


class WeChatApiError(Exception):
    def __init__(self, errcode: int | None, errmsg: str, *, retryable: bool) -> None:
        super().__init__(f"errcode={errcode} errmsg={errmsg}")
        self.errcode, self.errmsg, self.retryable = errcode, errmsg, retryable


class BadLoginCode(Exception):
    """jscode2session refused the code from wx.login."""


class TokenCache(Protocol):
    async def get(self) -> str | None: ...

    async def put(self, token: str, ttl_s: int) -> None: ...

    async def drop(self, token: str) -> None:
        """Forget `token`, but not a newer one another worker has stored meanwhile."""


class InProcessTokenCache:
    def __init__(self) -> None:
        self._token: str | None = None
        self._expires = 0.0

    async def get(self) -> str | None:
        return self._token if self._token and time.monotonic() < self._expires else None

    async def put(self, token: str, ttl_s: int) -> None:
        self._token, self._expires = token, time.monotonic() + ttl_s

    async def drop(self, token: str) -> None:
        if self._token == token:
            self._token = None


class RedisTokenCache:
    # Compare-and-delete in one step, so a worker dropping a stale token never removes a fresh one.
    _DROP = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, url: str, appid: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._key = f"assistant:wechat:access_token:{appid}"

    async def get(self) -> str | None:
        value = await self._redis.get(self._key)
        return value.decode() if value else None

    async def put(self, token: str, ttl_s: int) -> None:
        await self._redis.set(self._key, token, ex=max(ttl_s, 1))

    async def drop(self, token: str) -> None:
        await self._redis.eval(self._DROP, 1, self._key, token)

    async def close(self) -> None:
        await self._redis.aclose()


class WeChatApi:
    def __init__(self, settings: Settings, cache: TokenCache | None = None) -> None:
        self.base = settings.wechat_api_base_url.rstrip("/")
        self.appid = settings.wechat_appid or ""
        self._secret = settings.wechat_app_secret.get_secret_value() if settings.wechat_app_secret else ""
        self.cache = cache or InProcessTokenCache()
        self._http = httpx.AsyncClient(timeout=settings.wechat_http_timeout_s)
        self._refreshing = asyncio.Lock()

    async def close(self) -> None:
        await self._http.aclose()
        if isinstance(self.cache, RedisTokenCache):
            await self.cache.close()

    async def _get_json(self, path: str, params: dict) -> dict:
        try:
            response = await self._http.get(self.base + path, params=params)
        except httpx.HTTPError as exc:
            raise WeChatApiError(None, f"network: {type(exc).__name__}", retryable=True) from None
        return self._json(response)

    @staticmethod
    def _json(response: httpx.Response) -> dict:
        if response.status_code >= 500:
            raise WeChatApiError(None, f"http {response.status_code}", retryable=True)
        try:
            body = response.json()
        except ValueError:
            raise WeChatApiError(None, f"http {response.status_code}, not JSON", retryable=True) from None
        if not isinstance(body, dict):
            raise WeChatApiError(None, "unexpected response", retryable=True)
        return body

    async def access_token(self) -> str:
        token = await self.cache.get()
        if token:
            return token
        async with self._refreshing:  # one refresh at a time in this worker
            token = await self.cache.get()
            if token:
                return token
            body = await self._get_json("/cgi-bin/token", {"grant_type": "client_credential", "appid": self.appid,
                                                           "secret": self._secret})
            token = body.get("access_token")
            if not token:
                errcode = body.get("errcode")
                # -1 is "system busy"; a wrong appid or secret (40013, 40125) will not fix itself.
                raise WeChatApiError(errcode, str(body.get("errmsg", "")), retryable=errcode in (None, -1))
            expires_in = int(body.get("expires_in", 7200))
            await self.cache.put(token, max(expires_in - TOKEN_EARLY_REFRESH_S, 60))
            log.info("wechat access token refreshed (valid %d s)", expires_in)
            return token

    async def send_text(self, openid: str, content: str) -> None:
        """One customer-service text message. Raises WeChatApiError (retryable or not)."""
        payload = json.dumps({"touser": openid, "msgtype": "text", "text": {"content": content}},
                             ensure_ascii=False).encode("utf-8")  # WeChat shows \\u escapes literally
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                response = await self._http.post(self.base + "/cgi-bin/message/custom/send", params={"access_token": token},
                                                 content=payload, headers={"Content-Type": "application/json; charset=utf-8"})
            except httpx.HTTPError as exc:
                raise WeChatApiError(None, f"network: {type(exc).__name__}", retryable=True) from None
            body = self._json(response)
            errcode = int(body.get("errcode", 0) or 0)
            if errcode == 0:
                return
            if errcode in TOKEN_ERRORS:
                await self.cache.drop(token)
                if attempt == 1:
                    continue
            raise WeChatApiError(errcode, str(body.get("errmsg", "")), retryable=errcode not in FINAL_ERRORS)

    async def code2session(self, code: str) -> str:
        """The openid behind a wx.login code."""
        body = await self._get_json("/sns/jscode2session", {"appid": self.appid, "secret": self._secret, "js_code": code,
                                                            "grant_type": "authorization_code"})
        errcode = int(body.get("errcode", 0) or 0)
        if errcode in BAD_CODE_ERRORS:
            raise BadLoginCode(str(body.get("errmsg", "")))
        openid = body.get("openid")
        if errcode or not isinstance(openid, str) or not openid:
            raise WeChatApiError(errcode, str(body.get("errmsg", "")), retryable=errcode == -1)
        return openid
