"""Replies as WeChat shows them: short references, the confirmation words, splitting by bytes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from assistant.channels.wechat_text import CONFIRM_HINT, TRUNCATED, format_reply, split_text
from assistant.domain import Citation, PendingConfirmation, Reply


def _reply(text: str, **kw) -> Reply:
    return Reply(text=text, intent="kb_question", confidence=0.9, action="answer_from_kb", **kw)


def test_citations_become_short_references() -> None:
    cite = Citation(index=1, chunk_id="c1", title="证券交易印花税说明", section="一、税率", doc_type="regulation",
                    path="regulations/stamp-duty.md", quote="税率为成交金额的 0.05%。")
    out = format_reply(_reply("印花税税率为成交金额的 0.05%[1]。**请注意**风险。", citations=[cite, cite]))
    assert out.startswith("印花税税率为成交金额的 0.05%【1】。请注意风险。")
    assert out.endswith("参考资料：\n【1】《证券交易印花税说明》 一、税率") and out.count("【1】《") == 1


def test_a_pending_confirmation_says_what_to_reply_once() -> None:
    pending = PendingConfirmation(kind="place_order", summary="买入", details={},
                                  expires_at=datetime.now(timezone.utc) + timedelta(minutes=2))
    assert format_reply(_reply("将为您买入 100 股五粮液。", pending_confirmation=pending)).endswith(CONFIRM_HINT)
    already = "确认下单请回复“确认”（2 分钟内有效），取消请回复“取消”。"
    assert CONFIRM_HINT not in format_reply(_reply(already, pending_confirmation=pending))


def test_short_text_is_one_message_unchanged() -> None:
    assert split_text("您好，请问有什么可以帮您？") == ["您好，请问有什么可以帮您？"]
    assert split_text("   ") == []


def test_long_text_splits_at_sentences_within_the_byte_limit() -> None:
    sentence = "科创板股票单笔买入申报数量不少于 200 股，超过部分可以按 1 股递增。"
    text = "\n\n".join(sentence * 6 for _ in range(8))
    assert len(text.encode()) > 2 * 2048
    parts = split_text(text, 2048, 5)
    n = len(parts)
    assert n == 3
    assert all(len(p.encode("utf-8")) <= 2048 for p in parts)
    assert [p[:5] for p in parts] == [f"（{i}/{n}）" for i in range(1, n + 1)]
    body = "".join(p[5:] for p in parts)
    assert body.replace("\n", "") == text.replace("\n", "")  # nothing lost, nothing repeated
    assert all(p.rstrip().endswith("。") for p in parts)  # cut where a reader pauses


def test_text_without_break_points_is_cut_between_characters() -> None:
    parts = split_text("涨" * 1000, 512, 10)
    assert all(len(p.encode()) <= 512 for p in parts) and "".join(p.split("）", 1)[1] for p in parts) == "涨" * 1000


def test_beyond_the_part_limit_the_last_message_points_to_the_app() -> None:
    parts = split_text("这是一句很长的说明。" * 400, 2048, 3)
    assert len(parts) == 3 and parts[-1].endswith(TRUNCATED)
    assert all(len(p.encode()) <= 2048 for p in parts)
