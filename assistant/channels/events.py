"""Events between workers: "this conversation has new messages", "the assistant is typing".

With ASSISTANT_REDIS_URL set, events go through Redis pub/sub, so a WebSocket connected to one
worker hears of a message stored by another (an agent's reply, a turn sent over REST). Without
it (one worker, the embedded default) the same interface runs in the process. Events carry no
message text: a listener reads new messages from the database after the last id it has sent,
which is what makes delivery exactly-once and in order, whatever the bus does. When Redis restarts,
subscriptions reconnect by themselves and their listeners catch up from the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
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


CATCH_UP = {"type": "new_messages"}  # what a listener is told after events may have been lost


class EventBus(Protocol):
    def publish(self, channel: str, event: dict) -> None: ...

    async def subscribe(self, channel: str, catch_up: dict = CATCH_UP) -> Subscription:
        """`catch_up` is put in the subscription's queue whenever events may have been lost (Redis came back),
        so that the listener reads the current state from the database."""


class InProcessBus:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()

    def publish(self, channel: str, event: dict) -> None:
        with self._lock:
            subs = list(self._subs.get(channel, ()))
        for sub in subs:
            sub.deliver(event)

    async def subscribe(self, channel: str, catch_up: dict = CATCH_UP) -> Subscription:
        sub = Subscription(asyncio.get_running_loop())
        with self._lock:
            self._subs.setdefault(channel, set()).add(sub)

        def remove() -> None:
            with self._lock:
                self._subs.get(channel, set()).discard(sub)

        sub._closers.append(remove)
        return sub


class RedisBus:
    """Redis pub/sub between workers and hosts, and in-process delivery within this worker.

    Redis may restart at any time. Publishing never fails a request (a lost event is caught up from
    the database on the listener's next event or reconnect); a subscription reconnects on its own,
    and once it is back it tells its listener to read what it missed from the database. Listeners in
    the publishing worker hear the event at once, Redis or not."""

    reconnect_max_s = 5.0

    def __init__(self, url: str) -> None:
        import uuid

        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        self.origin = uuid.uuid4().hex[:12]  # this worker: its own events come back from Redis, and are skipped
        self._local = InProcessBus()
        self._publisher = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0,
                                               retry=Retry(NoBackoff(), 0))
        self._healthy = True
        self._probe_at = 0.0

    @property
    def healthy(self) -> bool:
        """Whether events reach the other workers (asked again, at most every few seconds, when they did not)."""
        if not self._healthy and time.monotonic() >= self._probe_at:
            self._probe_at = time.monotonic() + self.reconnect_max_s
            try:
                self._publisher.ping()
                self._health(True, "ping")
            except Exception:
                pass
        return self._healthy

    def _health(self, ok: bool, what: str) -> None:
        if ok != self._healthy:
            if ok:
                log.info("Redis events resumed")
            else:
                log.warning("Redis unreachable (%s): events reach this worker's listeners only until it returns", what)
        self._healthy = ok

    def publish(self, channel: str, event: dict) -> None:
        self._local.publish(channel, event)
        try:
            self._publisher.publish(PREFIX + channel, json.dumps({**event, "_origin": self.origin}, ensure_ascii=False))
            self._health(True, "publish")
        except Exception as exc:  # a listener catches up from the database on its next event or reconnect
            self._health(False, type(exc).__name__)

    async def _connect(self, channel: str):
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No retries inside the client: a lost connection must surface here, so the listener catches up.
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2.0, retry=Retry(NoBackoff(), 0))
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(PREFIX + channel)
        except BaseException:
            await _quietly(pubsub.aclose(), client.aclose())
            raise
        return client, pubsub

    async def subscribe(self, channel: str, catch_up: dict = CATCH_UP) -> Subscription:
        sub = await self._local.subscribe(channel)
        try:  # subscribed before returning, so that nothing falls between this and the caller's replay
            connection = await self._connect(channel)
            self._health(True, "subscribe")
        except Exception as exc:
            connection = None
            self._health(False, type(exc).__name__)

        async def pump(connection) -> None:
            delay = 0.25
            while True:
                if connection is None:
                    try:
                        connection = await self._connect(channel)
                    except Exception:
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, self.reconnect_max_s)
                        continue
                    delay = 0.25
                    self._health(True, "subscribe")
                    sub.queue.put_nowait(dict(catch_up))  # read what changed while we were deaf
                client, pubsub = connection
                try:
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        event = json.loads(message["data"])
                        if event.pop("_origin", None) != self.origin:
                            sub.queue.put_nowait(event)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._health(False, type(exc).__name__)
                finally:
                    await _quietly(pubsub.aclose(), client.aclose())
                connection = None

        task = asyncio.create_task(pump(connection))

        async def close() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        sub._closers.append(close)
        return sub


async def _quietly(*closing) -> None:
    for awaitable in closing:
        try:
            await awaitable
        except Exception:
            pass


def build_bus(redis_url: str | None) -> EventBus:
    return RedisBus(redis_url) if redis_url else InProcessBus()


