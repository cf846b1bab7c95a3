"""Rate limits per customer and per client address, shared by every worker.

Fixed one-minute windows: a counter per key and window, INCR + EXPIRE in Redis when
ASSISTANT_REDIS_URL is set (all workers and hosts count together), a dictionary in the process
otherwise (the embedded default runs one worker). Going over answers 429 with Retry-After.
When Redis does not answer, each worker counts alone for a while (the limits become per worker,
never an error), and goes back to Redis once it answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Annotated, Protocol

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from assistant.channels.auth import current_customer
from assistant.channels.errors import ApiError

WINDOW_S = 60
log = logging.getLogger(__name__)


class Counter(Protocol):
    def hit(self, key: str, window: int) -> int:
        """Count one hit for key in this window; returns the count so far."""


class InProcessCounter:
    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}  # the current window's counts only
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> int:
        with self._lock:
            if window > self._window:  # a new window: the finished one's counts are forgotten at once
                self._window, self._counts = window, {}
            elif window < self._window:  # a caller late across the boundary counts in the newer window
                window = self._window
            self._counts[key] = count = self._counts.get(key, 0) + 1
            return count


class RedisCounter:
    retry_after_s = 5.0  # after a failure, count in the process this long before asking Redis again

    def __init__(self, url: str) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0,
                                           retry=Retry(NoBackoff(), 0))
        self._local = InProcessCounter()
        self._retry_at = 0.0
        self._healthy = True

    @property
    def healthy(self) -> bool:
        """Whether counts are shared through Redis (asked again, at most every retry_after_s, when they were not)."""
        if not self._healthy and time.monotonic() >= self._retry_at:
            try:
                self._redis.ping()
                self._set_health(True)
            except Exception:
                self._retry_at = time.monotonic() + self.retry_after_s
        return self._healthy

    def _set_health(self, ok: bool, why: str = "") -> None:
        if ok and not self._healthy:
            log.info("Redis reachable again: rate limits shared by every worker")
        elif not ok and self._healthy:
            log.warning("Redis unreachable (%s): rate limits counted per worker until it returns", why)
        self._healthy = ok

    def hit(self, key: str, window: int) -> int:
        now = time.monotonic()
        if now >= self._retry_at:
            name = f"assistant:rl:{key}:{window}"
            try:
                pipe = self._redis.pipeline()
                pipe.incr(name)
                pipe.expire(name, WINDOW_S * 2)
                count, _ = pipe.execute()
            except Exception as exc:
                self._retry_at = now + self.retry_after_s
                self._set_health(False, type(exc).__name__)
            else:
                self._set_health(True)
                return int(count)
        return self._local.hit(key, window)


def build_counter(redis_url: str | None) -> Counter:
    return RedisCounter(redis_url) if redis_url else InProcessCounter()


def over_limit(counter: Counter, key: str, limit: int, now: float | None = None) -> int:
    """Count one more for `key` in this window: how many over the limit it now is (0 or less: within)."""
    now = time.time() if now is None else now
    return counter.hit(key, int(now // WINDOW_S)) - limit


def check(counter: Counter, key: str, limit: int, now: float | None = None) -> None:
    now = time.time() if now is None else now
    window = int(now // WINDOW_S)
    if over_limit(counter, key, limit, now) > 0:
        retry = max(1, int((window + 1) * WINDOW_S - now))
        raise ApiError(429, "rate_limited", f"您的操作过于频繁，请 {retry} 秒后再试。", headers={"Retry-After": str(retry)})


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


def limit_by_ip(request: Request) -> None:
    """A dependency for endpoints that do work: per client address."""
    settings = request.app.state.settings
    check(request.app.state.rate_counter, f"ip:{client_address(request)}", settings.rate_limit_ip_per_minute)


def limit_turn(connection: HTTPConnection, customer: str | None) -> None:
    """One conversation turn, from REST or a WebSocket: counted per address and per signed-in customer."""
    state = connection.app.state
    check(state.rate_counter, f"ip:{client_address(connection)}", state.settings.rate_limit_ip_per_minute)
    if customer is not None:
        check(state.rate_counter, f"customer:{customer}", state.settings.rate_limit_customer_per_minute)


def limit_turns(request: Request, customer: Annotated[str | None, Depends(current_customer)]) -> None:
    """A dependency for conversation turns. The customer comes from the route's own dependency
    (resolved once per request, token verified once)."""
    limit_turn(request, customer)
