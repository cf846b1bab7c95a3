"""Replies as WeChat shows them: plain text, citations as short references (【1】《title》), an
order awaiting confirmation with the words to reply, and long answers split to fit the
customer-service API's text limit (2048 bytes of UTF-8 per message)."""

from __future__ import annotations

import re

from assistant.domain import Reply

_MARKER = re.compile(r"\[(\d{1,2})\]")
_MARKDOWN = re.compile(r"\*\*|__|^#{1,6}\s+", re.MULTILINE)
# Break points, best first: a paragraph, a line, the end of a sentence, a clause.
_BREAKS = (re.compile(r"(?<=\n\n)"), re.compile(r"(?<=\n)"), re.compile(r"(?<=[。！？；!?;])"),
           re.compile(r"(?<=[，、,：:])"))
CONFIRM_HINT = "请回复“确认”继续办理，回复“取消”放弃。"
TRUNCATED = "……（内容较长，完整内容请在明川证券 App 查看）"
PART_RESERVE = 16  # bytes kept free in each part for its "（2/3）" label


def format_reply(reply: Reply) -> str:
    """The reply's text for WeChat: [n] markers as 【n】, a short reference list, the confirmation words."""
    text = _MARKDOWN.sub("", reply.text).strip()
    text = _MARKER.sub(lambda m: f"【{m.group(1)}】", text)
    if reply.citations:
        seen: set[int] = set()
        refs = []
        for c in sorted(reply.citations, key=lambda c: c.index):
            if c.index not in seen:
                seen.add(c.index)
                refs.append(f"【{c.index}】《{c.title}》" + (f" {c.section}" if c.section else ""))
        text += "\n\n参考资料：\n" + "\n".join(refs)
    if reply.pending_confirmation is not None and "回复“确认”" not in text:
        text += "\n" + CONFIRM_HINT
    return text


def _size(s: str) -> int:
    return len(s.encode("utf-8"))


def _pieces(text: str, limit: int, level: int = 0) -> list[str]:
    """The text cut at the best break points into pieces of at most `limit` bytes."""
    if _size(text) <= limit:
        return [text]
    if level == len(_BREAKS):  # no break point left: cut between characters
        out, cur = [], ""
        for ch in text:
            if _size(cur + ch) > limit:
                out.append(cur)
                cur = ""
            cur += ch
        return out + ([cur] if cur else [])
    out = []
    for unit in (u for u in _BREAKS[level].split(text) if u):
        out.extend(_pieces(unit, limit, level + 1) if _size(unit) > limit else [unit])
    return out


def split_text(text: str, max_bytes: int = 2048, max_parts: int = 3) -> list[str]:
    """Messages of at most `max_bytes` each, broken where a reader would pause, numbered when
    there are several; beyond `max_parts` the last one ends with a pointer to the app."""
    text = text.strip()
    if _size(text) <= max_bytes:
        return [text] if text else []
    limit = max_bytes - PART_RESERVE
    parts: list[str] = []
    cur = ""
    for piece in _pieces(text, limit):
        if cur and _size(cur + piece) > limit:
            parts.append(cur)
            cur = ""
        cur += piece
    if cur:
        parts.append(cur)
    parts = [p.strip() for p in parts if p.strip()]
    if len(parts) > max_parts:
        parts = parts[:max_parts]
        last = parts[-1]
        while _size(last + TRUNCATED) > limit:
            last = last[:-1]
        parts[-1] = last + TRUNCATED
    if len(parts) == 1:
        return parts
    return [f"（{i}/{len(parts)}）{p}" for i, p in enumerate(parts, 1)]
