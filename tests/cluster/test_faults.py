"""Faults in the running cluster: a host killed mid-confirmation, Redis restarted mid-conversation,
the Chroma server gone, two agents on two hosts racing for one ticket. Each test leaves the
cluster as it found it (every host up, Redis and Chroma running)."""

from __future__ import annotations

import threading
import time

import httpx
from sqlalchemy import text

from tests.cluster.conftest import (
    CustomerSocket,
    customer_headers,
    eventually,
    history,
    say,
    start_conversation,
)

KB_NOT_READY = "知识库正在建立索引，请稍后再试；账户查询不受影响。"


def _orders(cluster_db, quantity: int) -> list[tuple]:
    with cluster_db.connect() as conn:
        return conn.execute(text("SELECT id, status, idempotency_key FROM sim_orders WHERE customer_id = '100001' "
                                 "AND code = '000858' AND side = 'buy' AND quantity = :q"), {"q": quantity}).all()


def test_a_host_killed_while_a_confirmation_is_pending_loses_nothing_and_orders_once(cluster, cluster_db) -> None:
    """The customer says 确认 and the host dies (SIGKILL, every worker) a moment later: before, during
    or after the turn, depending on the moment. The page reconnects to the other host with after=
    and, seeing no outcome, says 确认 again. Whatever the moment: every message once and in order,
    and the order in the broker's book exactly once."""
    headers = customer_headers(cluster)
    token = headers["Authorization"].removeprefix("Bearer ")
    a, b = cluster.hosts
    cid = start_conversation(a, headers)
    seen: list[dict] = []  # every message frame the customer's pages received, in arrival order
    for victim, survivor, quantity, delay in ((a, b, 300, 0.05), (b, a, 400, 0.3)):
        page = CustomerSocket(victim, cid, token, after=seen[-1]["id"] if seen else 0)
        page.send(f"市价买入{quantity}股五粮液")
        preview = page.until(lambda f: f["type"] == "reply")["reply"]
        assert preview["pending_confirmation"]["kind"] == "place_order", preview["text"]
        page.seen(lambda f: f["type"] == "message" and f["message"].get("pending_confirmation") is not None)
        page.send("确认")
        time.sleep(delay)
        cluster.kill_host(victim.name)
        assert page.drain(10) is False  # the socket dropped with its host
        seen += page.messages
        last = seen[-1]["id"]

        page = CustomerSocket(survivor, cid, token, after=last)
        page.drain(2)  # the replay of what was stored after `last`
        if not any("委托已提交" in m["text"] for m in page.messages):
            page.send("确认")  # no outcome shown: the customer says it again
            page.until(lambda f: f["type"] == "reply")
            page.drain(1)
        seen += page.messages
        page.close()
        assert not page.messages or page.messages[0]["id"] > last  # after= replayed only what was missed

        orders = _orders(cluster_db, quantity)
        assert len(orders) == 1, orders  # confirmed exactly once (the clock is pinned: nothing expires)
        assert any("委托已提交" in m["text"] for m in seen)
        cluster.start_host(victim.name)  # back up before the next round (and for the other tests)

    ids = [m["id"] for m in seen]
    assert ids == sorted(set(ids)), ids  # once each, in order
    assert ids == [m["id"] for m in history(a, cid, headers)]  # and nothing stored was missed


def test_redis_restarting_mid_conversation_delays_events_but_fails_nothing(cluster) -> None:
    headers = customer_headers(cluster)
    token = headers["Authorization"].removeprefix("Bearer ")
    a, b = cluster.hosts
    cid = start_conversation(a, headers)
    page = CustomerSocket(a, cid, token)
    page.send("科创板股票最少买多少股")
    page.seen(lambda f: f["type"] == "message" and f["message"]["role"] == "assistant")

    cluster.stop_redis()
    try:
        # Turns on the other host go on: rate limits are counted per worker meanwhile, nothing fails.
        for question in ("交易密码忘了怎么办", "印花税怎么收", "转账失败是什么原因"):
            response = say(b, cid, headers, question)
            assert response.status_code == 200, response.text
        eventually(lambda: any("redis" in b.readyz()[1]["degraded"] for _ in range(6)), timeout=20,
                   what="/readyz names redis as degraded")
        assert b.readyz()[0] == 200  # degraded, still ready: the load balancer keeps the host
    finally:
        cluster.start_redis()

    # Once Redis is back, the page's subscription reconnects and catches up from the database…
    page.seen(lambda f: f["type"] == "message" and f["message"]["text"] == "转账失败是什么原因", timeout=30)
    # …and events flow live again between the hosts.
    assert say(b, cid, headers, "ETF卖出收印花税吗").status_code == 200
    page.seen(lambda f: f["type"] == "message" and f["message"]["text"] == "ETF卖出收印花税吗", timeout=15)
    page.drain(1)
    page.close()
    ids = [m["id"] for m in page.messages]
    assert ids == sorted(set(ids)) and ids == [m["id"] for m in history(a, cid, headers)]
    eventually(lambda: all(not h.readyz()[1]["degraded"] for h in cluster.hosts for _ in range(6)), timeout=30,
               what="every worker back on Redis")


