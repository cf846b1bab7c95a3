"""Events between workers: "this conversation has new messages", "the assistant is typing".

With ASSISTANT_REDIS_URL set, events go through Redis pub/sub, so a WebSocket connected to one
worker hears of a message stored by another (an agent's reply, a turn sent over REST). Without
it (one worker, the embedded default) the same interface runs in the process. Events carry no
message text: a listener reads new messages from the database after the last id it has sent,
which is what makes delivery exactly-once and in order, whatever the bus does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)
PREFIX = "assistant:events:"


class Subscription:
    """Events for one channel, delivered to the event loop that subscribed."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict] = asyncio.Queue()
        self._closers: list = []

    def deliver(self, event: dict) -> None:  # from any thread
        self.loop.call_soon_threadsafe(self.queue.put_nowait, event)

    async def get(self) -> dict:
        return await self.queue.get()

    async def close(self) -> None:
        for close in self._closers:
            result = close()
            if asyncio.iscoroutine(result):
                await result


class EventBus(Protocol):
    def publish(self, channel: str, event: dict) -> None: ...

    async def subscribe(self, channel: str) -> Subscription: ...


class InProcessBus:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()

    def publish(self, channel: str, event: dict) -> None:
        with self._lock:
            subs = list(self._subs.get(channel, ()))
        for sub in subs:
            sub.deliver(event)

    async def subscribe(self, channel: str) -> Subscription:
        sub = Subscription(asyncio.get_running_loop())
        with self._lock:
            self._subs.setdefault(channel, set()).add(sub)

        def remove() -> None:
            with self._lock:
                self._subs.get(channel, set()).discard(sub)

        sub._closers.append(remove)
        return sub


class RedisBus:
    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._publisher = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)

    def publish(self, channel: str, event: dict) -> None:
        try:
            self._publisher.publish(PREFIX + channel, json.dumps(event, ensure_ascii=False))
        except Exception:  # a listener catches up from the database on its next event or reconnect
            log.warning("event not published to Redis: %s", event.get("type"))

    async def subscribe(self, channel: str) -> Subscription:
        import redis.asyncio as aioredis

        sub = Subscription(asyncio.get_running_loop())
        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        await pubsub.subscribe(PREFIX + channel)

        async def pump() -> None:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    sub.queue.put_nowait(json.loads(message["data"]))

        task = asyncio.create_task(pump())

        async def close() -> None:
            task.cancel()
            await pubsub.aclose()
            await client.aclose()

        sub._closers.append(close)
        return sub


def build_bus(redis_url: str | None) -> EventBus:
    return RedisBus(redis_url) if redis_url else InProcessBus()


