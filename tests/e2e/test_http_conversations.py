"""Conversations and NLU through the HTTP API: binding to a customer, history, restarts, bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assistant.app import create_app
from tests.conftest import built, make_settings

PINNED = "2026-11-25T10:30:00+08:00"
AS = {"100001": {"X-Customer-Id": "100001"}, "100003": {"X-Customer-Id": "100003"}}


def app_settings(tmp_path, small_kb_dir, **overrides):
    return make_settings(tmp_path / "var", small_kb_dir, simulator_now=PINNED, **overrides)


@pytest.fixture
def client(tmp_path, small_kb_dir):
    with TestClient(create_app(app_settings(tmp_path, small_kb_dir), ingest_in_background=False)) as client:
        yield client


def start(client, customer: str | None) -> str:
    response = client.post("/v1/conversations", headers=AS.get(customer, {}))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def say(client, conversation_id: str, text: str, customer: str | None) -> dict:
    response = client.post(f"/v1/conversations/{conversation_id}/messages", json={"text": text},
                           headers=AS.get(customer, {}))
    assert response.status_code == 200, response.text
    return response.json()


def test_nlu_parse_returns_intent_confidence_and_slots(client) -> None:
    body = client.post("/v1/nlu/parse", json={"text": "帮我以1480元买两手茅台"}).json()
    assert body["intent"] == "place_order" and 0 < body["confidence"] <= 1
    slots = body["slots"]
    assert slots["security"]["code"] == "600519" and slots["side"] == "buy"
    assert slots["quantity"] == 200 and slots["price_type"] == "limit" and float(slots["price"]) == 1480


def test_a_conversation_places_an_order_over_http(client) -> None:
    cid = start(client, "100001")
    preview = say(client, cid, "买100股五粮液 市价", "100001")
    assert preview["intent"] == "place_order" and preview["pending_confirmation"]["kind"] == "place_order"
    placed = say(client, cid, "确认", "100001")
    assert "委托已提交" in placed["text"] and placed["pending_confirmation"] is None
    history = client.get(f"/v1/conversations/{cid}/messages", headers=AS["100001"]).json()["messages"]
    assert [m["role"] for m in history] == ["customer", "assistant"] * 2
    assert history[2]["text"] == "确认"


def test_another_customer_gets_404_never_the_conversation(client) -> None:
    cid = start(client, "100001")
    say(client, cid, "我的持仓", "100001")
    for headers in (AS["100003"], {}):
        sent = client.post(f"/v1/conversations/{cid}/messages", json={"text": "我的持仓"}, headers=headers)
        assert sent.status_code == 404 and "持仓" not in sent.text
        read = client.get(f"/v1/conversations/{cid}/messages", headers=headers)
        assert read.status_code == 404 and "贵州茅台" not in read.text


def test_the_dialogue_state_survives_a_restart(tmp_path, small_kb_dir) -> None:
    settings = app_settings(tmp_path, small_kb_dir)
    with TestClient(create_app(settings, ingest_in_background=False)) as first:
        cid = start(first, "100001")
        assert "多少股" in say(first, cid, "我想买五粮液", "100001")["text"]
    with TestClient(create_app(settings, ingest_in_background=False)) as second:
        reply = say(second, cid, "300股", "100001")
        assert "价格" in reply["text"]
        preview = say(second, cid, "市价", "100001")
        assert preview["pending_confirmation"] is not None and "300 股" in preview["text"]


def test_the_development_header_is_ignored_in_production(tmp_path, small_kb_dir, embedder) -> None:
    settings = built(app_settings(tmp_path, small_kb_dir, environment="production"), embedder)
    with TestClient(create_app(settings, ingest_in_background=False)) as client:
        cid = start(client, "100001")
        assert client.post("/v1/conversations", headers=AS["100001"]).json()["customer_id"] is None
        assert "登录" in say(client, cid, "我的余额", "100001")["text"]


@pytest.mark.parametrize("body, status", [
    ({"text": ""}, 422),
    ({"text": "   "}, 422),
    ({"text": "查" * 1001}, 422),
    ({"wrong": "x"}, 422),
])
def test_bad_messages_get_a_clear_4xx(client, body, status) -> None:
    cid = start(client, "100001")
    response = client.post(f"/v1/conversations/{cid}/messages", json=body, headers=AS["100001"])
    assert response.status_code == status
    assert not response.json()["error"]["message"].isascii()


def test_malformed_json_unknown_conversation_and_bad_customer(client) -> None:
    cid = start(client, "100001")
    bad = client.post(f"/v1/conversations/{cid}/messages", content=b"{not json", headers={
        "Content-Type": "application/json", **AS["100001"]})
    assert bad.status_code == 422
    assert client.post("/v1/conversations/nope/messages", json={"text": "你好"}).status_code == 404
    assert client.post("/v1/conversations", headers={"X-Customer-Id": "999999"}).status_code == 401
    assert client.post("/v1/conversations", headers={"X-Customer-Id": "' OR 1=1"}).status_code == 401


def test_a_customer_rates_a_reply_and_the_rating_is_kept_for_review(client) -> None:
    from sqlalchemy import select

    from assistant.storage import MessageRating

    cid = start(client, "100001")
    say(client, cid, "印花税怎么收", "100001")
    messages = client.get(f"/v1/conversations/{cid}/messages", headers=AS["100001"]).json()["messages"]
    mine, answer = messages[0]["id"], messages[1]["id"]
    url = f"/v1/conversations/{cid}/messages/{{}}/rating"
    ok = client.put(url.format(answer), headers=AS["100001"], json={"rating": "down", "reason": "没说清楚，回电13912345678"})
    assert ok.status_code == 200 and ok.json() == {"message_id": answer, "rating": "down"}
    assert client.put(url.format(mine), headers=AS["100001"], json={"rating": "up"}).status_code == 404  # one's own words
    assert client.put(url.format(answer), headers=AS["100003"], json={"rating": "up"}).status_code == 404  # not theirs
    assert client.put(url.format(answer), headers=AS["100001"], json={"rating": "meh"}).status_code == 422
    with client.app.state.db.session() as s:
        row = s.scalars(select(MessageRating)).one()
    assert row.rating == "down" and "13912345678" not in row.reason and "139****5678" in row.reason
    assert [r["event"] for r in client.app.state.engine.audit.records(conversation_id=cid)][-1] == "rating"


def test_the_history_carries_each_reply_s_data_for_a_page_to_draw(client) -> None:
    cid = start(client, "100001")
    say(client, cid, "查一下我的持仓", "100001")
    say(client, cid, "可转债的强赎条款是怎么规定的", "100001")
    history = client.get(f"/v1/conversations/{cid}/messages", headers=AS["100001"]).json()["messages"]
    holdings, not_found = history[1], history[3]
    codes = {p["code"] for p in holdings["data"]["positions"]}
    assert "600519" in codes and holdings["action"] == "run_tool" and holdings["unanswered"] is False
    assert all(m["data"] is None for m in history if m["role"] == "customer")
    assert not_found["unanswered"] is True and not_found["citations"] == []


def test_suggested_questions_are_those_the_knowledge_base_answers(tmp_path, small_kb_dir) -> None:
    asked = ["科创板股票最少买多少股？", "港股打新有哪些费用？"]
    with TestClient(create_app(app_settings(tmp_path, small_kb_dir, chat_suggested_questions=asked),
                               ingest_in_background=False)) as client:
        assert client.get("/v1/kb/suggestions").json() == {"questions": asked[:1]}
