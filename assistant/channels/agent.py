"""The agent console's API (`/v1/agent/...`), its WebSocket, the customer's satisfaction rating,
and the console page itself at `/agent`.

Agents sign in with a username and password (argon2id) and get a staff bearer token carrying
their role; every call after that presents it. The WebSocket pushes the live queue and, for the
ticket an agent has open, every message of the conversation once and in order; it is also the
console's heartbeat (an agent with a console open is online) and may carry replies.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    Query,
    Request,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from assistant.channels.auth import _bearer, customer_of, verified_principal
from assistant.channels.errors import ApiError, errors
from assistant.channels.inputs import ConversationId, RowId, frame_id, frame_text, receive_object, text_field
from assistant.channels.ratelimit import limit_by_ip
from assistant.channels.tokens import mint
from assistant.compliance import Violation
from assistant.conversation import ConversationNotFound, conversation_channel
from assistant.handoff import (
    QUEUE_CHANNEL,
    AgentError,
    AgentInfo,
    HandoffError,
    HandoffService,
    TicketFilter,
    message_out,
    ticket_page,
)

router = APIRouter(prefix="/v1/agent", tags=["agent"], responses=errors(400, 401, 403, 404, 409, 429))
satisfaction_router = APIRouter(prefix="/v1/conversations", tags=["conversations"], responses=errors(400, 401, 403, 404, 409))
CONSOLE_DIR = Path(__file__).resolve().parent / "web" / "agent"
STAFF_ROLES = ("agent", "supervisor", "compliance")

Text = text_field(2000)


def _service(request: HTTPConnection) -> HandoffService:
    return request.app.state.handoff


def _agent_from_token(request: HTTPConnection, token: str | None) -> AgentInfo:
    principal = verified_principal(request, token, sign_in="请先登录客服工作台。",
                                   expired="登录已过期，请重新登录客服工作台。")
    if not principal.subject.startswith("agent:") or not set(principal.roles) & set(STAFF_ROLES):
        raise ApiError(403, "forbidden", "该凭证不能用于客服工作台。")
    try:
        agent_id = int(principal.subject.split(":", 1)[1])
    except ValueError:
        raise ApiError(403, "forbidden", "该凭证不能用于客服工作台。") from None
    agent = _service(request).agents.get(agent_id)
    if agent is None:  # deactivated since the token was issued
        raise ApiError(401, "bad_token", "账号已停用，请联系主管。")
    return agent


def current_agent(request: Request) -> AgentInfo:
    agent = _agent_from_token(request, _bearer(request))
    service = _service(request)
    service.agents.heartbeat(agent.id, service.clock())  # any call from the console counts as being there
    return agent


Staff = Annotated[AgentInfo, Depends(current_agent)]


def _desk(agent: AgentInfo) -> AgentInfo:
    if agent.role not in ("agent", "supervisor"):
        raise ApiError(403, "forbidden", "只有客服或主管可以处理会话。")
    return agent


def _violations(vs: list[Violation]) -> list[dict]:
    return [{"rule": v.rule, "span": v.span, "start": v.start, "end": v.end, "message": v.message} for v in vs]


async def handoff_error(_: Request, exc: HandoffError) -> JSONResponse:
    """The service's refusals (a claim lost, a guard block …) in the API's error shape, with the
    guard's violations when there are some. Registered on the app, so routes simply let them rise."""
    body = {"error": {"code": exc.code, "message": exc.message}}
    if exc.violations:
        body["error"]["violations"] = _violations(exc.violations)
    return JSONResponse(status_code=exc.status, content=body)


class LoginIn(BaseModel):
    username: text_field(64)
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


@router.post("/login", dependencies=[Depends(limit_by_ip)])
def login(body: LoginIn, request: Request) -> dict:
    service = _service(request)
    try:
        agent = service.agents.authenticate(body.username, body.password, service.clock())
    except AgentError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    settings = request.app.state.settings
    token = mint(settings, f"agent:{agent.id}", roles=[agent.role], ttl=timedelta(hours=settings.agent_token_hours))
    return {"token": token, "agent": _agent_out(agent)}


def _agent_out(a: AgentInfo) -> dict:
    return {"id": a.id, "username": a.username, "name": a.name, "role": a.role}


