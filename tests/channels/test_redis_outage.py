"""Redis going away and coming back: rate limits count per worker meanwhile (never an error), events
reach the publishing worker's own listeners at once and the others' after a catch-up."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time

import pytest

from assistant.channels.errors import ApiError
from assistant.channels.events import RedisBus
from assistant.channels.ratelimit import RedisCounter, check


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_rate_limits_are_counted_per_worker_while_redis_is_unreachable() -> None:
    counter = RedisCounter(f"redis://127.0.0.1:{_free_port()}/0")  # nothing listens there
    for _ in range(3):
        check(counter, "customer:100001", limit=3, now=1_700_000_010.0)  # counted here: no error
    with pytest.raises(ApiError) as refused:
        check(counter, "customer:100001", limit=3, now=1_700_000_010.0)
    assert refused.value.status == 429
    assert counter.healthy is False


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = {"process": None}

    def start() -> None:
        server["process"] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop() -> None:
        server["process"].terminate()
        server["process"].wait(timeout=10)

    start()
    yield f"redis://127.0.0.1:{port}/0", start, stop
    if server["process"].poll() is None:
        stop()


def test_a_subscription_survives_a_redis_restart_and_catches_up(redis_server) -> None:
    url, start, stop = redis_server

    async def scenario() -> list[dict]:
        mine, theirs = RedisBus(url), RedisBus(url)  # two workers
        sub = await mine.subscribe("conversation:c1")
        theirs.publish("conversation:c1", {"type": "typing"})
        got = [await asyncio.wait_for(sub.get(), 5)]
        stop()
        theirs.publish("conversation:c1", {"type": "new_messages"})  # lost: no error for the publisher
        mine.publish("conversation:c1", {"type": "status", "status": "queued"})  # this worker's own listener hears it
        got.append(await asyncio.wait_for(sub.get(), 5))
        assert theirs.healthy is False
        start()
        got.append(await asyncio.wait_for(sub.get(), 15))  # the catch-up, once subscribed again
        theirs.publish("conversation:c1", {"type": "typing"})
        got.append(await asyncio.wait_for(sub.get(), 5))
        assert theirs.healthy is True
        await sub.close()
        return got

    events = asyncio.run(scenario())
    assert events == [{"type": "typing"}, {"type": "status", "status": "queued"}, {"type": "new_messages"},
                      {"type": "typing"}]
