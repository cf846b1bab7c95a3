"""Personal data in disguise, sent through the API as a customer would type it, is stored, audited,
handed to an agent and logged masked only: every table and every captured log line is scanned."""

from __future__ import annotations

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
SAID = [
    "我的手机是 TEL13912345678，有事打给我",
    "备用号码 139.1234.5678",
    "号码 1\u200b3\u200b9\u200b1\u200b2\u200b3\u200b4\u200b5\u200b6\u200b7\u200b8",
    "我的手机是一三九一二三四五六七八",
    "+86 139-1234-5678 是我的号码",
    f"卡号 {'.'.join([CARD[:4], CARD[4:8], CARD[8:12], CARD[12:16], CARD[16:]])} 转账失败",
    f"卡号 {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:16]} {CARD[16:]}",
    "对账单发到 zhang.san(at)example.com",
    "身份证 110105194912310021 填错了吗",
    "验证码是 482913",
    "交易密码是 Qw8899 帮我看看",
    "我要转人工，手机 139 1234 5678",
]
SECRETS = ["13912345678", CARD, "110105194912310021", "zhang.san", "482913", "Qw8899"]
_SEPARATORS = re.compile(r"[\s.\-·]")


def leaks(blob: str) -> list[str]:
    """The secrets a text still holds, however it is spaced, dotted, spelled or hidden."""
    seen = _SEPARATORS.sub("", normalize(blob).text)
    return [s for s in SECRETS if _SEPARATORS.sub("", s) in seen]


@pytest.fixture
def client(tmp_path, small_kb_dir):
    with TestClient(create_app(app_settings(tmp_path, small_kb_dir), ingest_in_background=False)) as client:
        now = client.app.state.handoff.clock()
        client.app.state.handoff.agents.add("wangmin", "王敏", "agent", "correct-horse-battery", now)
        yield client


def test_disguised_personal_data_is_never_stored_audited_handed_over_or_logged(client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    # An agent is online, so the last message is queued for a person with a summary.
    login = client.post("/v1/agent/login", json={"username": "wangmin", "password": "correct-horse-battery"})
    agent = {"Authorization": f"Bearer {login.json()['token']}"}
    cid = client.post("/v1/conversations", headers=ME).json()["id"]
    for text in SAID:
        reply = client.post(f"/v1/conversations/{cid}/messages", json={"text": text}, headers=ME)
        assert reply.status_code == 200, reply.text
        assert not leaks(reply.text), (text, reply.text)
    assert client.get("/v1/agent/queue", headers=agent).json()["queued"], "the handoff did not happen"
    ticket = client.get("/v1/agent/queue", headers=agent).json()["queued"][0]["id"]
    view = client.get(f"/v1/agent/tickets/{ticket}", headers=agent)
    assert view.status_code == 200 and not leaks(view.text)
    history = client.get(f"/v1/conversations/{cid}/messages", headers=ME)
    assert not leaks(history.text)

    found = stored_leaks(client.app.state.db, leaks)
    assert not found, found
    assert caplog.records, "nothing was logged: the scan below would prove nothing"
    lines = [caplog.handler.format(r) for r in caplog.records]
    assert not [line for line in lines if leaks(line)]
    audited = client.app.state.engine.audit.records()
    assert sum(1 for r in audited if r["event"] == "message_in") >= len(SAID)
