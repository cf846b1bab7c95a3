"""The console's ticket list over HTTP with a thousand tickets: the urgent first, then by priority and
waiting time; the counts of each group; filters and pages checked and applied by the server."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from assistant.app import create_app
from assistant.handoff.service import PRIORITY_RANK
from eval.floor import seed_floor
from tests.conftest import FIXTURES
from tests.e2e.test_http_conversations import app_settings

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def floor_client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("floor")
    shutil.copytree(FIXTURES / "kb_small", tmp / "kb")
    with TestClient(create_app(app_settings(tmp, tmp / "kb"), ingest_in_background=False)) as client:
        service = client.app.state.handoff
        now = service.clock()
        service.agents.add("wangmin", "王敏", "agent", PASSWORD, now)
        floor = seed_floor(client.app.state.db, now, tickets=1000)
        token = client.post("/v1/agent/login", json={"username": "wangmin", "password": PASSWORD}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, floor


def test_the_live_queue_puts_the_urgent_first_then_priority_then_the_longest_wait(floor_client) -> None:
    client, floor = floor_client
    body = client.get("/v1/agent/tickets").json()
    assert body["total"] == floor.queued and body["counts"]["live"] == floor.queued
    assert body["counts"]["callbacks"] == floor.callbacks
    assert sum(body["counts"][g] for g in ("live", "callbacks", "assigned")) + body["counts"]["resolved_today"] <= 1000
    first = body["tickets"][:2]
    assert sorted(t["id"] for t in first) == sorted(floor.urgent_ids)  # the newest tickets, yet first
    assert [t["queue_position"] for t in first] == [1, 2]
    keys = [(PRIORITY_RANK[t["priority"]], -t["waiting_s"]) for t in body["tickets"]]
    assert keys == sorted(keys)
    assert len(body["tickets"]) == 50 and body["pages"] == -(-floor.queued // 50)


def test_pages_follow_on_without_gaps_or_repeats(floor_client) -> None:
    client, floor = floor_client
    seen = []
    for page in range(1, 4):
        seen += [t["id"] for t in client.get("/v1/agent/tickets", params={"group": "callbacks", "page": page,
                                                                           "page_size": 40}).json()["tickets"]]
    assert len(seen) == len(set(seen)) == 120
    beyond = client.get("/v1/agent/tickets", params={"group": "callbacks", "page": 999}).json()
    assert beyond["page"] == beyond["pages"] and beyond["tickets"]  # the last page, not an empty one


def test_filters_narrow_the_list_and_the_counts(floor_client) -> None:
    client, _ = floor_client
    high = client.get("/v1/agent/tickets", params={"group": "callbacks", "priority": "high", "channel": "wechat"}).json()
    assert high["tickets"] and all(t["priority"] == "high" and t["channel"] == "wechat" for t in high["tickets"])
    everything = client.get("/v1/agent/tickets", params={"group": "callbacks"}).json()
    assert high["counts"]["callbacks"] < everything["counts"]["callbacks"]
    complaints = client.get("/v1/agent/tickets", params={"group": "callbacks", "reason": "complaint"}).json()
    assert complaints["tickets"] and {t["reason"] for t in complaints["tickets"]} == {"complaint"}
    assert "complaint" in everything["reasons"] and "fraud_victim" in everything["reasons"]
    one = everything["tickets"][5]["customer_id"]
    found = client.get("/v1/agent/tickets", params={"group": "callbacks", "customer": one}).json()
    assert one in {t["customer_id"] for t in found["tickets"]}
    assert all(t["customer_id"].startswith(one) for t in found["tickets"])
    none = client.get("/v1/agent/tickets", params={"customer": "999999999"}).json()
    assert none["total"] == 0 and none["tickets"] == [] and none["pages"] == 1


@pytest.mark.parametrize("params", [{"group": "everything"}, {"priority": "critical"}, {"channel": "fax"},
                                    {"customer": "10%"}, {"reason": "DROP TABLE"}, {"page": 0},
                                    {"page_size": 1000}])
def test_a_bad_filter_is_refused_in_chinese(floor_client, params) -> None:
    client, _ = floor_client
    response = client.get("/v1/agent/tickets", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and not error["message"].isascii()


def test_a_call_back_whose_customer_is_still_writing_is_marked_online_and_can_be_taken_live(floor_client) -> None:
    client, floor = floor_client
    found = client.get("/v1/agent/tickets", params={"group": "callbacks", "page_size": 200, "page": 1}).json()
    pages = [found] + [client.get("/v1/agent/tickets", params={"group": "callbacks", "page_size": 200, "page": p}).json()
                       for p in range(2, found["pages"] + 1)]
    tickets = [t for p in pages for t in p["tickets"]]
    online = [t for t in tickets if t["customer_online"]]
    assert [t["id"] for t in online] == [floor.online_callback_id]
    claimed = client.post(f"/v1/agent/tickets/{floor.online_callback_id}/claim")
    assert claimed.status_code == 200 and claimed.json()["status"] == "assigned"
    mine = client.get("/v1/agent/tickets", params={"group": "mine"}).json()
    assert [t["id"] for t in mine["tickets"]] == [floor.online_callback_id]
    assert mine["counts"]["callbacks"] == floor.callbacks - 1


def test_a_customer_token_opens_no_ticket_list(floor_client) -> None:
    client, _ = floor_client
    from assistant.channels.tokens import mint

    customer = {"Authorization": f"Bearer {mint(client.app.state.settings, '100001')}"}
    assert client.get("/v1/agent/tickets", headers=customer).status_code == 403