def test_the_vector_store_unreachable_answers_from_the_loaded_index_and_a_new_host_says_why(cluster) -> None:
    headers = customer_headers(cluster)
    a, b = cluster.hosts
    question = "科创板股票最少买多少股"
    cluster.stop_chroma()
    try:
        for host in cluster.hosts:
            for _ in range(3):
                response = say(host, start_conversation(host, headers), headers, question)
                assert response.status_code == 200, response.text
                reply = response.json()
                assert "200 股" in reply["text"] and reply["citations"], reply["text"]
        eventually(lambda: any("vector_store" in a.readyz()[1]["degraded"] for _ in range(6)), timeout=20,
                   what="/readyz names the vector store as degraded")
        assert a.readyz()[0] == 200

        indexing = cluster.assistant("ingest", timeout=120)
        assert indexing.returncode != 0  # indexing needs the store: it fails, and says so

        # A host started while the store is away cannot load the index: /readyz says so (503) and a
        # question is answered with a plain "not now", never a 500; account look-ups work.
        cluster.kill_host("b")
        cluster.start_host("b", wait=False)

        def not_ready_saying_why() -> bool:
            status, body = b.readyz()
            return status == 503 and "向量库" in (body.get("error") or "")

        eventually(not_ready_saying_why, timeout=120, every=1, what="503 naming the vector store")
        cid = start_conversation(b, headers)
        response = say(b, cid, headers, question)
        assert response.status_code == 200 and response.json()["text"] == KB_NOT_READY
        holdings = say(b, cid, headers, "我的持仓")
        assert holdings.status_code == 200 and "五粮液" in holdings.json()["text"]
    finally:
        cluster.start_chroma()
    cluster.wait_ready([b], timeout=120)
    eventually(lambda: all(not h.readyz()[1]["degraded"] for h in cluster.hosts for _ in range(6)), timeout=30,
               what="the vector store back on every worker")
    response = say(b, start_conversation(b, headers), headers, question)
    assert response.status_code == 200 and response.json()["citations"]


def test_two_agents_on_two_hosts_claim_one_ticket_and_one_wins(cluster) -> None:
    password = "correct-horse-battery"
    a, b = cluster.hosts
    for username, name in (("zhoujie", "周杰"), ("sunli", "孙丽")):
        made = cluster.assistant("agent", "add", username, "--name", name, "--role", "agent", "--password-stdin",
                                 input=password + "\n")
        assert made.returncode == 0, made.stdout + made.stderr
    desks = []
    for host, username in ((a, "zhoujie"), (b, "sunli")):
        login = httpx.post(f"{host.url}/v1/agent/login", json={"username": username, "password": password}, timeout=30)
        assert login.status_code == 200, login.text
        desks.append((host, {"Authorization": f"Bearer {login.json()['token']}"}))

    headers = customer_headers(cluster, "100003")
    for _ in range(4):
        cid = start_conversation(a, headers)
        escalated = say(a, cid, headers, "我要转人工")
        assert escalated.status_code == 200 and escalated.json()["handoff"], escalated.text
        queue = httpx.get(f"{b.url}/v1/agent/queue", headers=desks[1][1], timeout=30).json()
        ticket = next(t for t in queue["queued"] + queue["callbacks"] if t["conversation_id"] == cid)

        start = threading.Barrier(2)
        outcomes: list[int] = []

        def claim(host, auth) -> None:
            start.wait()
            outcomes.append(httpx.post(f"{host.url}/v1/agent/tickets/{ticket['id']}/claim", headers=auth,
                                       timeout=30).status_code)

        racers = [threading.Thread(target=claim, args=desk) for desk in desks]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        assert sorted(outcomes) == [200, 409], outcomes
        owners = {t["agent_name"] for t in httpx.get(f"{a.url}/v1/agent/queue", headers=desks[0][1], timeout=30)
                  .json()["assigned"] if t["id"] == ticket["id"]}
        assert len(owners) == 1 and owners <= {"周杰", "孙丽"}
