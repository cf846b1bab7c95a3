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
from assistant.compliance import AuditEvent, AuditKeys, AuditLog, audit_keys
from assistant.compliance.audit import GENESIS, _canonical, chain_hash
from assistant.settings import get_settings
from tests.conftest import Chat

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=SHANGHAI)
KEYS = AuditKeys(b"the-key-outside-the-database")


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
    log = AuditLog(database, KEYS)
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
        log = AuditLog(db, audit_keys(get_settings()))
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


# --- the keyed chain and exported heads (issue 23) ---------------------------------------------------


def _rewrite_chain(db, key: bytes | None = None) -> None:
    """What someone who can write the database (but does not hold the audit key) can do: change a
    record, then recompute every hash and the head from the database's own contents, end to end."""
    from assistant.storage import AuditHead, AuditRecord

    with db.engine.begin() as c:
        if db.engine.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
        else:
            c.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            c.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
    with db.session() as s:
        prev = GENESIS
        for r in s.query(AuditRecord).order_by(AuditRecord.id):
            if r.id == 2:
                r.text = "第1条消息（改写）"
            r.prev_hash = prev
            r.hash = chain_hash(prev, _canonical(r.id, r.created_at, r), key)
            prev = r.hash
        s.get(AuditHead, 1).last_hash = prev
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as c:
            c.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update"))


def test_a_chain_rewritten_end_to_end_fails_against_the_key(audit) -> None:
    head = audit.export_head(NOW)
    _rewrite_chain(audit.db)  # the old, unkeyed recipe: SHA-256 over the database's own contents
    result = audit.verify()
    assert not result.ok and any("记录 1" in p for p in result.problems)
    assert not audit.verify(heads=[head]).ok


def test_a_rewrite_by_someone_holding_the_key_fails_against_an_exported_head(audit) -> None:
    head = audit.export_head(NOW)
    assert audit.verify(heads=[head]).ok
    _rewrite_chain(audit.db, KEYS.current)  # the key leaked: the chain itself verifies again
    assert audit.verify().ok
    result = audit.verify(heads=[head])
    assert not result.ok and any("导出的链头" in p and "改写" in p for p in result.problems)


def test_a_forged_or_foreign_head_is_refused(audit) -> None:
    head = audit.export_head(NOW)
    forged = {**head, "last_hash": "0" * 64}
    assert any("签名无效" in p for p in audit.verify(heads=[forged]).problems)
    foreign = AuditLog(audit.db, AuditKeys(b"someone-elses-key")).export_head(NOW)
    assert any("签名无效" in p for p in audit.verify(heads=[foreign]).problems)


def test_a_rotated_key_keeps_older_records_verifying(audit) -> None:
    rotated = AuditLog(audit.db, AuditKeys(b"the-new-key", previous=(KEYS.current,)))
    rotated.append(_events(2), NOW)
    assert rotated.verify().ok and rotated.verify().records == 7
    assert not AuditLog(audit.db, AuditKeys(b"the-new-key")).verify().ok  # the old key is still needed


def test_records_from_before_the_key_verify_only_up_to_the_pinned_id(database, monkeypatch) -> None:
    from assistant.compliance import audit as module

    database.migrate()
    original = module.chain_hash
    with monkeypatch.context() as m:  # an unkeyed history, as written before the upgrade
        m.setattr(module, "chain_hash", lambda prev, canonical, key=None: original(prev, canonical, None))
        AuditLog(database, AuditKeys(b"k")).append(_events(3), NOW)
    assert not AuditLog(database, AuditKeys(b"k")).verify().ok  # not accepted unless pinned
    upgraded = AuditLog(database, AuditKeys(b"k", unkeyed_through=3))
    upgraded.append(_events(1), NOW)
    assert upgraded.verify().ok and upgraded.verify().records == 4


def test_the_signed_head_from_the_command_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ASSISTANT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ASSISTANT_AUDIT_HMAC_KEY", "a-secret-from-the-environment")
    get_settings.cache_clear()
    try:
        from assistant.storage import Database

        db = Database(get_settings().resolved_database_url)
        db.migrate()
        AuditLog(db, audit_keys(get_settings())).append(_events(3), NOW)
        runner = CliRunner()
        anchor = tmp_path / "head.json"
        exported = runner.invoke(app, ["audit", "head", "-o", str(anchor)])
        assert exported.exit_code == 0, exported.output
        assert json.loads(anchor.read_text(encoding="utf-8"))["last_id"] == 3
        assert runner.invoke(app, ["audit", "verify", "--head", str(anchor)]).exit_code == 0
        _rewrite_chain(db, b"a-secret-from-the-environment")
        failed = runner.invoke(app, ["audit", "verify", "--head", str(anchor)])
        assert failed.exit_code == 1 and "改写" in failed.output
        db.dispose()
    finally:
        get_settings.cache_clear()
