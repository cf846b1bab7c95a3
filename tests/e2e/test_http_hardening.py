"""Hostile and malformed input through the HTTP API and the WebSocket: each answered with a clear
4xx in Chinese (never a 500), the socket kept open, nothing stored with a control character in
it, and no bearer token in a log line."""

from __future__ import annotations

import json
import logging
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from assistant.app import create_app
from assistant.channels.tokens import mint
from assistant.storage import ConversationMessage, WeChatInbound
from tests.conftest import make_settings
from tests.e2e.test_wechat import TOKEN, message, push, sign
from tests.fake_wechat import APPID, SECRET

PINNED = "2026-11-25T10:30:00+08:00"
ME = {"X-Customer-Id": "100001"}
PASSWORD = "correct-horse-battery"
HUGE = ["2147483648", "9223372036854775808", "18446744073709551616"]


def settings_for(var, kb_dir, **overrides):
    return make_settings(var, kb_dir, simulator_now=PINNED, wechat_token=TOKEN, wechat_appid=APPID,
                         wechat_app_secret=SECRET, wechat_api_base_url="http://127.0.0.1:9", **overrides)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from assistant.settings import PROJECT_ROOT

    kb = PROJECT_ROOT / "tests" / "fixtures" / "kb_small"
    var = tmp_path_factory.mktemp("hardening")
    with TestClient(create_app(settings_for(var, kb), ingest_in_background=False)) as client:
        client.app.state.handoff.agents.add("wangmin", "王敏", "agent", PASSWORD, client.app.state.handoff.clock())
        yield client


def staff(client, role: str = "compliance") -> dict:
    return {"Authorization": f"Bearer {mint(client.app.state.settings, 'staff-1', roles=[role])}"}


