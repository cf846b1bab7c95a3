"""The handoff through the HTTP API and both WebSockets: a customer escalates, an agent signs in,
claims, talks (guarded), resolves; the customer rates. No message is lost in either direction,
across a reconnect; two agents racing for one ticket: exactly one wins (PostgreSQL, threads)."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant.app import create_app
from assistant.cli import app as cli
from assistant.compliance import AuditLog, audit_keys
from assistant.conversation import ConversationStore
from assistant.handoff import AgentInfo, HandoffError, HandoffService
from assistant.settings import get_settings
from assistant.storage import Conversation, HandoffTicket
from assistant.tools import SHANGHAI
from tests.e2e.test_http_conversations import app_settings

ME = {"X-Customer-Id": "100001"}
PASSWORD = "correct-horse-battery"


@pytest.fixture
def client(tmp_path, small_kb_dir):
    with TestClient(create_app(app_settings(tmp_path, small_kb_dir), ingest_in_background=False)) as client:
        now = client.app.state.handoff.clock()
        for username, name, role in (("wangmin", "王敏", "agent"), ("lijun", "李军", "agent"),
                                     ("zhaoli", "赵丽", "supervisor")):
            client.app.state.handoff.agents.add(username, name, role, PASSWORD, now)
        yield client


def sign_in(client, username: str) -> dict:
    response = client.post("/v1/agent/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _until(ws, predicate) -> list[dict]:
    events = []
    while True:
        event = ws.receive_json()
        events.append(event)
        if predicate(event):
            return events


def test_sign_in_is_checked_and_repeated_failures_lock_the_account(client) -> None:
    bad = client.post("/v1/agent/login", json={"username": "wangmin", "password": "wrong-password"})
    assert bad.status_code == 401 and bad.json()["error"]["message"] == "用户名或密码错误。"
    unknown = client.post("/v1/agent/login", json={"username": "nobody", "password": "wrong-password"})
    assert unknown.status_code == 401 and unknown.json() == bad.json()  # a wrong name is not told apart
    for _ in range(4):
        client.post("/v1/agent/login", json={"username": "wangmin", "password": "wrong-password"})
    locked = client.post("/v1/agent/login", json={"username": "wangmin", "password": PASSWORD})
    assert locked.status_code == 429 and "锁定" in locked.json()["error"]["message"]
    # A customer's token, or none, opens nothing here.
    assert client.get("/v1/agent/queue").status_code == 401
    from assistant.channels.tokens import mint
    customer = {"Authorization": f"Bearer {mint(client.app.state.settings, '100001')}"}
    assert client.get("/v1/agent/queue", headers=customer).status_code == 403


def test_escalate_claim_talk_resolve_rate_with_nothing_lost(client) -> None:
    agent = sign_in(client, "wangmin")
    token = client.post("/v1/agent/login", json={"username": "wangmin", "password": PASSWORD}).json()["token"]
    cid = client.post("/v1/conversations", headers=ME).json()["id"]
    with client.websocket_connect(f"/v1/agent/stream?access_token={token}") as console:
        assert console.receive_json()["type"] == "queue"
        with client.websocket_connect(f"/v1/conversations/{cid}/stream", headers=ME) as customer:
            customer.send_json({"type": "message", "text": "我要转人工"})
            events = _until(customer, lambda e: e["type"] == "reply")
            reply = events[-1]["reply"]
            assert reply["handoff"]["reason"] == "customer_request" and "您是下一位" in reply["text"]
            assert any(e["type"] == "status" and e["status"] == "queued" and e["queue_position"] == 1 for e in events)
            queue = _until(console, lambda e: e["type"] == "queue" and e["queue"]["queued"])[-1]["queue"]
            ticket_id = queue["queued"][0]["id"]

            claimed = client.post(f"/v1/agent/tickets/{ticket_id}/claim", headers=agent)
            assert claimed.status_code == 200
            view = claimed.json()
            assert [m["role"] for m in view["transcript"]][:2] == ["customer", "assistant"]
            assert view["summary"] and view["profile"]["risk_level"]
            status = _until(customer, lambda e: e["type"] == "status" and e["status"] == "assigned")[-1]
            assert status["agent_name"] == "王敏"

            console.send_json({"type": "open", "ticket_id": ticket_id})
            seen = _until(console, lambda e: e["type"] == "message" and e["message"]["role"] == "system")
            last_agent_seen = seen[-1]["message"]["id"]

            # Customer → agent: stored, pushed to the console, not answered by the assistant.
            customer.send_json({"type": "message", "text": "我的委托一直没成交"})
            own = _until(customer, lambda e: e["type"] == "reply")[-1]["reply"]
            assert own["text"] == "" and own["action"] == "agent"
            pushed = _until(console, lambda e: e["type"] == "message" and e["message"]["role"] == "customer")[-1]
            assert pushed["message"]["text"] == "我的委托一直没成交"

            # Agent → customer over the console socket; a violating draft is refused, nothing sent.
            console.send_json({"type": "reply", "ticket_id": ticket_id, "text": "放心，这只股票稳赚不赔，明天肯定涨。"})
            blocked = _until(console, lambda e: e["type"] == "reply_result")[-1]
            assert blocked["ok"] is False and blocked["error"]["code"] == "guard_blocked"
            assert blocked["error"]["violations"]
            sent = client.post(f"/v1/agent/tickets/{ticket_id}/reply", headers=agent,
                               json={"text": "您好，我是王敏。我帮您查一下这笔委托的状态，请稍等。"})
            assert sent.status_code == 200, sent.text
            got = _until(customer, lambda e: e["type"] == "message" and e["message"]["role"] == "agent")[-1]
            assert "王敏" in got["message"]["text"]
            last_customer_seen = got["message"]["id"]

        # The customer is away: the agent writes twice; on reconnect with after=, both arrive, once, in order.
        for text in ("这笔委托价格低于现价，所以还没成交。", "您可以撤单后按新价格重新委托。"):
            assert client.post(f"/v1/agent/tickets/{ticket_id}/reply", headers=agent, json={"text": text}).status_code == 200
        with client.websocket_connect(f"/v1/conversations/{cid}/stream?after={last_customer_seen}", headers=ME) as customer:
            replayed = [customer.receive_json()["message"] for _ in range(2)]
            assert [m["text"] for m in replayed] == ["这笔委托价格低于现价，所以还没成交。", "您可以撤单后按新价格重新委托。"]
            # The agent's console, reconnected after its last message id seen, misses nothing either.
            with client.websocket_connect(f"/v1/agent/stream?access_token={token}") as console2:
                console2.send_json({"type": "open", "ticket_id": ticket_id, "after": last_agent_seen})
                again = _until(console2, lambda e: e["type"] == "message" and e["message"]["text"].startswith("您可以撤单"))
            roles = [e["message"]["role"] for e in again if e["type"] == "message"]
            assert roles == ["customer", "agent", "agent", "agent"]

            note = client.post(f"/v1/agent/tickets/{ticket_id}/notes", headers=agent, json={"text": "客户对限价规则不熟"})
            assert note.status_code == 201
            early = client.post(f"/v1/conversations/{cid}/satisfaction", headers=ME, json={"score": 5})
            assert early.status_code == 409
            assert client.post(f"/v1/agent/tickets/{ticket_id}/resolve", headers=agent).status_code == 200
            asked = _until(customer, lambda e: e["type"] == "message" and "打分" in e["message"]["text"])
            assert any(e["type"] == "status" and e["status"] == "resolved" for e in asked)

    history = client.get(f"/v1/conversations/{cid}/messages?limit=200", headers=ME).json()["messages"]
    assert not any("限价规则不熟" in m["text"] for m in history)  # internal notes stay internal
    assert client.post(f"/v1/conversations/{cid}/satisfaction", headers=ME, json={"score": 6}).status_code == 422
    assert client.post(f"/v1/conversations/{cid}/satisfaction", headers=ME, json={"score": 5, "comment": "很耐心"}).status_code == 201
    twice = client.post(f"/v1/conversations/{cid}/satisfaction", headers=ME, json={"score": 1})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_rated"
    # Someone else's conversation cannot be rated.
    other = client.post(f"/v1/conversations/{cid}/satisfaction", headers={"X-Customer-Id": "100002"}, json={"score": 1})
    assert other.status_code == 404

    supervisor = sign_in(client, "zhaoli")
    stats = client.get("/v1/agent/stats", headers=supervisor).json()
    assert stats["satisfaction_average"] == 5.0 and stats["escalated"] == 1 and stats["queue_length"] == 0
    assert {a["name"] for a in stats["agents_online"]} >= {"王敏"}
    assert client.get("/v1/agent/stats", headers=agent).status_code == 403
    actions = [r["data"]["action"] for r in client.app.state.engine.audit.records(conversation_id=cid)
               if r["event"] == "agent_action"]
    assert actions[:1] == ["claim"] and "resolve" in actions and actions.count("reply") == 3 and "note" in actions


def test_transfer_and_hand_back(client) -> None:
    wang, li = sign_in(client, "wangmin"), sign_in(client, "lijun")
    cid = client.post("/v1/conversations", headers=ME).json()["id"]
    client.post(f"/v1/conversations/{cid}/messages", headers=ME, json={"text": "转人工"})
    ticket_id = client.get("/v1/agent/queue", headers=wang).json()["queued"][0]["id"]
    assert client.post(f"/v1/agent/tickets/{ticket_id}/claim", headers=wang).status_code == 200
    assert client.post(f"/v1/agent/tickets/{ticket_id}/claim", headers=li).status_code == 409
    moved = client.post(f"/v1/agent/tickets/{ticket_id}/transfer", headers=wang, json={"to": "lijun"})
    assert moved.status_code == 200 and moved.json()["agent_name"] == "李军"
    assert client.post(f"/v1/agent/tickets/{ticket_id}/reply", headers=wang, json={"text": "你好"}).status_code == 409
    assert client.post(f"/v1/agent/tickets/{ticket_id}/handback", headers=li).status_code == 200
    answer = client.post(f"/v1/conversations/{cid}/messages", headers=ME, json={"text": "我的持仓"}).json()
    assert "贵州茅台" in answer["text"]  # the assistant answers again


def test_a_customer_who_reconnects_is_told_at_once_where_they_stand(client) -> None:
    wang = sign_in(client, "wangmin")
    cid = client.post("/v1/conversations", headers=ME).json()["id"]
    client.post(f"/v1/conversations/{cid}/messages", headers=ME, json={"text": "转人工"})
    with client.websocket_connect(f"/v1/conversations/{cid}/stream", headers=ME) as customer:
        status = _until(customer, lambda e: e["type"] == "status")[-1]  # after the replayed history
        assert (status["status"], status["queue_position"], status["current"]) == ("queued", 1, True)
        assert status["estimated_wait_s"] > 0
    ticket_id = client.get("/v1/agent/queue", headers=wang).json()["queued"][0]["id"]
    assert client.post(f"/v1/agent/tickets/{ticket_id}/claim", headers=wang).status_code == 200
    with client.websocket_connect(f"/v1/conversations/{cid}/stream", headers=ME) as customer:
        status = _until(customer, lambda e: e["type"] == "status")[-1]
        assert (status["status"], status["agent_name"]) == ("assigned", "王敏")
    assert client.post(f"/v1/agent/tickets/{ticket_id}/handback", headers=wang).status_code == 200
    with client.websocket_connect(f"/v1/conversations/{cid}/stream", headers=ME) as customer:
        customer.send_json({"type": "message", "text": "我的持仓"})
        events = _until(customer, lambda e: e["type"] == "reply")
        assert not any(e["type"] == "status" for e in events)  # back with the assistant: nothing to announce


def test_the_console_page_is_served(client) -> None:
    page = client.get("/agent")
    assert page.status_code == 200 and "客服工作台" in page.text
    assert client.get("/agent/static/console.js").status_code == 200


def test_agent_add_reads_the_password_from_stdin_never_argv(tmp_path, small_kb_dir, monkeypatch) -> None:
    monkeypatch.setenv("ASSISTANT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ASSISTANT_KB_DIR", str(small_kb_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["agent", "add", "chenyu", "--name", "陈宇", "--role", "supervisor"],
                                    input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
        assert "陈宇" in result.output
        again = CliRunner().invoke(cli, ["agent", "add", "chenyu", "--name", "陈宇"], input=PASSWORD + "\n")
        assert again.exit_code == 2 and "已存在" in again.output
        weak = CliRunner().invoke(cli, ["agent", "add", "zhou", "--name", "周"], input="short\n")
        assert weak.exit_code == 2
        with TestClient(create_app(app_settings(tmp_path, small_kb_dir), ingest_in_background=False)) as client:
            assert client.post("/v1/agent/login", json={"username": "chenyu", "password": PASSWORD}).status_code == 200
    finally:
        get_settings.cache_clear()


def test_two_concurrent_claims_exactly_one_wins(database, tmp_path, small_kb_dir) -> None:
    """Against PostgreSQL when configured (the database fixture), with real threads."""
    database.migrate()
    settings = app_settings(tmp_path, small_kb_dir)
    now = datetime(2026, 11, 25, 10, 30, tzinfo=SHANGHAI)
    service = HandoffService(database, AuditLog(database, audit_keys(settings)), settings, clock=lambda: now,
                             conversations=ConversationStore(database))
    agents = [service.agents.add(f"agent{i}", f"客服{i}", "agent", PASSWORD, now) for i in range(8)]
    for round_ in range(5):
        with database.session() as s:
            s.add(Conversation(id=f"c{round_}", customer_id=None, channel="app", status="queued", state={},
                               created_at=now, updated_at=now))
            s.flush()
            ticket = HandoffTicket(conversation_id=f"c{round_}", kind="live", status="queued", priority="normal",
                                   reason="customer_request", intents=[], profile={}, summary="", created_at=now,
                                   csat_comment="")
            s.add(ticket)
            s.flush()
            ticket_id = ticket.id
        barrier = threading.Barrier(len(agents))
        wins, losses = [], []

        def race(agent: AgentInfo) -> None:
            barrier.wait()
            try:
                service.claim(ticket_id, agent)
                wins.append(agent.id)
            except HandoffError as exc:
                losses.append(exc.code)

        threads = [threading.Thread(target=race, args=(a,)) for a in agents]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1 and losses == ["already_claimed"] * (len(agents) - 1)
        with database.session() as s:
            assert s.get(HandoffTicket, ticket_id).agent_id == wins[0]
            assert s.get(Conversation, f"c{round_}").agent_id == wins[0]


def test_a_wechat_conversation_gets_the_agent_words_through_its_delivery(client) -> None:
    delivered: list[tuple[str, str]] = []
    client.app.state.deliveries["wechat"] = lambda conversation_id, text: delivered.append((conversation_id, text))
    agent = sign_in(client, "wangmin")
    cid = client.post("/v1/conversations", headers=ME, json={"channel": "wechat"}).json()["id"]
    client.post(f"/v1/conversations/{cid}/messages", headers=ME, json={"text": "转人工"})
    ticket_id = client.get("/v1/agent/queue", headers=agent).json()["queued"][0]["id"]
    client.post(f"/v1/agent/tickets/{ticket_id}/claim", headers=agent)
    client.post(f"/v1/agent/tickets/{ticket_id}/reply", headers=agent, json={"text": "您好，我是王敏，请问有什么可以帮您？"})
    client.post(f"/v1/agent/tickets/{ticket_id}/resolve", headers=agent)
    texts = [t for c, t in delivered if c == cid]
    assert len(texts) == 3 and "已接入" in texts[0] and texts[1].startswith("您好，我是王敏") and "打分" in texts[2]


def test_suggestions_answer_the_customers_last_question_from_the_knowledge_base(client) -> None:
    agent = sign_in(client, "wangmin")
    cid = client.post("/v1/conversations", headers=ME).json()["id"]
    client.post(f"/v1/conversations/{cid}/messages", headers=ME, json={"text": "我要转人工"})
    ticket_id = client.get("/v1/agent/queue", headers=agent).json()["queued"][0]["id"]
    assert client.post(f"/v1/agent/tickets/{ticket_id}/claim", headers=agent).status_code == 200
    missing = client.get(f"/v1/agent/tickets/{ticket_id + 1000}/suggestions", headers=agent)
    assert missing.status_code == 404 and missing.json()["error"]["message"]  # the API's error shape
    client.post(f"/v1/conversations/{cid}/messages", headers=ME, json={"text": "卖股票要交印花税吗"})
    body = client.get(f"/v1/agent/tickets/{ticket_id}/suggestions", headers=agent).json()
    assert body["question"] == "卖股票要交印花税吗"
    assert "0.05%" in body["answer"]["text"] and body["answer"]["citations"]
    assert body["passages"] and all(p["chunk_id"] and p["text"] for p in body["passages"])


def test_an_unknown_username_locks_exactly_like_a_real_one(client) -> None:
    """Five failures under a name that does not exist answer what five under a real one answer:
    the lockout does not tell which usernames are staff accounts."""
    answers = {}
    for username in ("wangmin", "nobody-here"):
        seen = [client.post("/v1/agent/login", json={"username": username, "password": "wrong-password"})
                for _ in range(6)]
        answers[username] = [(r.status_code, r.json()) for r in seen]
    assert answers["wangmin"] == answers["nobody-here"]
    assert [status for status, _ in answers["nobody-here"]] == [401] * 5 + [429]
