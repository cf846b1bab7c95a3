"""What a request may carry, checked once at the edge for every channel.

Row ids and paging cursors are bounded by the narrowest column they reach (PostgreSQL's
INTEGER; SQLite's is wider), so a huge number is a 422 rather than a database overflow.
Free text loses its control characters (NUL above all: PostgreSQL refuses it in a TEXT column)
and lone surrogates (not encodable as UTF-8) before anything stores it. JSON that arrives
outside a request model (WebSocket frames, WeChat pushes) is parsed with a depth bound, so a
deeply nested document is refused instead of exhausting the parser's recursion.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator, StringConstraints
from starlette.websockets import WebSocket, WebSocketDisconnect

# PostgreSQL INTEGER, the type of every id column (SQLite's INTEGER is 64-bit: the narrower wins).
MAX_ROW_ID = 2**31 - 1
# Nesting any request of ours needs is two or three levels; this leaves room and nothing more.
MAX_JSON_DEPTH = 16

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row id (1 to 2^31-1)")]
Cursor = Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="the last id already seen (0: from the start)")]
# Conversation ids are UUIDs; a slightly wider pattern keeps an unknown id a 404, not a 422.
ConversationId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]


def clean_text(value: str) -> str:
    """The text without control characters (tab and newline kept; CR LF and CR become LF) and
    without lone surrogates."""
    if value.isprintable():  # the common case, at C speed
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in value if c in "\t\n" or unicodedata.category(c) not in ("Cc", "Cs"))


def _clean_before(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def _clean_strip_before(value: Any) -> Any:
    return clean_text(value).strip() if isinstance(value, str) else value


def text_field(max_length: int, *, min_length: int = 1, strip: bool = True):
    """A free-text field for a request model: cleaned (and stripped) first, then length-checked."""
    return Annotated[str, BeforeValidator(_clean_strip_before if strip else _clean_before),
                     StringConstraints(min_length=min_length, max_length=max_length)]


class TooDeep(ValueError):
    pass


def json_depth(text: str) -> int:
    """The deepest nesting of objects and arrays in a JSON text (strings skipped), found without parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def loads_bounded(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads, refusing (ValueError) a document nested deeper than max_depth."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if json_depth(text) > max_depth:
        raise TooDeep(f"JSON nested deeper than {max_depth}")
    return json.loads(text)


async def receive_object(websocket: WebSocket) -> dict | None:
    """The next client frame as a JSON object, or None when it is not one (a binary frame, bad
    or too deep JSON, a list): the caller answers invalid_request and keeps the socket open.
    Raises WebSocketDisconnect when the client goes."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        return None
    try:
        data = loads_bounded(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def frame_text(data: dict, key: str, max_length: int) -> str | None:
    """A text field of a frame, cleaned and stripped, or None when it is missing, not a string,
    empty or too long."""
    value = data.get(key)
    if not isinstance(value, str):
        return None
    value = clean_text(value).strip()
    return value if 0 < len(value) <= max_length else None


def frame_id(data: dict, key: str, *, minimum: int = 1) -> int | None:
    """An id field of a frame within the column's range, or None."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_ROW_ID:
        return None
    return value
