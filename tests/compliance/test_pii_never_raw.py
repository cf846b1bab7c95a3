"""A conversation full of personal data, as customers type it (a mistyped ID number, a password
said in context, a phone number with +86 and dashes or in Chinese numerals, a card number with
spaces), through the HTTP API and the whole engine to a person: every log line, every audit record, every stored
message and the ticket are scanned, and none of it holds the data raw."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from assistant.app import create_app
from assistant.compliance.textnorm import normalize
from tests.e2e.test_http_conversations import app_settings
from tests.pii_scan import stored_leaks

ME = {"X-Customer-Id": "100001"}
CARD = "6222021234567890128"  # passes Luhn
ID_MISTYPED = "11010519491231002X"  # ID-shaped, wrong check digit: still the customer's ID
SAID = [
    f"我的身份证号是{ID_MISTYPED}，是不是填错了",
    "交易密码是 Hz7731 你帮我看看能不能登录",
    "验证码是 604219，我刚收到的",
    "我的手机 +86 138-0013-9527，有事打给我",
    "备用电话一三八零零一三九五二七",
    f"卡号 {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:16]} {CARD[16:]} 绑不上",
    "全亏光了，我不想活了，我电话 13800139527",
]
SECRETS = ["13800139527", CARD, ID_MISTYPED, "11010519491231002", "Hz7731", "604219"]
_SEPARATORS = re.compile(r"[\s.\-·+]")


def leaks(blob: str) -> list[str]:
    """The secrets a text still holds, however it is spaced, dashed or spelled in Chinese numerals."""
    seen = _SEPARATORS.sub("", normalize(blob).text)
    return [s for s in SECRETS if s in seen]


@pytest.fixture
def client(tmp_path, small_kb_dir):
    with TestClient(create_app(app_settings(tmp_path, small_kb_dir), ingest_in_background=False)) as client:
        now = client.app.state.handoff.clock()
        agent = client.app.state.handoff.agents.add("wangmin", "王敏", "agent", "correct-horse-battery", now)
        client.app.state.handoff.agents.heartbeat(agent.id, now)
        yield client


def test_personal_data_never_appears_raw_in_logs_audit_records_or_stored_messages(client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    cid = client.post("/v1/conversations", headers=ME).json()["id"]
    replies = [client.post(f"/v1/conversations/{cid}/messages", json={"text": text}, headers=ME) for text in SAID]
    assert all(r.status_code == 200 for r in replies)
    assert not [r.text for r in replies if leaks(r.text)]
    assert replies[-1].json()["handoff"]["priority"] == "urgent"  # a ticket, with its summary, was written too

    engine = client.app.state.engine
    stored = engine.store.messages(cid, limit=200)
    assert len(stored) >= 2 * len(SAID)
    assert not [m.text for m in stored if leaks(m.text)]
    assert not leaks(client.get(f"/v1/conversations/{cid}/messages", headers=ME).text)
    records = list(engine.audit.records(conversation_id=cid))
    assert sum(1 for r in records if r["event"] == "message_in") == len(SAID)
    assert not [r for r in records if leaks(json.dumps(r, ensure_ascii=False))]
    found = stored_leaks(client.app.state.db, leaks)
    assert not found, found
    assert caplog.records, "nothing was logged: the scan would prove nothing"
    assert not [line for line in (caplog.handler.format(r) for r in caplog.records) if leaks(line)]
