"""The WebSocket stream: replies and typing as they happen, messages from elsewhere pushed, a
reconnect replaying exactly what was missed, and events crossing workers through Redis."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from assistant.app import create_app
from assistant.channels.tokens import mint
from tests.e2e.test_http_conversations import app_settings
from tests.e2e.test_http_identity import REDIS_URL, _redis_available
from tests.fake_openai import FakeOpenAI

ME = {"X-Customer-Id": "100001"}


@pytest.fixture
def client(tmp_path, small_kb_dir):
    with TestClient(create_app(app_settings(tmp_path, small_kb_dir), ingest_in_background=False)) as client:
        yield client


def _until(ws, kind: str) -> list[dict]:
    events = []
    while True:
        event = ws.receive_json()
        events.append(event)
        if event["type"] == kind:
            return events


def _turn(ws) -> list[dict]:
    """A turn's events: the reply, and the turn's two stored messages, pushed once the turn has
    committed — before or after the reply, as the commit and the socket happen to interleave."""
    events: list[dict] = []
    while not (any(e["type"] == "reply" for e in events) and sum(e["type"] == "message" for e in events) >= 2):
        events.append(ws.receive_json())
    return events


def test_a_turn_over_the_socket_gets_typing_its_messages_and_the_reply(client) -> None:
    cid = client.post("/v1/conversations", headers=ME).json()["id"]
    token = mint(client.app.state.settings, "100001")
    with client.websocket_connect(f"/v1/conversations/{cid}/stream?access_token={token}") as ws:
        ws.send_json({"type": "message", "text": "我的持仓"})
        events = _turn(ws)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "typing" and "reply" in kinds
    messages = [e["message"] for e in events if e["type"] == "message"]
    assert [m["role"] for m in messages] == ["customer", "assistant"]
    assert "贵州茅台" in messages[1]["text"]


def test_a_message_sent_elsewhere_is_pushed_and_a_reconnect_replays_exactly_what_was_missed(client) -> None:
    cid = client.post("/v1/conversations", headers=ME).json()["id"]
    with client.websocket_connect(f"/v1/conversations/{cid}/stream", headers=ME) as ws:
        client.post(f"/v1/conversations/{cid}/messages", headers=ME, json={"text": "你好"})
        first = [ws.receive_json(), ws.receive_json()]
    assert [e["message"]["role"] for e in first] == ["customer", "assistant"]
    last_seen = first[-1]["message"]["id"]
    # While disconnected, two more turns happen over REST.
    client.post(f"/v1/conversations/{cid}/messages", headers=ME, json={"text": "茅台多少钱"})
    client.post(f"/v1/conversations/{cid}/messages", headers=ME, json={"text": "谢谢"})
    with client.websocket_connect(f"/v1/conversations/{cid}/stream?after={last_seen}", headers=ME) as ws:
        replayed = [ws.receive_json() for _ in range(4)]
        ws.send_json({"type": "message", "text": "再见"})
        later = _turn(ws)
    ids = [e["message"]["id"] for e in replayed + later if e["type"] == "message"]
    assert ids == sorted(set(ids)) and min(ids) > last_seen and len(ids) == 6  # none lost, none twice
    assert [e["message"]["text"] for e in replayed][0] == "茅台多少钱"


def test_bad_frames_get_an_error_and_the_stream_goes_on(client) -> None:
    cid = client.post("/v1/conversations", headers=ME).json()["id"]
    with client.websocket_connect(f"/v1/conversations/{cid}/stream", headers=ME) as ws:
        ws.send_text("{not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "message", "text": ""})
        assert ws.receive_json()["error"]["code"] == "invalid_request"
        ws.send_json({"type": "message", "text": "你好"})
        assert "reply" in [e["type"] for e in _until(ws, "reply")]


def test_someone_elses_conversation_cannot_be_streamed(client) -> None:
    cid = client.post("/v1/conversations", headers=ME).json()["id"]
    with pytest.raises(Exception):
        with client.websocket_connect(f"/v1/conversations/{cid}/stream", headers={"X-Customer-Id": "100003"}) as ws:
            ws.receive_json()


@pytest.mark.skipif(not _redis_available(), reason="no Redis at 127.0.0.1:6379")
def test_a_message_stored_by_one_worker_reaches_a_socket_on_another(tmp_path, small_kb_dir) -> None:
    settings = app_settings(tmp_path, small_kb_dir, redis_url=REDIS_URL)
    with TestClient(create_app(settings, ingest_in_background=False)) as worker_a, \
            TestClient(create_app(settings, ingest_in_background=False)) as worker_b:
        assert worker_a.app.state.events is not worker_b.app.state.events
        cid = worker_a.post("/v1/conversations", headers=ME).json()["id"]
        with worker_b.websocket_connect(f"/v1/conversations/{cid}/stream", headers=ME) as ws:
            time.sleep(0.3)  # let the subscription go live, so the push (not the replay) is what delivers
            worker_a.post(f"/v1/conversations/{cid}/messages", headers=ME, json={"text": "你好"})
            pushed = [ws.receive_json(), ws.receive_json()]
    assert [e["message"]["role"] for e in pushed] == ["customer", "assistant"]


def _streamed_turn(tmp_path, small_kb_dir, answer: str, judge: str | None = None) -> tuple[list[dict], list[dict]]:
    """One knowledge question over the socket, the LLM (a local fake) streaming `answer` in pieces
    of three characters; returns the LLM's requests and the events up to the final reply. With
    `judge` (its JSON answer to the output review), the guard judge is on; without, it is off."""
    def reply(messages: list[dict]) -> str:
        if "合规审查员" not in messages[0]["content"]:
            return answer
        return judge if "<text>" in messages[-1]["content"] else '{"rules": [], "handoff": null}'

    with FakeOpenAI(reply, chunk_chars=3) as server:
        settings = app_settings(tmp_path, small_kb_dir, llm_base_url=server.base_url, llm_timeout_s=10,
                                guard_judge=judge is not None)
        with TestClient(create_app(settings, ingest_in_background=False)) as client:
            cid = client.post("/v1/conversations", headers=ME).json()["id"]
            with client.websocket_connect(f"/v1/conversations/{cid}/stream", headers=ME) as ws:
                ws.send_json({"type": "message", "text": "卖股票要交多少印花税"})
                return server.requests, _until(ws, "reply")


def test_an_llm_answer_streams_sentence_by_sentence_before_the_final_reply(tmp_path, small_kb_dir) -> None:
    answer = "卖出股票时，按成交金额的0.05%缴纳印花税[1]。买入股票不收印花税[1]。"
    requests, events = _streamed_turn(tmp_path, small_kb_dir, answer)
    assert requests and requests[0].get("stream") is True
    partials = [e["text"] for e in events if e["type"] == "partial"]
    reply = events[-1]["reply"]
    # Whole sentences only, each draft extending the one before, all before the final reply.
    assert partials[0] == "卖出股票时，按成交金额的0.05%缴纳印花税[1]。"
    assert partials[-1] == answer
    assert all(b.startswith(a) for a, b in zip(partials, partials[1:]))
    assert reply["text"].startswith(answer) and reply["citations"]


def test_a_streamed_answer_stops_at_a_violation_and_the_final_reply_is_the_guarded_one(tmp_path, small_kb_dir) -> None:
    answer = "卖出股票时，按成交金额的0.05%缴纳印花税[1]。现在买入贵州茅台稳赚不赔，保证年化收益20%[1]。"
    _, events = _streamed_turn(tmp_path, small_kb_dir, answer)
    partials = [e["text"] for e in events if e["type"] == "partial"]
    assert partials == ["卖出股票时，按成交金额的0.05%缴纳印花税[1]。"]  # the promise never reached the screen
    reply = events[-1]["reply"]
    assert "稳赚" not in reply["text"] and "20%" not in reply["text"]
    assert any(flag.startswith("output:") for flag in reply["flags"])


def test_with_the_guard_judge_nothing_shows_before_it_has_read_the_answer(tmp_path, small_kb_dir) -> None:
    answer = "卖出股票时，按成交金额的0.05%缴纳印花税[1]。这类费用各家都一样，但我们家的服务您用过就离不开了[1]。"
    verdict = '{"violations": [{"rule": "misleading_promotion", "span": "我们家的服务您用过就离不开了"}]}'
    requests, events = _streamed_turn(tmp_path, small_kb_dir, answer, judge=verdict)
    assert [e for e in events if e["type"] == "partial"] == []
    reply = events[-1]["reply"]
    assert "离不开" not in reply["text"] and "output:misleading_promotion" in reply["flags"]
    judged = [r for r in requests if "合规审查员" in r["messages"][0]["content"]]
    assert len(judged) == 2  # the customer's message on the way in, the answer on the way out


def test_turns_over_the_socket_count_against_the_rate_limit_and_the_stream_goes_on(tmp_path, small_kb_dir) -> None:
    settings = app_settings(tmp_path, small_kb_dir, rate_limit_customer_per_minute=2)
    with TestClient(create_app(settings, ingest_in_background=False)) as client:
        cid = client.post("/v1/conversations", headers=ME).json()["id"]
        with client.websocket_connect(f"/v1/conversations/{cid}/stream", headers=ME) as ws:
            for text in ("你好", "我的持仓"):
                ws.send_json({"type": "message", "text": text})
                _until(ws, "reply")
            ws.send_json({"type": "message", "text": "我的余额"})
            error = _until(ws, "error")[-1]["error"]
            assert error["code"] == "rate_limited" and "秒后再试" in error["message"]
            ws.send_text("{not json")  # still connected and answering
            assert ws.receive_json()["error"]["code"] == "invalid_request"
        roles = [m["role"] for m in client.get(f"/v1/conversations/{cid}/messages", headers=ME).json()["messages"]]
    assert roles == ["customer", "assistant"] * 2  # the refused turn was not run
