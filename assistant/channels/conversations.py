"""App channel over REST: create a conversation, send a message, read the history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, StringConstraints

from assistant.channels.auth import current_customer
from assistant.channels.errors import ApiError
from assistant.channels.ratelimit import limit_customer_turns
from assistant.conversation import ConversationEngine, ConversationNotFound
from assistant.domain import Reply
from assistant.tools import BrokerageError

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

MessageText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Customer = Annotated[str | None, Depends(current_customer)]


def engine(request: Request) -> ConversationEngine:
    return request.app.state.engine


Engine = Annotated[ConversationEngine, Depends(engine)]


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
             dependencies=[Depends(limit_customer_turns(current_customer))])
def send(conversation_id: str, body: MessageIn, engine: Engine, customer: Customer) -> Reply:
    try:
        return engine.handle(conversation_id, customer, body.text)
    except ConversationNotFound:
        raise _not_found() from None


@router.get("/{conversation_id}/messages", response_model=HistoryOut)
def history(conversation_id: str, engine: Engine, customer: Customer,
            after: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> HistoryOut:
    try:
        engine.conversation_for(conversation_id, customer)
    except ConversationNotFound:
        raise _not_found() from None
    rows = engine.store.messages(conversation_id, after_id=after, limit=limit)
    return HistoryOut(
        messages=[MessageOut(id=m.id, role=m.role, text=m.text, intent=m.intent, created_at=m.created_at) for m in rows],
        next_after=rows[-1].id if len(rows) == limit else None,
    )
