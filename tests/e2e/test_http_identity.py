"""Customer sign-in by bearer token, and rate limits shared by every worker (Redis) or kept in the
process (the embedded default)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from assistant.channels.ratelimit import InProcessCounter, RedisCounter, check
from assistant.channels.tokens import mint
from tests.e2e.test_http_conversations import app_settings

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_available() -> bool:
    try:
        return bool(RedisCounter(REDIS_URL)._redis.ping())  # hit() itself counts locally when Redis is away
    except Exception:
        return False


@pytest.fixture
def make_client(tmp_path, small_kb_dir, monkeypatch, open_client):
    # One fixed moment, so a test's requests never straddle two one-minute windows.
    monkeypatch.setattr("assistant.channels.ratelimit.time.time", lambda: 1_700_000_010.0)

    def make(**overrides) -> TestClient:
        # Workers of one service share the var/ directory (and so the development signing secret).
        return open_client(app_settings(tmp_path, small_kb_dir, **overrides))

    return make


def bearer(client, customer: str, **kw) -> dict:
    return {"Authorization": f"Bearer {mint(client.app.state.settings, customer, **kw)}"}


def test_a_signed_in_customer_uses_a_bearer_token_and_only_their_conversation(make_client) -> None:
    client = make_client(dev_customer_header=False)
    me = bearer(client, "100001")
    cid = client.post("/v1/conversations", headers=me).json()["id"]
    reply = client.post(f"/v1/conversations/{cid}/messages", headers=me, json={"text": "我的持仓"}).json()
    assert reply["action"] == "run_tool" and "贵州茅台" in reply["text"]
    other = bearer(client, "100003")
    for method, path in (("post", f"/v1/conversations/{cid}/messages"), ("get", f"/v1/conversations/{cid}/messages")):
        response = getattr(client, method)(path, headers=other, **({"json": {"text": "我的持仓"}} if method == "post" else {}))
        assert response.status_code == 404 and "持仓" not in response.text
    # With the development header switched off, naming a customer in a header signs nobody in.
    header_only = client.post(f"/v1/conversations/{cid}/messages", headers={"X-Customer-Id": "100001"},
                              json={"text": "我的持仓"})
    assert header_only.status_code == 404


@pytest.mark.parametrize("make_headers, status", [
    (lambda c: {"Authorization": "Bearer not-a-token"}, 401),
    (lambda c: bearer(c, "100001", ttl=timedelta(seconds=-1)), 401),
    (lambda c: {"Authorization": bearer(c, "100001")["Authorization"][:-3] + "abc"}, 401),
    (lambda c: bearer(c, "cmp-1", roles=["compliance"]), 403),
    (lambda c: {"Authorization": "Basic dXNlcjpwYXNz"}, 401),
])
def test_bad_tokens_are_refused_clearly(make_client, make_headers, status) -> None:
    client = make_client()
    response = client.post("/v1/conversations", headers=make_headers(client))
    assert response.status_code == status and response.json()["error"]["message"]


def test_a_customer_over_the_limit_gets_429_with_retry_after(make_client) -> None:
    client = make_client(rate_limit_customer_per_minute=3)
    me = bearer(client, "100001")
    cid = client.post("/v1/conversations", headers=me).json()["id"]
    codes = [client.post(f"/v1/conversations/{cid}/messages", headers=me, json={"text": "你好"}).status_code
             for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    limited = client.post(f"/v1/conversations/{cid}/messages", headers=me, json={"text": "你好"})
    assert "过于频繁" in limited.json()["error"]["message"] and 1 <= int(limited.headers["retry-after"]) <= 60
    # Another customer is not held back by the first one's count.
    other = bearer(client, "100003")
    cid2 = client.post("/v1/conversations", headers=other).json()["id"]
    assert client.post(f"/v1/conversations/{cid2}/messages", headers=other, json={"text": "你好"}).status_code == 200


def test_counters_start_afresh_each_minute() -> None:
    counter = InProcessCounter()
    for _ in range(2):
        check(counter, "ip:1.2.3.4", 2, now=600.0)
    with pytest.raises(Exception):
        check(counter, "ip:1.2.3.4", 2, now=610.0)
    check(counter, "ip:1.2.3.4", 2, now=660.0)  # the next window


@pytest.mark.skipif(not _redis_available(), reason="no Redis at 127.0.0.1:6379")
def test_two_workers_share_one_limit_through_redis(make_client) -> None:
    """Two app instances (as two workers) count the same customer together."""
    customer_limit = 4
    first = make_client(redis_url=REDIS_URL, rate_limit_customer_per_minute=customer_limit)
    second = make_client(redis_url=REDIS_URL, rate_limit_customer_per_minute=customer_limit)
    assert first.app.state.rate_counter is not second.app.state.rate_counter
    customer = "100002"
    RedisCounter(REDIS_URL)._redis.flushdb()
    me = bearer(first, customer)
    cid = first.post("/v1/conversations", headers=me).json()["id"]
    codes = [(first if i % 2 else second).post(f"/v1/conversations/{cid}/messages", headers=me,
                                               json={"text": "你好"}).status_code for i in range(customer_limit + 1)]
    assert codes[:customer_limit] == [200] * customer_limit and codes[-1] == 429