def agent_headers(client) -> dict:
    token = client.post("/v1/agent/login", json={"username": "wangmin", "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def chinese_4xx(response, status: int = 422) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and not error["message"].isascii(), error
    return error


def new_conversation(client) -> str:
    return client.post("/v1/conversations", headers=ME).json()["id"]


# --- ids, cursors and dates beyond the columns' range ----------------------------------------------


@pytest.mark.parametrize("huge", HUGE)
def test_ids_and_cursors_beyond_the_column_range_get_422(client, huge) -> None:
    cid = new_conversation(client)
    error = chinese_4xx(client.get(f"/v1/conversations/{cid}/messages", params={"after": huge}, headers=ME))
    assert "after" in error["message"]
    chinese_4xx(client.put(f"/v1/conversations/{cid}/messages/{huge}/rating", json={"rating": "up"}, headers=ME))
    agent = agent_headers(client)
    for method, path, body in (("GET", "", None), ("POST", "/claim", None), ("POST", "/reply", {"text": "您好"}),
                               ("POST", "/notes", {"text": "备注"}), ("GET", "/suggestions", None),
                               ("POST", "/transfer", {"to": "wangmin"}), ("POST", "/handback", None),
                               ("POST", "/resolve", None)):
        chinese_4xx(client.request(method, f"/v1/agent/tickets/{huge}{path}", json=body, headers=agent))
    chinese_4xx(client.get("/v1/compliance/audit", params={"after": huge}, headers=staff(client)))


def test_the_last_day_of_the_calendar_is_a_422_not_an_overflow(client) -> None:
    error = chinese_4xx(client.get("/v1/compliance/audit", params={"to": "9999-12-31"}, headers=staff(client)))
    assert "to" in error["message"]
    ok = client.get("/v1/compliance/audit", params={"from": "2026-01-01", "to": "2026-12-31"}, headers=staff(client))
    assert ok.status_code == 200


# --- control characters --------------------------------------------------------------------------


def test_control_characters_are_stripped_before_anything_stores_them(client) -> None:
    cid = new_conversation(client)
    sent = client.post(f"/v1/conversations/{cid}/messages", json={"text": "你好\x00，\x07请问开户\x1b要带什么"}, headers=ME)
    assert sent.status_code == 200, sent.text
    with client.app.state.db.session() as s:
        texts = s.scalars(select(ConversationMessage.text).where(ConversationMessage.conversation_id == cid)).all()
    assert texts[0] == "你好，请问开户要带什么"
    assert not any(c in t for t in texts for c in "\x00\x07\x1b")
    # Nothing but control characters is an empty message.
    error = chinese_4xx(client.post(f"/v1/conversations/{cid}/messages", json={"text": "\x00\x01"}, headers=ME))
    assert "text" in error["message"]
    # A sign-in name with a NUL is a wrong name, not a database error.
    login = client.post("/v1/agent/login", json={"username": "wang\x00min", "password": "x"})
    assert login.status_code == 401 and login.json()["error"]["message"] == "用户名或密码错误。"


def test_a_wechat_text_loses_its_control_characters_and_a_shared_page_its_personal_data(client) -> None:
    openid = "o" + uuid.uuid4().hex[:27]
    assert push(client, message(openid, "开户\x00需要什么")).status_code == 200
    page = {**message(openid), "MsgType": "miniprogrampage", "MsgId": str(uuid.uuid4().int % 10**16),
            "Title": "王先生 139.1234.5678 的持仓", "PagePath": "pages/share?phone=13912345678&card=6222021234567890128"}
    assert push(client, page).status_code == 200
    with client.app.state.db.session() as s:
        rows = s.scalars(select(WeChatInbound).where(WeChatInbound.openid == openid).order_by(WeChatInbound.id)).all()
        stored = [(r.content, json.dumps(r.payload, ensure_ascii=False)) for r in rows]
    assert all("\x00" not in content for content, _ in stored)
    kept = " ".join(payload for _, payload in stored)
    for secret in ("1234.5678", "13912345678", "6222021234567890128"):
        assert secret not in kept, kept


# --- WeChat push: signature before parsing, bounded depth --------------------------------------------


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_a_deeply_nested_push_is_refused_signed_or_not(client) -> None:
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    unsigned = client.post("/v1/wechat/push", params={"signature": "x", "timestamp": ts, "nonce": nonce,
                                                      "encrypt_type": "aes", "msg_signature": "forged"},
                           content=('{"Encrypt": ' + _deep(5000) + "}").encode())
    assert unsigned.status_code in (400, 403) and not unsigned.json()["error"]["message"].isascii()
    signed = push(client, '{"FromUserName": ' + _deep(5000) + "}")
    chinese_4xx(signed, 400)


def test_a_secure_mode_push_is_not_parsed_before_its_signature(tmp_path, open_client) -> None:
    from assistant.settings import PROJECT_ROOT
    from tests.e2e.test_wechat import AES_KEY

    secure = open_client(settings_for(tmp_path / "var", PROJECT_ROOT / "tests" / "fixtures" / "kb_small",
                                      wechat_encoding_aes_key=AES_KEY))
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    for body in ('{"ToUserName": "gh", "Encrypt": "QUJD", "x": ' + _deep(3000) + "}",
                 "<xml><Encrypt><![CDATA[QUJD]]></Encrypt></xml>"):
        forged = secure.post("/v1/wechat/push", content=body.encode(), params={
            "signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
            "msg_signature": "0" * 40})
        assert forged.status_code == 403 and forged.json()["error"]["code"] == "bad_signature"


# --- the customer's WebSocket ------------------------------------------------------------------------


def _next_error(ws) -> dict:
    while True:
        event = ws.receive_json()
        if event["type"] == "error":
            return event["error"]


def _reply(ws) -> dict:
    while True:
        event = ws.receive_json()
        if event["type"] == "reply":
            return event["reply"]


def test_bad_socket_frames_are_answered_and_the_socket_stays_open(client) -> None:
    cid = new_conversation(client)
    with client.websocket_connect(f"/v1/conversations/{cid}/stream?after={2**64}", headers=ME) as ws:
        assert _next_error(ws)["code"] == "invalid_request"
        ws.send_bytes(b"\x00\x01binary")
        assert _next_error(ws)["code"] == "invalid_request"
        ws.send_text('{"type": "message", "text": ' + _deep(5000) + "}")
        assert _next_error(ws)["code"] == "invalid_request"
        ws.send_json({"type": "message", "text": {"a": 1}})
        assert _next_error(ws)["code"] == "invalid_request"
        ws.send_json({"type": "message", "text": "开户需要带什么证件"})
        assert _reply(ws)["text"]  # still open, still answering
    history = client.get(f"/v1/conversations/{cid}/messages", headers=ME).json()["messages"]
    assert [m["text"] for m in history if m["role"] == "customer"] == ["开户需要带什么证件"]  # "{'a': 1}" never ran


def test_bad_console_frames_are_answered_and_the_console_stays_open(client) -> None:
    token = agent_headers(client)["Authorization"].split()[1]
    with client.websocket_connect(f"/v1/agent/stream?access_token={token}") as ws:
        assert ws.receive_json()["type"] == "queue"
        for frame in ({"type": "open", "ticket_id": 2**64}, {"type": "open", "ticket_id": 1, "after": 2**64},
                      {"type": "reply", "ticket_id": 2**40, "text": "您好"}, {"type": "reply", "ticket_id": 1, "text": [1]}):
            ws.send_json(frame)
            assert _next_error(ws)["code"] == "invalid_request"
        ws.send_bytes(b"\xff")
        assert _next_error(ws)["code"] == "invalid_request"
        ws.send_json({"type": "ping"})
        while ws.receive_json()["type"] != "pong":
            pass


# --- bodies: missing, too large -----------------------------------------------------------------------


def test_an_empty_body_names_the_field_it_needs(client) -> None:
    cid = new_conversation(client)
    error = chinese_4xx(client.post(f"/v1/conversations/{cid}/messages", headers=ME))
    assert "text" in error["message"]
    error = chinese_4xx(client.post("/v1/agent/login"))
    assert "username" in error["message"] and "password" in error["message"]


def test_a_body_over_the_limit_gets_413_before_it_is_parsed(client) -> None:
    limit = client.app.state.settings.request_max_bytes
    big = json.dumps({"text": "查" * limit}).encode()
    for path in ("/v1/nlu/parse", "/v1/kb/search", "/v1/agent/login", f"/v1/conversations/{new_conversation(client)}/messages"):
        error = chinese_4xx(client.post(path, content=big, headers={"Content-Type": "application/json", **ME}), 413)
        assert error["code"] == "too_large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(limit // 1024 + 2):
            yield b" " * 1024

    error = chinese_4xx(client.post("/v1/nlu/parse", content=chunks(), headers={"Content-Type": "application/json"}), 413)
    assert error["code"] == "too_large"


# --- bearer tokens never in a log line ----------------------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_socket_tokens_never_reach_the_access_log(tmp_path) -> None:
    """A real uvicorn server, its access and error logs captured: the token in ?access_token= is redacted."""
    from websockets.sync.client import connect

    from assistant.settings import PROJECT_ROOT
    from eval.local_server import LocalServer

    app = create_app(settings_for(tmp_path / "var", PROJECT_ROOT / "tests" / "fixtures" / "kb_small"),
                     ingest_in_background=False)
    server = LocalServer(app)  # its logging configured first: the capture is added after
    capture = _Lines()
    capture.setFormatter(logging.Formatter("%(name)s %(message)s"))
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error")]
    saved = [(lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.addHandler(capture)
        lg.setLevel(logging.INFO)
    try:
        with server:
            server._server.config.access_log = True
            customer = mint(app.state.settings, "100001")
            with httpx.Client(base_url=server.base_url, timeout=60) as http:
                cid = http.post("/v1/conversations", headers={"Authorization": f"Bearer {customer}"}).json()["id"]
                http.get(f"/v1/conversations/{cid}/messages", params={"access_token": customer})

            url = f"ws://127.0.0.1:{server.port}/v1/conversations/{cid}/stream?access_token={customer}"
            with connect(url) as ws:
                ws.send(json.dumps({"type": "ping"}))
                ws.recv(timeout=30)
            time.sleep(0.2)
    finally:
        for lg, (level, disabled) in zip(loggers, saved):
            lg.removeHandler(capture)
            lg.setLevel(level)
            lg.disabled = disabled
    joined = "\n".join(capture.lines)
    assert "access_token=[redacted]" in joined, joined  # the lines were written, and checked
    assert customer not in joined and customer.split(".")[2] not in joined


def test_nul_characters_are_no_database_error_on_either_store(database, tmp_path, open_client) -> None:
    """PostgreSQL refuses NUL in a TEXT column: a chat message, a sign-in name and an agent's reply
    carrying one are answered normally on it as on SQLite."""
    from assistant.settings import PROJECT_ROOT

    client = open_client(settings_for(tmp_path / "var", PROJECT_ROOT / "tests" / "fixtures" / "kb_small",
                                      database_url=database.url.render_as_string(hide_password=False)))
    client.app.state.handoff.agents.add("wangmin", "王敏", "agent", PASSWORD, client.app.state.handoff.clock())
    agent = agent_headers(client)  # online: the escalation below is queued for a person
    cid = new_conversation(client)
    assert client.post(f"/v1/conversations/{cid}/messages", json={"text": "我要转人工\x00"}, headers=ME).status_code == 200
    assert client.post("/v1/agent/login", json={"username": "wang\x00min", "password": "x"}).status_code == 401
    ticket = client.get("/v1/agent/queue", headers=agent).json()["queued"][0]["id"]
    assert client.post(f"/v1/agent/tickets/{ticket}/claim", headers=agent).status_code == 200
    reply = client.post(f"/v1/agent/tickets/{ticket}/reply", json={"text": "您好\x00，我是王敏。"}, headers=agent)
    assert reply.status_code == 200 and reply.json()["text"] == "您好，我是王敏。"
    openid = "o" + uuid.uuid4().hex[:27]
    assert push(client, message(openid, "开户\x00需要什么")).status_code == 200