@router.get("/me")
def me(agent: Staff) -> dict:
    return _agent_out(agent)


@router.get("/queue")
def queue(agent: Staff, request: Request) -> dict:
    return _service(request).queue()


Group = Literal["live", "mine", "callbacks", "assigned", "resolved_today"]
ReasonParam = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
CustomerParam = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z]{1,32}$")]


@router.get("/tickets")
def tickets(agent: Staff, request: Request,
            group: Annotated[Group, Query(description="live 排队中 · mine 我的 · callbacks 待回电 · assigned 处理中 · "
                                                      "resolved_today 今日已结束")] = "live",
            reason: Annotated[ReasonParam | None, Query()] = None,
            priority: Annotated[Literal["urgent", "high", "normal"] | None, Query()] = None,
            channel: Annotated[Literal["app", "web", "wechat", "voice"] | None, Query()] = None,
            customer: Annotated[CustomerParam | None, Query(description="客户号或其开头几位")] = None,
            page: Annotated[int, Query(ge=1, le=10_000)] = 1,
            page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> dict:
    """One page of a group of tickets, most urgent first, then by priority and waiting time (resolved
    ones newest first), with every group's count under the same filters."""
    return ticket_page(_service(request), agent, TicketFilter(group=group, reason=reason, priority=priority,
                                                              channel=channel, customer=customer or None,
                                                              page=page, page_size=page_size))


def _deliver(request: HTTPConnection, view: dict, text: str) -> None:
    """A channel that does not read the stream (WeChat) is sent the text through its delivery."""
    deliver = getattr(request.app.state, "deliveries", {}).get(view["channel"])
    if view["channel"] not in ("app", "web") and deliver is not None:
        deliver(view["conversation_id"], text)


def _relay_notice(request: Request, ticket_id: int, agent: AgentInfo) -> None:
    """The system line a step just stored, to a channel that does not read the stream."""
    view = _service(request).ticket_view(ticket_id, agent)
    notices = [m for m in view["transcript"] if m["role"] == "system"]
    if notices:
        _deliver(request, view, notices[-1]["text"])


@router.post("/tickets/{ticket_id}/claim")
def claim(ticket_id: RowId, agent: Staff, request: Request):
    result = _service(request).claim(ticket_id, _desk(agent))
    _relay_notice(request, ticket_id, agent)
    return result


@router.get("/tickets/{ticket_id}")
def ticket(ticket_id: RowId, agent: Staff, request: Request):
    return _service(request).ticket_view(ticket_id, agent)


class ReplyIn(BaseModel):
    text: Text
    acknowledge: bool = Field(default=False, description="send although the guard warned (never for hard violations)")


class CheckIn(BaseModel):
    text: Text


@router.post("/check")
def check(body: CheckIn, agent: Staff, request: Request) -> dict:
    """The guard's view of a draft before it is sent: hard violations block the send, the others warn."""
    guards = request.app.state.guards
    hard, soft = _service(request).check_reply(body.text, guards.output, guards.judge)
    return {"sendable": not hard, "hard": _violations(hard), "warnings": _violations(soft)}


def send_reply(request: HTTPConnection, ticket_id: int, agent: AgentInfo, text: str, acknowledge: bool) -> dict:
    """Guard, store, announce, and relay to channels that are not web/app (WeChat). Raises HandoffError."""
    service = _service(request)
    guards = request.app.state.guards
    result = service.reply(ticket_id, _desk(agent), text, model=guards.output, judge=guards.judge, acknowledge=acknowledge)
    _deliver(request, service.ticket_view(ticket_id, agent), result.text)
    return {"message_id": result.message_id, "text": result.text, "warnings": _violations(result.warnings)}


@router.post("/tickets/{ticket_id}/reply")
def reply(ticket_id: RowId, body: ReplyIn, agent: Staff, request: Request):
    return send_reply(request, ticket_id, agent, body.text, body.acknowledge)


@router.post("/tickets/{ticket_id}/notes", status_code=201)
def note(ticket_id: RowId, body: CheckIn, agent: Staff, request: Request):
    return _service(request).note(ticket_id, agent, body.text)


@router.get("/tickets/{ticket_id}/suggestions")
def suggestions(ticket_id: RowId, agent: Staff, request: Request):
    """Knowledge-base answers to the customer's last question, for the agent to adapt."""
    view = _service(request).ticket_view(ticket_id, agent)
    question = next((m["text"] for m in reversed(view["transcript"]) if m["role"] == "customer"), "")
    kb = request.app.state.kb
    if not question or kb is None or not kb.ready:
        return {"question": question, "answer": None, "passages": []}
    answer, hits = kb.answer_with_passages(question)
    return {"question": question,
            "answer": {"text": answer.text, "citations": [c.model_dump(mode="json") for c in answer.citations]}
            if answer.found else None,
            "passages": [{"chunk_id": h.chunk_id, "title": h.chunk.meta.get("title", ""),
                          "section": h.chunk.meta.get("section", ""),
                          "text": h.chunk.text[:400]} for h in hits]}


class TransferIn(BaseModel):
    to: text_field(64)  # a username


@router.post("/tickets/{ticket_id}/transfer")
def transfer(ticket_id: RowId, body: TransferIn, agent: Staff, request: Request):
    service = _service(request)
    target = service.agents.by_username(body.to)
    if target is None:
        raise ApiError(404, "agent_not_found", f"没有找到客服 {body.to}。")
    result = service.transfer(ticket_id, _desk(agent), target)
    _relay_notice(request, ticket_id, agent)
    return result


@router.post("/tickets/{ticket_id}/handback")
def hand_back(ticket_id: RowId, agent: Staff, request: Request):
    _service(request).hand_back(ticket_id, _desk(agent))
    _relay_notice(request, ticket_id, agent)
    return {"ok": True, "status": "bot"}


@router.post("/tickets/{ticket_id}/resolve")
def resolve(ticket_id: RowId, agent: Staff, request: Request):
    _service(request).resolve(ticket_id, _desk(agent))
    _relay_notice(request, ticket_id, agent)
    return {"ok": True, "status": "resolved"}


@router.get("/stats")
def stats(agent: Staff, request: Request, days: Annotated[int, Query(ge=1, le=90)] = 7) -> dict:
    if agent.role not in ("supervisor", "compliance"):
        raise ApiError(403, "forbidden", "只有主管可以查看统计。")
    return _service(request).stats(days)


@router.websocket("/stream")
async def stream(websocket: WebSocket, access_token: str | None = None) -> None:
    """Server → {"type": "queue", "queue"} on connect and on every change; {"type": "message", "ticket_id",
    "message"} for the open ticket's conversation; {"type": "status", …}; {"type": "reply_result", …}.
    Client → {"type": "ping"} (heartbeat), {"type": "open", "ticket_id", "after"?}, {"type": "close"},
    {"type": "reply", "ticket_id", "text", "acknowledge"?}."""
    try:
        agent = await run_in_threadpool(_agent_from_token, websocket, access_token)
    except ApiError:
        await websocket.close(code=4401, reason="unauthenticated")
        return
    await websocket.accept()
    service, bus = _service(websocket), websocket.app.state.events
    await run_in_threadpool(service.agents.heartbeat, agent.id, service.clock())
    queue_sub = await bus.subscribe(QUEUE_CHANNEL, catch_up={"type": "queue_changed"})
    bus.publish(QUEUE_CHANNEL, {"type": "queue_changed"})  # others see this agent come online
    outbox: asyncio.Queue[dict] = asyncio.Queue()
    conv_sub = None
    current: dict = {"ticket": None, "conversation": None, "last": 0}
    engine = websocket.app.state.engine

    async def send_queue() -> None:
        await websocket.send_json({"type": "queue", "queue": await run_in_threadpool(service.queue)})

    async def flush() -> None:
        if current["conversation"] is None:
            return
        while True:
            rows = await run_in_threadpool(engine.history, current["conversation"], after_id=current["last"], limit=200)
            for m in rows:
                await websocket.send_json({"type": "message", "ticket_id": current["ticket"], "message": message_out(m)})
                current["last"] = m.id
            if len(rows) < 200:
                return

    async def receive() -> None:
        nonlocal conv_sub
        while True:
            data = await receive_object(websocket)  # None for a bad frame: answered below, socket kept
            kind = data.get("type") if isinstance(data, dict) else None
            await run_in_threadpool(service.agents.heartbeat, agent.id, service.clock())
            if kind == "ping":
                outbox.put_nowait({"type": "pong"})
            elif kind == "open" and frame_id(data, "ticket_id") is not None \
                    and (data.get("after") in (None, 0) or frame_id(data, "after") is not None):
                try:
                    view = await run_in_threadpool(service.ticket_view, data["ticket_id"], agent)
                except HandoffError as exc:
                    outbox.put_nowait({"type": "error", "error": {"code": exc.code, "message": exc.message}})
                    continue
                if conv_sub is not None:
                    await conv_sub.close()
                conv_sub = await bus.subscribe(conversation_channel(view["conversation_id"]))
                current.update(ticket=view["id"], conversation=view["conversation_id"],
                               last=max(int(data.get("after") or 0), 0))
                _pump(conv_sub)
                outbox.put_nowait({"type": "new_messages"})
            elif kind == "close":
                if conv_sub is not None:
                    await conv_sub.close()
                conv_sub = None
                current.update(ticket=None, conversation=None, last=0)
            elif kind == "reply" and frame_id(data, "ticket_id") is not None \
                    and (reply_text := frame_text(data, "text", 2000)) is not None:
                try:
                    result = await run_in_threadpool(send_reply, websocket, data["ticket_id"], agent, reply_text,
                                                     bool(data.get("acknowledge")))
                    outbox.put_nowait({"type": "reply_result", "ok": True, **result})
                except HandoffError as exc:
                    outbox.put_nowait({"type": "reply_result", "ok": False, "error": {
                        "code": exc.code, "message": exc.message, "violations": _violations(exc.violations)}})
                except ApiError as exc:
                    outbox.put_nowait({"type": "reply_result", "ok": False,
                                       "error": {"code": exc.code, "message": exc.message}})
            else:
                outbox.put_nowait({"type": "error", "error": {"code": "invalid_request", "message": "消息格式不正确。"}})

    pumps: list[asyncio.Task] = []

    def _pump(sub) -> None:
        async def forward() -> None:
            while True:
                outbox.put_nowait(await sub.get())
        pumps.append(asyncio.create_task(forward()))

    async def forward_queue() -> None:
        while True:
            outbox.put_nowait(await queue_sub.get())

    receiver = asyncio.create_task(receive())
    queue_task = asyncio.create_task(forward_queue())
    try:
        await send_queue()
        while True:
            getter = asyncio.create_task(outbox.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                receiver.result()
                return
            event = getter.result()
            if event["type"] == "queue_changed":
                while not outbox.empty() and outbox._queue[0].get("type") == "queue_changed":  # coalesce bursts
                    outbox.get_nowait()
                await send_queue()
            elif event["type"] == "new_messages":
                await flush()
            elif event["type"] == "status":
                await websocket.send_json({**event, "ticket_id": current["ticket"]})
            elif event["type"] != "typing":
                await websocket.send_json(event)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        receiver.cancel()
        queue_task.cancel()
        for task in pumps:
            task.cancel()
        await queue_sub.close()
        if conv_sub is not None:
            await conv_sub.close()


# --- the customer's side -------------------------------------------------------------------------------


class SatisfactionIn(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: text_field(500, min_length=0) = ""


@satisfaction_router.post("/{conversation_id}/satisfaction", status_code=201)
def satisfaction(conversation_id: ConversationId, body: SatisfactionIn, request: Request):
    """The customer's 1–5 rating of the human service, accepted once, after the agent resolved it."""
    engine = request.app.state.engine
    try:
        engine.conversation_for(conversation_id, customer_of(request, _bearer(request)))
    except ConversationNotFound:
        raise ApiError(404, "conversation_not_found", "会话不存在或已失效，请重新开始对话。") from None
    return _service(request).satisfaction(conversation_id, body.score, body.comment)


# --- the console page --------------------------------------------------------------------------------


def mount_agent_console(app: FastAPI) -> None:
    @app.get("/agent", include_in_schema=False)
    def console_page() -> FileResponse:
        return FileResponse(CONSOLE_DIR / "index.html", headers={"Cache-Control": "no-store"})

    app.mount("/agent/static", StaticFiles(directory=CONSOLE_DIR), name="agent-static")
