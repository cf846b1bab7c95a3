"""Voice through the HTTP API: /v1/stt, a spoken turn in a conversation, the refusals."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from assistant.app import create_app
from tests.conftest import CLIPS, assistant_orders, make_settings
from tests.speech.test_audio import encoded, wav_bytes

PINNED = "2026-11-25T10:30:00+08:00"
AS = {"X-Customer-Id": "100001"}


@pytest.fixture
def client(tmp_path, small_kb_dir, recognizer):  # `recognizer`: the model is loaded once per session
    settings = make_settings(tmp_path / "var", small_kb_dir, simulator_now=PINNED, stt_max_bytes=2 * 1024 * 1024)
    with TestClient(create_app(settings, ingest_in_background=False)) as client:
        yield client


def clip(name: str) -> bytes:
    return (CLIPS / f"{name}.wav").read_bytes()


def upload(data: bytes, filename: str = "voice.wav", content_type: str = "audio/wav") -> dict:
    return {"audio": (filename, data, content_type)}


def test_stt_returns_text_raw_text_language_duration_confidence(client) -> None:
    response = client.post("/v1/stt", files=upload(clip("dv03")))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == "买入100股贵州茅台。" and body["language"] == "zh"
    assert body["raw_text"] and 2.0 < body["duration_s"] < 2.3 and 0 < body["confidence"] <= 1
    assert isinstance(body["corrections"], list)


def test_stt_takes_a_wechat_voice_note(client, buy_samples) -> None:
    silk = encoded(buy_samples, "silk")
    response = client.post("/v1/stt", files=upload(silk, "voice.silk", "application/octet-stream"))
    assert response.status_code == 200 and "贵州茅台" in response.json()["text"]


@pytest.mark.parametrize("data, status, code", [
    (b"", 400, "audio_empty"),
    (b"RIFF....WAVEfmt garbage" * 20, 415, "audio_unreadable"),
    (wav_bytes(np.zeros(48_000)), 422, "audio_silent"),
    (wav_bytes(0.1 * np.sin(np.arange(61 * 16_000) / 5.0)), 413, "audio_too_long"),  # 61 s, under the size limit
    (b"\x00" * (2 * 1024 * 1024 + 1), 413, "audio_too_large"),
])
def test_bad_audio_gets_a_4xx_with_a_chinese_message(client, data, status, code) -> None:
    response = client.post("/v1/stt", files=upload(data))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and not error["message"].isascii()


def test_no_audio_field_is_a_validation_error(client) -> None:
    response = client.post("/v1/stt", data={"text": "hello"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"


def test_a_spoken_order_stops_at_the_confirmation_until_an_explicit_yes(client) -> None:
    cid = client.post("/v1/conversations", headers=AS).json()["id"]
    engine = client.app.state.engine
    spoken = client.post(f"/v1/conversations/{cid}/voice", headers=AS, files=upload(clip("dv03"))).json()
    transcript, reply = spoken["transcript"], spoken["reply"]
    assert transcript["text"] == "买入100股贵州茅台。"
    if any(c["kind"] == "security" and not c["exact_sound"] for c in transcript["corrections"]):
        # The name was chosen by a near sound: read back first, nothing else happens.
        assert reply["text"].startswith("我听到的是“买入100股贵州茅台”") and reply["pending_confirmation"] is None
        reply = client.post(f"/v1/conversations/{cid}/messages", headers=AS, json={"text": "对"}).json()
    assert reply["intent"] == "place_order" and reply["action"] == "ask_for_slot"  # at which price?
    preview = client.post(f"/v1/conversations/{cid}/messages", headers=AS, json={"text": "市价"}).json()
    assert preview["pending_confirmation"]["kind"] == "place_order"
    assert assistant_orders(engine, "100001") == []
    declined = client.post(f"/v1/conversations/{cid}/voice", headers=AS, files=upload(clip("dv25"))).json()
    assert declined["transcript"]["text"].startswith("不用了") and "没有提交" in declined["reply"]["text"]
    assert assistant_orders(engine, "100001") == []


def test_a_spoken_yes_places_the_previewed_order_once(client) -> None:
    cid = client.post("/v1/conversations", headers=AS).json()["id"]
    engine = client.app.state.engine
    client.post(f"/v1/conversations/{cid}/messages", headers=AS, json={"text": "买入100股贵州茅台 市价"})
    assert assistant_orders(engine, "100001") == []
    yes = client.post(f"/v1/conversations/{cid}/voice", headers=AS, files=upload(clip("dv24"))).json()
    assert yes["transcript"]["text"] == "确认。"
    if yes["reply"]["text"].startswith("我听到的是"):  # heard unsurely: read back first, still nothing placed
        assert assistant_orders(engine, "100001") == []
        client.post(f"/v1/conversations/{cid}/messages", headers=AS, json={"text": "对"})
    assert len(assistant_orders(engine, "100001")) == 1


def test_a_spoken_turn_reaches_a_page_streaming_the_conversation(client) -> None:
    cid = client.post("/v1/conversations", headers=AS).json()["id"]
    with client.websocket_connect(f"/v1/conversations/{cid}/stream", headers=AS) as ws:
        spoken = client.post(f"/v1/conversations/{cid}/voice", headers=AS, files=upload(clip("dv03"))).json()
        pushed = [ws.receive_json()["message"], ws.receive_json()["message"]]
    assert [m["role"] for m in pushed] == ["customer", "assistant"]
    assert pushed[0]["text"] == spoken["transcript"]["text"] and pushed[1]["text"] == spoken["reply"]["text"]


def test_voice_in_someone_elses_conversation_is_a_404(client) -> None:
    cid = client.post("/v1/conversations", headers=AS).json()["id"]
    response = client.post(f"/v1/conversations/{cid}/voice", headers={"X-Customer-Id": "100003"},
                           files=upload(clip("dv03")))
    assert response.status_code == 404 and response.json()["error"]["code"] == "conversation_not_found"


def test_a_full_pool_answers_503_instead_of_queueing(tmp_path, small_kb_dir, recognizer) -> None:
    settings = make_settings(tmp_path / "var", small_kb_dir, simulator_now=PINNED, stt_max_concurrent=1,
                             stt_max_waiting=0)
    with TestClient(create_app(settings, ingest_in_background=False)) as client:
        with client.app.state.speech._turn():  # another upload is being transcribed
            response = client.post("/v1/stt", files=upload(clip("dv03")))
        assert response.status_code == 503 and response.json()["error"]["code"] == "speech_busy"
        assert client.post("/v1/stt", files=upload(clip("dv03"))).status_code == 200


def test_a_noise_clip_is_a_422_in_chinese_and_no_turn(client) -> None:
    """White noise used to be transcribed as the prompt and answered with the balance."""
    noise = wav_bytes(np.random.default_rng(7).normal(0, 0.2, 48_000))
    assert client.post("/v1/stt", files=upload(noise)).status_code == 422
    cid = client.post("/v1/conversations", headers=AS).json()["id"]
    spoken = client.post(f"/v1/conversations/{cid}/voice", files=upload(noise), headers=AS)
    assert spoken.status_code == 422 and spoken.json()["error"]["code"] == "no_speech"
    assert not spoken.json()["error"]["message"].isascii()
    assert client.get(f"/v1/conversations/{cid}/messages", headers=AS).json()["messages"] == []
