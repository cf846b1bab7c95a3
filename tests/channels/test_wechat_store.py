"""The channel's queues in the database: a push recorded once, one claim per row, one
customer's messages in order, bindings that cannot be taken over (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assistant.channels.errors import ApiError
from assistant.channels.wechat import BoundElsewhere, Inbound, WeChatStore
from assistant.compliance import AuditKeys, AuditLog

NOW = datetime(2026, 11, 25, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def store(database):
    database.migrate()
    return WeChatStore(database)


def text(openid: str, msg_id: str, content: str = "你好") -> Inbound:
    return Inbound(openid, "text", f"msg:{msg_id}", content)


def test_a_push_is_recorded_once_and_a_reused_signature_is_refused(store) -> None:
    assert store.accept(text("oA", "1"), "100:n1", NOW) is True
    assert store.accept(text("oA", "1"), "101:n2", NOW) is False  # WeChat's retry
    with pytest.raises(ApiError) as replay:
        store.accept(text("oA", "2", "转账给我"), "100:n1", NOW)
    assert replay.value.status == 403
    assert store.session("oA").last_message_at == NOW


def test_one_customers_messages_are_claimed_in_order_and_once(store) -> None:
    store.accept(text("oA", "1"), "1:a", NOW)
    store.accept(text("oA", "2"), "2:a", NOW)
    store.accept(text("oB", "3"), "3:a", NOW)
    first = store.claim_inbound(NOW)
    other = store.claim_inbound(NOW)
    assert (first.openid, other.openid) == ("oA", "oB")  # oA's second waits for its first
    assert store.claim_inbound(NOW) is None
    store.finish_inbound(first.id, "oA", None, ["好的"], NOW + timedelta(hours=48), NOW)
    second = store.claim_inbound(NOW)
    assert second.openid == "oA" and second.content == "你好" and second.id > first.id
    # A worker that died holding a job gives it up when its lease ends; the retry knows it is one.
    again = store.claim_inbound(NOW + timedelta(minutes=5))
    assert again.id in (other.id, second.id) and again.attempts == 2


def test_outbox_rows_go_out_in_order_with_leases(store) -> None:
    store.enqueue("oA", None, ["（1/2）甲", "（2/2）乙"], NOW + timedelta(hours=48), NOW)
    first = store.claim_send(NOW)
    assert first.content == "（1/2）甲" and store.claim_send(NOW) is None  # the second waits for the first
    store.settle_send(first.id, status="pending", now=NOW, error="http 500", retry_at=NOW + timedelta(seconds=4))
    assert store.claim_send(NOW + timedelta(seconds=1)) is None  # backing off, and still first in line
    retried = store.claim_send(NOW + timedelta(seconds=5))
    assert retried.id == first.id and retried.attempts == 2
    store.settle_send(first.id, status="sent", now=NOW)
    assert store.claim_send(NOW + timedelta(seconds=5)).content == "（2/2）乙"


def test_a_binding_cannot_be_taken_over_and_unbinding_forgets_the_conversation(store) -> None:
    audit = AuditLog(store.db, AuditKeys(b"test-audit-key"))
    store.set_conversation("oA", "conv-1", NOW)
    assert store.bind("oA", "100001", NOW, audit) == NOW
    assert store.session("oA").conversation_id is None  # the anonymous conversation stays anonymous
    assert store.bind("oA", "100001", NOW + timedelta(hours=1), audit) == NOW  # idempotent
    with pytest.raises(BoundElsewhere):
        store.bind("oA", "100003", NOW, audit)
    assert store.customer_of("oA") == "100001"
    assert store.unbind("100001", NOW, audit) == 1 and store.customer_of("oA") is None
    assert audit.verify().ok
