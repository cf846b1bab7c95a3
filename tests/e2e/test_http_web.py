"""The web page's server side through HTTP: the page and its files, the demo sign-in (and its
absence in production), the passage behind a citation, and the history a page replays."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assistant.app import create_app
from tests.conftest import built
from tests.e2e.test_http_conversations import app_settings


@pytest.fixture
def client(tmp_path, small_kb_dir):
    with TestClient(create_app(app_settings(tmp_path, small_kb_dir), ingest_in_background=False)) as client:
        yield client


def test_the_page_and_its_files_are_served_from_this_origin_only(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "智能客服" in page.text and 'lang="zh-CN"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from the internet
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name, kind in (("chat.js", "text/javascript"), ("chat.css", "text/css")):
        asset = client.get(f"/chat/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert "https://" not in asset.text
    for name in ("index.html", "..%2F__init__.py", "nothing.js"):
        missing = client.get(f"/chat/{name}")
        assert missing.status_code == 404 and missing.json()["error"]["message"]


def test_demo_customers_are_listed_with_masked_names(client) -> None:
    customers = client.get("/v1/demo/customers").json()["customers"]
    by_id = {c["customer_id"]: c for c in customers}
    assert sorted(by_id) == ["100001", "100002", "100003", "100004", "100005", "100006"]
    assert by_id["100001"]["name"] == "王*" and "王磊" not in str(customers)
    assert "风险等级 C4" in by_id["100001"]["description"] and "科创板" in by_id["100001"]["description"]
    assert "风险测评已过期" in by_id["100004"]["description"]
    assert by_id["100005"]["description"] == "开户审核中"


def test_a_demo_sign_in_token_opens_and_streams_the_customers_own_conversation(client) -> None:
    body = client.post("/v1/demo/sign-in", json={"customer_id": "100003"}).json()
    assert body["token_type"] == "bearer" and body["customer"]["name"] == "张*" and body["expires_in"] == 7200
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    conversation = client.post("/v1/conversations", json={"channel": "web"}, headers=bearer).json()
    assert conversation["customer_id"] == "100003" and conversation["channel"] == "web"
    with client.websocket_connect(f"/v1/conversations/{conversation['id']}/stream?access_token={body['access_token']}") as ws:
        ws.send_json({"type": "message", "text": "我的持仓"})
        while (event := ws.receive_json())["type"] != "reply":
            pass
    assert "中国平安" in event["reply"]["text"]


@pytest.mark.parametrize("body, status, code", [
    ({"customer_id": "999999"}, 404, "unknown_customer"),
    ({"customer_id": "1000; drop"}, 422, "invalid_request"),
    ({}, 422, "invalid_request"),
])
def test_a_bad_demo_sign_in_is_refused(client, body, status, code) -> None:
    response = client.post("/v1/demo/sign-in", json=body)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert "access_token" not in response.text


@pytest.mark.parametrize("overrides", [{"environment": "production", "auth_jwt_secret": "s" * 40},
                                       {"web_demo_sign_in": False}])
def test_no_demo_sign_in_in_production_or_when_turned_off(tmp_path, small_kb_dir, embedder, overrides) -> None:
    settings = built(app_settings(tmp_path, small_kb_dir, **overrides), embedder)
    with TestClient(create_app(settings, ingest_in_background=False)) as client:
        assert client.get("/v1/demo/customers").status_code == 404
        refused = client.post("/v1/demo/sign-in", json={"customer_id": "100001"})
        assert refused.status_code == 404 and "access_token" not in refused.text
        assert client.get("/").status_code == 200  # the page itself stays: it says sign-in is not open


def test_a_citation_opens_its_passage_and_the_history_keeps_the_citations(client) -> None:
    me = {"X-Customer-Id": "100002"}
    cid = client.post("/v1/conversations", headers=me).json()["id"]
    reply = client.post(f"/v1/conversations/{cid}/messages", json={"text": "卖出股票的印花税税率是多少"}, headers=me).json()
    citation = reply["citations"][0]
    passage = client.get(f"/v1/kb/passages/{citation['chunk_id']}")
    assert passage.status_code == 200
    body = passage.json()
    assert body["title"] == citation["title"] == "证券交易印花税说明"
    assert body["path"] == citation["path"] and body["source"] == "财政部 税务总局公告2023年第39号"
    assert citation["quote"].strip()[:10] in body["text"]
    # A page replaying the conversation shows the same citations.
    stored = client.get(f"/v1/conversations/{cid}/messages", headers=me).json()["messages"]
    assert [c["chunk_id"] for c in stored[1]["citations"]] == [c["chunk_id"] for c in reply["citations"]]
    assert stored[0]["citations"] == [] and stored[1]["pending_confirmation"] is None


def test_an_unknown_passage_is_a_404(client) -> None:
    for chunk_id in ("no-such-chunk", "x" * 300):
        response = client.get(f"/v1/kb/passages/{chunk_id}")
        assert response.status_code in (404, 422)
        assert response.json()["error"]["message"]
    assert client.get("/v1/kb/passages/no-such-chunk").json()["error"]["code"] == "passage_not_found"


def test_a_pending_confirmation_is_in_the_history_for_a_reloaded_page(client) -> None:
    me = {"X-Customer-Id": "100001"}
    cid = client.post("/v1/conversations", headers=me).json()["id"]
    client.post(f"/v1/conversations/{cid}/messages", json={"text": "买100股五粮液 市价"}, headers=me)
    stored = client.get(f"/v1/conversations/{cid}/messages", headers=me).json()["messages"]
    pending = stored[1]["pending_confirmation"]
    assert pending["kind"] == "place_order" and pending["expires_at"]
