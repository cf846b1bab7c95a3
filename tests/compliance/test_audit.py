"""The audit trail: every turn leaves a chained record; editing or deleting any record is detected,
the database itself refuses updates and deletes, and concurrent writers never fork the chain."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from assistant.cli import app
from assistant.compliance import AuditEvent, AuditLog
from assistant.settings import get_settings
from tests.conftest import Chat

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=SHANGHAI)


def _events(n: int, conversation: str = "c1") -> list[AuditEvent]:
    return [AuditEvent(event="message_in", actor="customer:100001", text=f"第{i}条消息", data={"i": i},
                       conversation_id=conversation, customer_id="100001") for i in range(n)]


def _tamper(db, sql: str) -> None:
    """What someone with direct database access could do: switch the guard off, change a row."""
    with db.engine.begin() as c:
        if db.engine.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
            c.execute(text(sql))
            c.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update"))
        else:
            c.execute(text("DROP TRIGGER audit_log_no_update"))
            c.execute(text("DROP TRIGGER audit_log_no_delete"))
            c.execute(text(sql))


@pytest.fixture
def audit(database) -> AuditLog:
    database.migrate()
    log = AuditLog(database)
    log.append(_events(5), NOW)
    return log


def test_an_intact_chain_verifies(audit) -> None:
    result = audit.verify()
    assert result.ok and result.records == 5


def test_an_edited_record_is_detected(audit) -> None:
    _tamper(audit.db, "UPDATE audit_log SET text = '第2条消息（改）' WHERE id = 3")
    result = audit.verify()
    assert not result.ok and any("记录 3" in p and "修改" in p for p in result.problems)


def test_a_deleted_record_is_detected(audit) -> None:
    _tamper(audit.db, "DELETE FROM audit_log WHERE id = 2")
    result = audit.verify()
    assert not result.ok and any("缺失" in p for p in result.problems)


def test_a_deleted_last_record_is_detected(audit) -> None:
    _tamper(audit.db, "DELETE FROM audit_log WHERE id = 5")
    result = audit.verify()
    assert not result.ok and any("链尾" in p for p in result.problems)


@pytest.mark.parametrize("sql", ["UPDATE audit_log SET text = 'x' WHERE id = 1", "DELETE FROM audit_log WHERE id = 1"])
def test_the_database_refuses_updates_and_deletes(audit, sql) -> None:
    with pytest.raises(Exception, match="append-only"):
        with audit.db.engine.begin() as c:
            c.execute(text(sql))
    assert audit.verify().ok


def test_concurrent_writers_keep_one_chain(audit) -> None:
    def write(k: int) -> None:
        for _ in range(5):
            audit.append(_events(2, conversation=f"w{k}"), NOW)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = audit.verify()
    assert result.ok and result.records == 5 + 4 * 5 * 2


def test_personal_data_never_lands_in_the_audit_text(audit) -> None:
    audit.append([AuditEvent(event="message_in", actor="customer:100001", text="手机13812345678",
                             data={"args": {"note": "卡号6222021234567890128"}})], NOW)
    dumped = json.dumps(list(audit.records()), ensure_ascii=False)
    assert "13812345678" not in dumped and "6222021234567890128" not in dumped


def test_a_conversation_leaves_its_whole_trail(engine) -> None:
    chat = Chat(engine, "100001")
    chat.say("买入贵州茅台100股，市价")
    chat.say("确认")
    chat.say("我要找人工")
    records = list(engine.audit.records(conversation_id=chat.id))
    events = [r["event"] for r in records]
    assert events.count("message_in") == 3 and events.count("message_out") == 3
    assert "tool_call" in events and "order" in events and "handoff" in events
    stages = [r["data"]["stage"] for r in records if r["event"] == "confirmation"]
    assert stages == ["requested", "given"]
    guard = [r for r in records if r["event"] == "guard"]
    assert {r["data"]["stage"] for r in guard} == {"input", "output"}
    orders = [r for r in records if r["event"] == "order"]
    assert [o["data"]["operation"] for o in orders] == ["submit", "place"]  # the request is written first
    assert orders[1]["actor"] == "assistant" and orders[1]["data"]["code"] == "600519"
    assert engine.audit.verify().ok


def test_an_order_request_is_in_the_trail_even_if_the_turn_dies_at_the_broker(engine, monkeypatch) -> None:
    chat = Chat(engine, "100001")
    chat.say("买入贵州茅台100股，市价")

    def broker_down(*args, **kwargs):
        raise ConnectionError("back end unreachable")

    monkeypatch.setattr(engine.brokerage, "place_order", broker_down)
    with pytest.raises(ConnectionError):
        chat.say("确认")
    records = list(engine.audit.records(conversation_id=chat.id))
    submit = [r for r in records if r["event"] == "order"]
    assert [r["data"]["operation"] for r in submit] == ["submit"]
    # The confirming turn's own message is in the trail too, before the submit.
    assert [r["text"] for r in records if r["event"] == "message_in"][-1] == "确认"
    assert engine.audit.verify().ok


def test_verify_and_export_from_the_command_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ASSISTANT_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        from assistant.storage import Database

        db = Database(get_settings().resolved_database_url)
        db.migrate()
        log = AuditLog(db)
        log.append(_events(2), NOW - timedelta(days=2))
        log.append(_events(3), NOW)
        runner = CliRunner()
        verified = runner.invoke(app, ["audit", "verify"])
        assert verified.exit_code == 0 and "5 条" in verified.output
        out = tmp_path / "audit.jsonl"
        exported = runner.invoke(app, ["audit", "export", "--from", "2026-11-25", "--to", "2026-11-25", "-o", str(out)])
        assert exported.exit_code == 0, exported.output
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [r["id"] for r in rows] == [3, 4, 5] and all(r["hash"] for r in rows)
        bad = runner.invoke(app, ["audit", "export", "--from", "2026-11-30", "--to", "2026-11-01"])
        assert bad.exit_code == 2
        _tamper(db, "UPDATE audit_log SET actor = 'agent:x' WHERE id = 1")
        failed = runner.invoke(app, ["audit", "verify"])
        assert failed.exit_code == 1 and "记录 1" in failed.output
        db.dispose()
    finally:
        get_settings.cache_clear()
