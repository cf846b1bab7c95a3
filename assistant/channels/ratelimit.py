"""Rate limits per customer and per client address, shared by every worker.

Fixed one-minute windows: a counter per key and window, INCR + EXPIRE in Redis when
ASSISTANT_REDIS_URL is set (all workers and hosts count together), a dictionary in the process
otherwise (the embedded default runs one worker). Going over answers 429 with Retry-After.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from fastapi import Request

from assistant.channels.errors import ApiError

WINDOW_S = 60


class Counter(Protocol):
    def hit(self, key: str, window: int) -> int:
        """Count one hit for key in this window; returns the count so far."""


class InProcessCounter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> int:
        with self._lock:
            for old in [k for k in self._counts if k[1] < window]:  # forget finished windows
                del self._counts[old]
            self._counts[(key, window)] = count = self._counts.get((key, window), 0) + 1
            return count


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    def hit(self, key: str, window: int) -> int:
        name = f"assistant:rl:{key}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, WINDOW_S * 2)
        count, _ = pipe.execute()
        return int(count)


def build_counter(redis_url: str | None) -> Counter:
    return RedisCounter(redis_url) if redis_url else InProcessCounter()


def check(counter: Counter, key: str, limit: int, now: float | None = None) -> None:
    now = time.time() if now is None else now
    window = int(now // WINDOW_S)
    if counter.hit(key, window) > limit:
        retry = max(1, int((window + 1) * WINDOW_S - now))
        raise ApiError(429, "rate_limited", f"您的操作过于频繁，请 {retry} 秒后再试。", headers={"Retry-After": str(retry)})


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit_by_ip(request: Request) -> None:
    """A dependency for endpoints that do work: per client address."""
    settings = request.app.state.settings
    check(request.app.state.rate_counter, f"ip:{client_address(request)}", settings.rate_limit_ip_per_minute)


def limit_customer_turns(customer_of: Callable[[Request], str | None]) -> Callable[[Request], None]:
    """A dependency for conversation turns: per signed-in customer, and per address for visitors."""

    def dependency(request: Request) -> None:
        limit_by_ip(request)
        customer = customer_of(request)
        if customer is not None:
            check(request.app.state.rate_counter, f"customer:{customer}", request.app.state.settings.rate_limit_customer_per_minute)

    return dependency
