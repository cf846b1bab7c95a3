"""The service through its HTTP API: health, search, answers, and clear errors for bad requests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assistant.app import create_app
from tests.conftest import make_settings


@pytest.fixture
def client(tmp_path, small_kb_dir):
    settings = make_settings(tmp_path / "var", small_kb_dir)
    with TestClient(create_app(settings, ingest_in_background=False)) as client:
        yield client


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert not error["message"].isascii()  # a Chinese message the customer can act on
    return error


def test_health_and_readiness(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["checks"] == {"database": True, "embeddings": True, "index": True,
                                                            "faq": True, "intent_model": True, "models": True}
    assert body["indexed_chunks"] > 0 and body["loading"] == []


def test_not_ready_until_the_index_exists(tmp_path, small_kb_dir) -> None:
    settings = make_settings(tmp_path / "var", small_kb_dir, ingest_on_startup=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503 and "knowledge_base_index" in not_ready.json()["loading"]
        error = assert_error(client.post("/v1/kb/answer", json={"question": "印花税多少"}), 503)
        assert error["code"] == "index_not_ready"


def test_search_returns_ranked_hits_with_metadata(client) -> None:
    response = client.post("/v1/kb/search", json={"query": "银证转账几点到几点", "k": 3})
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert 1 <= len(hits) <= 3
    top = hits[0]
    assert top["title"] == "银证转账指南" and top["doc_type"] == "manual"
    assert "8:30–16:00" in top["text"] and top["section"] == "一、转账时间"
    assert top["chunk_id"].startswith("manuals/transfer.md::")
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_filters_by_doc_type(client) -> None:
    hits = client.post("/v1/kb/search", json={"query": "印花税", "k": 10, "doc_type": "faq"}).json()["hits"]
    assert hits and {h["doc_type"] for h in hits} == {"faq"}


def test_answer_with_citations(client) -> None:
    body = client.post("/v1/kb/answer", json={"question": "买ETF要交印花税吗"}).json()
    assert body["found"] and not body["handoff_suggested"]
    assert "ETF" in body["answer"] and "[1]" in body["answer"]
    citation = body["citations"][0]
    assert citation["title"] == "证券交易印花税说明" and citation["quote"]


def test_unknown_question_offers_a_human_agent(client) -> None:
    body = client.post("/v1/kb/answer", json={"question": "附近有什么好吃的火锅店"}).json()
    assert body == {**body, "found": False, "citations": [], "handoff_suggested": True}
    assert "人工" in body["answer"]


@pytest.mark.parametrize(
    ("path", "payload", "fragment"),
    [
        ("/v1/kb/search", {"query": ""}, "query"),
        ("/v1/kb/search", {"query": "   "}, "不能为空"),
        ("/v1/kb/search", {"query": "印花税", "k": 0}, "k"),
        ("/v1/kb/search", {"query": "印花税", "doc_type": "news"}, "doc_type"),
        ("/v1/kb/search", {}, "缺少"),
        ("/v1/kb/answer", {"question": "问" * 501}, "过长"),
        ("/v1/kb/answer", {"question": 123}, "question"),
    ],
)
def test_bad_requests_get_a_clear_422(client, path: str, payload: dict, fragment: str) -> None:
    error = assert_error(client.post(path, json=payload), 422)
    assert fragment in error["message"]


def test_malformed_json_is_a_422_not_a_500(client) -> None:
    response = client.post("/v1/kb/answer", content='{"question": "印花'.encode(), headers={"content-type": "application/json"})
    assert "JSON" in assert_error(response, 422)["message"]


def test_unknown_route_and_method(client) -> None:
    assert_error(client.get("/v1/nothing-here"), 404)
    assert_error(client.get("/v1/kb/answer"), 405)
