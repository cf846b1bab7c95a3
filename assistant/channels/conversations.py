"""App channel: REST (create a conversation, send a message, read the history) and a WebSocket
stream that delivers every message of the conversation once, in order, and replays what a
reconnecting client missed."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from assistant.channels.auth import current_customer, customer_of
from assistant.channels.errors import ApiError, errors
from assistant.channels.inputs import MAX_ROW_ID, ConversationId, Cursor, RowId, frame_text, receive_object, text_field
from assistant.channels.ratelimit import limit_turn, limit_turns
from assistant.conversation import (
    ConversationNotFound,
    ConversationPipeline,
    conversation_channel,
)
from assistant.domain import Citation, Handoff, PendingConfirmation, Reply, Turn
from assistant.handoff import unanswered
from assistant.tools import BrokerageError

router = APIRouter(prefix="/v1/conversations", tags=["conversations"], responses=errors(400, 401, 403, 404, 429))

MessageText = text_field(1000)
Customer = Annotated[str | None, Depends(current_customer)]


def engine(request: Request) -> ConversationPipeline:
    return request.app.state.engine


Engine = Annotated[ConversationPipeline, Depends(engine)]


class CreateRequest(BaseModel):
    channel: Literal["app", "web", "wechat"] = "app"


class ConversationOut(BaseModel):
    id: str
    customer_id: str | None
    channel: str
    status: str
    created_at: datetime


class MessageIn(BaseModel):
    text: MessageText


class MessageOut(BaseModel):
    id: int
    role: str
    text: str
    intent: str | None
    created_at: datetime
    # What a page needs to show a stored reply as it was first shown (after a reload or a replay).
    citations: list[Citation] = []
    pending_confirmation: PendingConfirmation | None = None
    agent_name: str | None = None  # an agent's display name, when the agent's message carries one
    csat_request: bool = False  # the agent resolved the conversation: the customer may rate the service 1–5
    # The tool result behind an assistant's text (holdings, orders, a preview …), for a page to show as
    # tables and cards; the text stays the reply (WeChat, screen readers).
    data: dict | None = None
    action: str | None = None
    handoff: Handoff | None = None  # the reply handed the conversation to a person: shown as a notice
    unanswered: bool = False  # the assistant could not answer: a page may offer questions it can answer

    @staticmethod
    def _unanswered(m, payload: dict) -> bool:
        if m.role != "assistant" or not isinstance(payload.get("action"), str):
            return False
        try:
            reply = Reply(text=m.text, intent=m.intent or "", confidence=0.0, action=payload["action"],
                          citations=payload.get("citations") or [])
        except ValueError:
            return False
        return unanswered(reply)

    @classmethod
    def of(cls, m) -> MessageOut:
        payload = m.payload if isinstance(m.payload, dict) else {}
        name = payload.get("agent_name")
        return cls(id=m.id, role=m.role, text=m.text, intent=m.intent, created_at=m.created_at,
                   citations=payload.get("citations") or [],
                   pending_confirmation=payload.get("pending_confirmation"),
                   agent_name=name if m.role == "agent" and isinstance(name, str) and name.strip() else None,
                   csat_request=m.role == "system" and payload.get("csat_request") is True,
                   data=payload.get("data") if m.role == "assistant" and isinstance(payload.get("data"), dict) else None,
                   action=payload.get("action") if m.role == "assistant" else None,
                   handoff=payload.get("handoff") if m.role == "assistant" else None,
                   unanswered=cls._unanswered(m, payload))


class HistoryOut(BaseModel):
    messages: list[MessageOut]
    next_after: int | None


def _not_found() -> ApiError:
    return ApiError(404, "conversation_not_found", "会话不存在或已失效，请重新开始对话。")


@router.post("", response_model=ConversationOut, status_code=201)
def create(engine: Engine, customer: Customer, body: CreateRequest | None = None) -> ConversationOut:
    try:
        conv = engine.start(customer_id=customer, channel=(body or CreateRequest()).channel)
    except BrokerageError:
        raise ApiError(401, "unknown_customer", "未找到您的客户信息，请重新登录。") from None
    return ConversationOut(id=conv.id, customer_id=conv.customer_id, channel=conv.channel, status=conv.status,
                           created_at=conv.created_at)


@router.post("/{conversation_id}/messages", response_model=Reply,
             dependencies=[Depends(limit_turns)])
def send(conversation_id: ConversationId, body: MessageIn, engine: Engine, customer: Customer, request: Request) -> Reply:
    try:
        reply = engine.handle(Turn(conversation_id=conversation_id, customer_id=customer, text=body.text))
    except ConversationNotFound:
        raise _not_found() from None
    return reply  # the store announced the new messages to the conversation's pages when the turn committed


@router.get("/{conversation_id}/messages", response_model=HistoryOut)
def history(conversation_id: ConversationId, engine: Engine, customer: Customer,
            after: Cursor = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> HistoryOut:
    try:
        engine.conversation_for(conversation_id, customer)
    except ConversationNotFound:
        raise _not_found() from None
    rows = engine.history(conversation_id, after_id=after, limit=limit)
    return HistoryOut(
        messages=[MessageOut.of(m) for m in rows],
        next_after=rows[-1].id if len(rows) == limit else None,
    )


class RatingIn(BaseModel):
    rating: Literal["up", "down"]
    reason: text_field(500, min_length=0) = ""


class RatingOut(BaseModel):
    message_id: int
    rating: str


@router.put("/{conversation_id}/messages/{message_id}/rating", response_model=RatingOut)
def rate(conversation_id: ConversationId, message_id: RowId, body: RatingIn, engine: Engine, customer: Customer) -> RatingOut:
    """Thumbs up or down on one of the assistant's (or an agent's) replies, with an optional reason."""
    try:
        rated = engine.rate(conversation_id, customer, message_id, body.rating, body.reason)
    except ConversationNotFound:
        raise _not_found() from None
    if not rated:
        raise ApiError(404, "message_not_found", "没有找到要评价的回复。")
    return RatingOut(message_id=message_id, rating=body.rating)


def _invalid(message: str) -> dict:
    return {"type": "error", "error": {"code": "invalid_request", "message": message}}


def _message_event(m) -> dict:
    return {"type": "message", "message": MessageOut.of(m).model_dump(mode="json")}


@router.websocket("/{conversation_id}/stream")
async def stream(websocket: WebSocket, conversation_id: str, after: str = "0", access_token: str | None = None) -> None:
    """Client → {"type": "message", "text"}; server → {"type": "message", "message"}, {"type": "typing"},
    {"type": "partial", "text"} (an LLM-written answer so far, guarded sentence by sentence; to this
    client only), {"type": "reply", "reply"} (the full, final reply to this client's own turn) and
    {"type": "error", "error"} (a bad frame, or a turn over the rate limit: the stream goes on), and
    {"type": "status", …} when a person is involved (first, after the replay, where things stand now).
    Connect with ?after=<last message id seen> to receive what was missed first."""
    engine: ConversationPipeline = websocket.app.state.engine
    try:
        customer = customer_of(websocket, access_token)
        await run_in_threadpool(engine.conversation_for, conversation_id, customer)
    except (ApiError, ConversationNotFound):
        await websocket.close(code=4404, reason="conversation not found")
        return
    await websocket.accept()
    channel = conversation_channel(conversation_id)
    bus = websocket.app.state.events
    subscription = await bus.subscribe(channel)  # before the replay, so nothing falls in between
    # A bad cursor is said, and the whole history replayed: the page loses nothing.
    cursor = int(after) if after.isascii() and after.isdigit() and len(after) <= 10 else None
    last = cursor if cursor is not None and cursor <= MAX_ROW_ID else 0
    if last != cursor:
        await websocket.send_json(_invalid("参数 after 不正确：应为 0 到 2147483647 之间的消息编号。已从头发送全部消息。"))

    async def flush() -> None:
        nonlocal last
        while True:
            rows = await run_in_threadpool(engine.history, conversation_id, after_id=last, limit=200)
            for m in rows:
                await websocket.send_json(_message_event(m))
                last = m.id
            if len(rows) < 200:
                return

    loop = asyncio.get_running_loop()

    def partial(text: str) -> None:  # called from the worker thread while an LLM writes the answer
        loop.call_soon_threadsafe(subscription.queue.put_nowait, {"type": "partial", "text": text})

    async def receive() -> None:
        while True:
            # A bad frame (binary, not JSON, nested too deep, text not a string) gets an answer,
            # not a dropped connection.
            data = await receive_object(websocket)
            text = frame_text(data, "text", 1000) if data is not None and data.get("type") == "message" else None
            if text is None:
                subscription.queue.put_nowait(_invalid(
                    "消息格式不正确：请发送 {\"type\": \"message\", \"text\": \"…\"}，正文 1–1000 字。"))
                continue
            try:  # the same limits as REST turns, shared by every worker
                await run_in_threadpool(limit_turn, websocket, customer)
            except ApiError as exc:
                subscription.queue.put_nowait({"type": "error", "error": {"code": exc.code, "message": exc.message}})
                continue
            bus.publish(channel, {"type": "typing"})
            turn = Turn(conversation_id=conversation_id, customer_id=customer, text=text)
            reply = await run_in_threadpool(engine.handle, turn, on_partial=partial)
            subscription.queue.put_nowait({"type": "reply", "reply": reply.model_dump(mode="json")})

    receiver = asyncio.create_task(receive())
    try:
        await flush()
        # Waiting for a person, or with one: said at once, not at the next change.
        current = await run_in_threadpool(engine.handoff_status, conversation_id)
        if current is not None:
            await websocket.send_json(current)
        while True:
            getter = asyncio.create_task(subscription.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                receiver.result()  # a disconnect ends the stream
                return
            event = getter.result()
            if event["type"] == "new_messages":
                await flush()
            else:
                await websocket.send_json(event)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        receiver.cancel()
        await subscription.close()
