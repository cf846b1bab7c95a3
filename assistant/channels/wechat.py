"""WeChat mini-program channel: the customer-service message push, replies through the send API,
and binding a WeChat user (openid) to a customer.

A push is checked (signature, or msg_signature and AES in secure mode; timestamp within the
tolerance; a (timestamp, nonce) pair used once), recorded once (WeChat retries a push; the
message id makes a retry a no-op) and answered "success" at once. The turn runs afterwards in
this worker's turn loop, and its reply goes to an outbox that the delivery loop sends, with
retries and backoff, within WeChat's window for answering. Both queues live in the database, so
they survive a restart and several workers share them (each row is claimed atomically; one
openid's messages are handled in order).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

import xmltodict
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, StringConstraints
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from assistant.channels.auth import current_customer
from assistant.channels.errors import ApiError, errors
from assistant.channels.events import EventBus
from assistant.channels.inputs import clean_text, loads_bounded
from assistant.channels.ratelimit import Counter, InProcessCounter, limit_by_ip, over_limit
from assistant.channels.wechat_api import BadLoginCode, InProcessTokenCache, RedisTokenCache, WeChatApi, WeChatApiError
from assistant.channels.wechat_text import format_reply, split_text
from assistant.compliance import AuditEvent, AuditLog, audit_keys, mask_pii
from assistant.conversation import ConversationNotFound, ConversationPipeline
from assistant.conversation import templates as T
from assistant.domain import Turn
from assistant.settings import Settings
from assistant.storage import (
    Database,
    WeChatBinding,
    WeChatInbound,
    WeChatOutbox,
    WeChatSession,
)
from assistant.storage.types import SHANGHAI
from assistant.tools import BrokerageError

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)  # after a customer's message, WeChat accepts our messages this long
ENTER_WINDOW = timedelta(minutes=1)  # after user_enter_tempsession, only this long
TURN_LEASE = timedelta(minutes=2)  # a worker that dies mid-turn gives the job up after this
SEND_LEASE = timedelta(seconds=60)
KEEP_INBOUND = timedelta(days=2)  # far beyond the timestamp tolerance: dedupe needs no more
PRUNE_EVERY = timedelta(hours=1)
MAX_BODY = 64 * 1024

_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TOKENISH = re.compile(r"^[A-Za-z0-9_=-]{1,64}$")
_MSG_TYPE = re.compile(r"^[a-z_]{1,32}$")
# The one field of a secure-mode envelope, read without parsing the body: the signature covers it,
# and nothing else of an unsigned body is looked at.
_ENVELOPE = re.compile(r'<Encrypt>\s*(?:<!\[CDATA\[)?([A-Za-z0-9+/=]{1,65536})(?:\]\]>)?\s*</Encrypt>'
                       r'|"Encrypt"\s*:\s*"((?:[A-Za-z0-9+=]|\\?/){1,65536})"')

BIND_HINT = ("查询或办理账户业务需要先绑定您的明川证券账户。请在本小程序「我的—绑定证券账户」中登录并完成绑定，"
             "之后我会为您查询本人账户的信息；绑定前我可以为您解答交易规则和业务办理问题。")
GREETING_UNBOUND = T.GREETING + "\n查询本人账户前，请先在小程序「我的—绑定证券账户」完成绑定。"
IMAGE_REPLY = "抱歉，我暂时无法识别图片内容。请用文字描述您的问题，例如“科创板开通条件”；如需人工协助，请回复“人工”。"
PAGE_REPLY = "收到您分享的页面{title}。请问关于这个页面您想咨询什么？请直接用文字告诉我。"
UNSUPPORTED_REPLY = "抱歉，暂不支持这类消息。请用文字描述您的问题；如需人工协助，请回复“人工”。"
TOO_LONG_REPLY = "您的消息超过 {n} 字，请精简后分条发送。"
INTERRUPTED_REPLY = "抱歉，您刚才的消息在处理时中断了。为避免重复办理，这条消息没有执行，请您再发送一次。"
BUSY_REPLY = "抱歉，系统繁忙，您的消息暂未处理成功，请稍后再试。"
RATE_LIMITED_REPLY = "您发送消息过于频繁，这一分钟内的后续消息将不再处理，请稍后再发。"


class DeliveryRefused(Exception):
    """An outbound message WeChat would not deliver; `message` says why, in Chinese, for an agent."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class BoundElsewhere(Exception):
    pass


# --- the push: checks and parsing --------------------------------------------------------------


@dataclass
class Inbound:
    openid: str
    msg_type: str
    msg_key: str
    content: str = ""
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def opens_window(self) -> bool:
        return self.msg_type != "event"


def _bad(message: str = "消息格式不正确。") -> ApiError:
    return ApiError(400, "bad_message", message)


def _forged() -> ApiError:
    return ApiError(403, "bad_signature", "签名校验失败。")


def _check_signature(settings: Settings, signature: str, timestamp: str, nonce: str) -> None:
    try:
        check_signature(settings.wechat_token.get_secret_value(), signature, timestamp, nonce)
    except InvalidSignatureException:
        raise _forged() from None


def _check_time(timestamp: str, now: datetime, tolerance_s: int) -> None:
    try:
        sent = int(timestamp)
    except ValueError:
        raise _bad("时间戳不正确。") from None
    if abs(now.timestamp() - sent) > tolerance_s:
        raise ApiError(403, "stale_request", "请求已过期，请检查服务器时间。")


def _parse(body: str) -> dict:
    """A JSON or XML push as a flat dict (WeChat sends either, as configured)."""
    text = body.strip()
    if text.startswith("<"):
        if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):  # no entity tricks in a push
            raise _bad()
        try:
            doc = xmltodict.parse(text, disable_entities=True)
        except Exception:  # expat errors for malformed XML
            raise _bad("消息不是合法的 XML。") from None
        data = doc.get("xml") if isinstance(doc, dict) else None
    elif text.startswith("{"):
        try:
            data = loads_bounded(text, max_depth=4)  # a push is flat; deeper is refused unparsed
        except (ValueError, RecursionError):
            raise _bad("消息不是合法的 JSON。") from None
    else:
        raise _bad()
    if not isinstance(data, dict):
        raise _bad()
    return data


def _str(data: dict, key: str, limit: int, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise _bad(f"缺少字段 {key}。")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _bad(f"字段 {key} 不正确。")
    return clean_text(str(value))[:limit]


def _message(data: dict, max_chars: int) -> Inbound:
    openid = _str(data, "FromUserName", 65, required=True)
    msg_type = _str(data, "MsgType", 33, required=True)
    created = _str(data, "CreateTime", 20, required=True)
    if not _OPENID.fullmatch(openid) or not _MSG_TYPE.fullmatch(msg_type) or not created.isdigit():
        raise _bad()
    msg_id = _str(data, "MsgId", 65)
    if msg_id and not _TOKENISH.fullmatch(msg_id):
        raise _bad()
    if msg_type == "event":
        event = _str(data, "Event", 64)
        # Events have no MsgId; WeChat's advice is to dedupe them by sender and CreateTime.
        return Inbound(openid, msg_type, f"evt:{openid}:{created}:{event}"[:160],
                       payload={"event": event})
    msg = Inbound(openid, msg_type, f"msg:{msg_id}" if msg_id else f"msg:{openid}:{created}:{msg_type}")
    if msg_type == "text":
        msg.content = _str(data, "Content", max_chars + 1)  # one more: enough to tell it is too long
    elif msg_type == "miniprogrampage":
        # Kept two days for deduplication: personal data in them is masked like any text.
        msg.payload = {"title": mask_pii(_str(data, "Title", 64)).text,
                       "page_path": mask_pii(_str(data, "PagePath", 256)).text}
    return msg


# --- storage -----------------------------------------------------------------------------------


@dataclass
class Job:
    id: int
    openid: str
    msg_type: str
    content: str
    payload: dict
    attempts: int
    received_at: datetime


@dataclass
class Send:
    id: int
    openid: str
    content: str
    attempts: int
    deadline: datetime


class WeChatStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def accept(self, msg: Inbound, nonce_key: str, now: datetime) -> bool:
        """Record a push once. False: already seen (a retry): nothing to do. A signed request
        reused for a different message is a replay and refused."""
        for _ in range(2):
            with self.db.session() as s:
                seen = set(s.scalars(select(WeChatInbound.msg_key).where(
                    or_(WeChatInbound.msg_key == msg.msg_key, WeChatInbound.nonce_key == nonce_key))).all())
                if msg.msg_key in seen:
                    return False
                if seen:  # the same signed request carrying another message
                    raise ApiError(403, "replayed_request", "该请求已使用过。")
                try:
                    s.add(WeChatInbound(msg_key=msg.msg_key, nonce_key=nonce_key, openid=msg.openid, msg_type=msg.msg_type,
                                        content=msg.content, payload=msg.payload, status="pending", attempts=0,
                                        received_at=now))
                    if msg.opens_window:
                        session = s.get(WeChatSession, msg.openid)
                        if session is None:
                            s.add(WeChatSession(openid=msg.openid, last_message_at=now, updated_at=now))
                        else:
                            session.last_message_at = session.updated_at = now
                    s.flush()
                except IntegrityError:  # another worker took it meanwhile: look again
                    s.rollback()
                    continue
                return True
        raise ApiError(409, "conflict", "请求冲突，请重试。")

    @staticmethod
    def _claim_next(s, table, now: datetime, lease: timedelta, *due):
        """The oldest pending row of `table` whose sender has no older pending row (one customer's
        messages in order), leased to this worker: the conditional UPDATE lets one worker only win it."""
        free = or_(table.lease_until.is_(None), table.lease_until < now)
        for c in s.scalars(select(table).where(table.status == "pending", free, *due).order_by(table.id).limit(20)).all():
            if s.scalar(select(func.count()).select_from(table).where(
                    table.openid == c.openid, table.status == "pending", table.id < c.id)):
                continue  # an earlier one of the same customer comes first
            claimed = s.execute(update(table).where(table.id == c.id, table.status == "pending", free)
                                .values(lease_until=now + lease, attempts=table.attempts + 1)
                                .execution_options(synchronize_session=False))
            if claimed.rowcount == 1:
                return c  # its attributes are as read, before the update
        return None

    def claim_inbound(self, now: datetime) -> Job | None:
        """The next message to answer, the oldest of its sender's: claimed by one worker only."""
        with self.db.session() as s:
            c = self._claim_next(s, WeChatInbound, now, TURN_LEASE)
            return None if c is None else Job(c.id, c.openid, c.msg_type, c.content, dict(c.payload or {}),
                                              c.attempts + 1, c.received_at)

    def finish_inbound(self, job_id: int, openid: str, conversation_id: str | None, parts: list[str],
                       deadline: datetime, now: datetime) -> None:
        """The job done (its text forgotten) and its reply queued, together."""
        with self.db.session() as s:
            s.execute(update(WeChatInbound).where(WeChatInbound.id == job_id)
                      .values(status="done", content="", lease_until=None, processed_at=now))
            self._enqueue(s, openid, conversation_id, parts, deadline, now)

    @staticmethod
    def _enqueue(s, openid: str, conversation_id: str | None, parts: list[str], deadline: datetime, now: datetime) -> None:
        for part in parts:
            s.add(WeChatOutbox(openid=openid, conversation_id=conversation_id, msgtype="text", content=part,
                               status="pending", attempts=0, next_attempt_at=now, deadline=deadline, last_error="",
                               created_at=now))

    def enqueue(self, openid: str, conversation_id: str | None, parts: list[str], deadline: datetime, now: datetime) -> None:
        with self.db.session() as s:
            self._enqueue(s, openid, conversation_id, parts, deadline, now)

    def claim_send(self, now: datetime) -> Send | None:
        """The next part due to go out; the parts of a reply go out in order."""
        with self.db.session() as s:
            c = self._claim_next(s, WeChatOutbox, now, SEND_LEASE, WeChatOutbox.next_attempt_at <= now)
            return None if c is None else Send(c.id, c.openid, c.content, c.attempts + 1, c.deadline)

    def settle_send(self, send_id: int, *, status: str, now: datetime, error: str = "",
                    retry_at: datetime | None = None) -> None:
        values: dict[str, Any] = {"lease_until": None}
        if error:  # the last failure stays on record after a later success
            values["last_error"] = error[:500]
        if retry_at is not None:
            values.update(status="pending", next_attempt_at=retry_at)
        else:
            values.update(status=status, sent_at=now if status == "sent" else None)
        with self.db.session() as s:
            s.execute(update(WeChatOutbox).where(WeChatOutbox.id == send_id).values(**values))

    def prune(self, now: datetime) -> None:
        with self.db.session() as s:
            s.execute(delete(WeChatInbound).where(WeChatInbound.status == "done", WeChatInbound.received_at < now - KEEP_INBOUND))

    # sessions and bindings

    def customer_of(self, openid: str) -> str | None:
        with self.db.session() as s:
            row = s.get(WeChatBinding, openid)
            return row.customer_id if row else None

    def session(self, openid: str) -> WeChatSession | None:
        with self.db.session() as s:
            return s.get(WeChatSession, openid)

    def session_for_conversation(self, conversation_id: str) -> WeChatSession | None:
        with self.db.session() as s:
            return s.scalars(select(WeChatSession).where(WeChatSession.conversation_id == conversation_id)).first()

    def set_conversation(self, openid: str, conversation_id: str | None, now: datetime) -> None:
        with self.db.session() as s:
            row = s.get(WeChatSession, openid)
            if row is None:
                s.add(WeChatSession(openid=openid, conversation_id=conversation_id, updated_at=now))
            else:
                row.conversation_id, row.updated_at = conversation_id, now

    def bind(self, openid: str, customer_id: str, now: datetime, audit: AuditLog) -> datetime:
        try:
            return self._bind(openid, customer_id, now, audit)
        except IntegrityError:  # bound by a request running beside this one: decide again
            return self._bind(openid, customer_id, now, audit)

    def _bind(self, openid: str, customer_id: str, now: datetime, audit: AuditLog) -> datetime:
        with self.db.session() as s:
            row = s.get(WeChatBinding, openid)
            if row is not None:
                if row.customer_id != customer_id:
                    raise BoundElsewhere(openid)
                return row.bound_at
            s.add(WeChatBinding(openid=openid, customer_id=customer_id, bound_at=now))
            s.flush()
            # The next message starts a conversation as the customer: nothing said anonymously carries over.
            s.execute(update(WeChatSession).where(WeChatSession.openid == openid).values(conversation_id=None, updated_at=now))
            audit.append_in(s, [AuditEvent(event="wechat_binding", actor=f"customer:{customer_id}", customer_id=customer_id,
                                           data={"action": "bind", "channel": "wechat"})], now)
            return now

    def unbind(self, customer_id: str, now: datetime, audit: AuditLog) -> int:
        with self.db.session() as s:
            openids = list(s.scalars(select(WeChatBinding.openid).where(WeChatBinding.customer_id == customer_id)).all())
            if not openids:
                return 0
            s.execute(delete(WeChatBinding).where(WeChatBinding.customer_id == customer_id))
            s.execute(update(WeChatSession).where(WeChatSession.openid.in_(openids)).values(conversation_id=None, updated_at=now))
            audit.append_in(s, [AuditEvent(event="wechat_binding", actor=f"customer:{customer_id}", customer_id=customer_id,
                                           data={"action": "unbind", "channel": "wechat", "count": len(openids)})], now)
            return len(openids)

    def binding_of(self, customer_id: str) -> WeChatBinding | None:
        with self.db.session() as s:
            return s.scalars(select(WeChatBinding).where(WeChatBinding.customer_id == customer_id)
                             .order_by(WeChatBinding.bound_at.desc())).first()


# --- the channel: turns and deliveries ---------------------------------------------------------


class WeChatChannel:
    def __init__(self, settings: Settings, db: Database, engine: ConversationPipeline, events: EventBus,
                 api: WeChatApi | None = None, counter: Counter | None = None) -> None:
        self.settings = settings
        # WeChat's servers send every push from a few addresses: the per-IP limit cannot tell users
        # apart, so turns are counted per openid (and per bound customer, shared with the app).
        self.counter = counter or InProcessCounter()
        self.engine = engine
        self.events = events
        self.store = WeChatStore(db)
        self.audit = AuditLog(db, audit_keys(settings))
        self.api = api or WeChatApi(settings, RedisTokenCache(settings.redis_url, settings.wechat_appid or "")
                                    if settings.redis_url else InProcessTokenCache())
        aes = settings.wechat_encoding_aes_key
        self.crypto = WeChatCrypto(settings.wechat_token.get_secret_value(), aes.get_secret_value(),
                                   settings.wechat_appid) if aes is not None else None
        self.now = lambda: datetime.now(SHANGHAI)  # tests move it to cross WeChat's windows
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turns = asyncio.Event()
        self._sends = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._pruned_at: datetime | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [asyncio.create_task(self._forever(self._turn_once, self._turns), name="wechat-turns"),
                       asyncio.create_task(self._forever(self._send_once, self._sends), name="wechat-sends")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.api.close()

    def wake(self) -> None:
        """From any thread: there is new work."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._turns.set)
            self._loop.call_soon_threadsafe(self._sends.set)

    async def _forever(self, step, event: asyncio.Event) -> None:
        while True:
            try:
                while await step():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup: the rows stay queued and are tried again
                log.exception("wechat worker step failed")
            try:
                await asyncio.wait_for(event.wait(), self.settings.wechat_poll_interval_s)
            except TimeoutError:
                pass
            event.clear()

    # turns

    async def _turn_once(self) -> bool:
        now = self.now()
        job = await run_in_threadpool(self.store.claim_inbound, now)
        if job is None:
            if self._pruned_at is None or now - self._pruned_at > PRUNE_EVERY:
                self._pruned_at = now
                await run_in_threadpool(self.store.prune, now)
            return False
        conversation_id, text = await run_in_threadpool(self._answer, job)
        if job.msg_type == "event":
            deadline = job.received_at + ENTER_WINDOW
        else:
            session = await run_in_threadpool(self.store.session, job.openid)
            deadline = (session.last_message_at if session and session.last_message_at else job.received_at) + WINDOW
        parts = split_text(text, self.settings.wechat_text_max_bytes, self.settings.wechat_max_parts) if text else []
        await run_in_threadpool(self.store.finish_inbound, job.id, job.openid, conversation_id, parts, deadline, self.now())
        self._sends.set()
        return True

    def _conversation(self, openid: str, customer: str | None) -> str:
        """The openid's open conversation, or a new one (as the bound customer, if any)."""
        session = self.store.session(openid)
        if session is not None and session.conversation_id:
            try:
                conv = self.engine.get(session.conversation_id)
                if conv.customer_id == customer and conv.status != "resolved":
                    return conv.id
            except ConversationNotFound:
                pass
        try:
            conv = self.engine.start(customer_id=customer, channel="wechat")
        except BrokerageError:  # the bound customer is gone from the broker's books: answer as a visitor
            log.warning("wechat binding names an unknown customer; answering as a visitor")
            conv = self.engine.start(customer_id=None, channel="wechat")
        self.store.set_conversation(openid, conv.id, self.engine.now())
        return conv.id

    def _answer(self, job: Job) -> tuple[str | None, str]:
        """(conversation id, the text to send) for one inbound message."""
        customer = self.store.customer_of(job.openid)
        if job.msg_type == "event":
            if job.payload.get("event") == "user_enter_tempsession":
                return None, T.GREETING if customer else GREETING_UNBOUND
            return None, ""  # other events need no answer
        if job.attempts > 1:
            # A worker died while running this turn: it may have run. Say so rather than run it twice.
            return None, INTERRUPTED_REPLY
        if job.msg_type == "image":
            return None, IMAGE_REPLY
        if job.msg_type == "miniprogrampage":
            title = mask_pii(job.payload.get("title", "").strip()).text
            return None, PAGE_REPLY.format(title=f"《{title}》" if title else "")
        if job.msg_type != "text":
            return None, UNSUPPORTED_REPLY
        text = job.content.strip()
        if not text:
            return None, ""
        if len(text) > self.settings.wechat_max_message_chars:
            return None, TOO_LONG_REPLY.format(n=self.settings.wechat_max_message_chars)
        limit = self.settings.rate_limit_customer_per_minute
        mine = over_limit(self.counter, f"wechat:{job.openid}", limit)
        shared = over_limit(self.counter, f"customer:{customer}", limit) if customer else 0
        if mine > 0 or shared > 0:
            log.warning("wechat turn over the rate limit; not run")
            # Told once a minute; a flood beyond that gets no answer at all (each one would cost a send).
            return None, RATE_LIMITED_REPLY if mine == 1 or (mine <= 0 and shared > 0) else ""
        try:
            conversation_id = self._conversation(job.openid, customer)
            reply = self.engine.handle(Turn(conversation_id=conversation_id, customer_id=customer, text=text,
                                            channel="wechat"))
        except Exception:
            log.exception("wechat turn failed")
            return None, BUSY_REPLY
        out = format_reply(reply)
        if customer is None:
            out = out.replace(T.SIGN_IN, BIND_HINT)
        return conversation_id, out

    # deliveries

    async def _send_once(self) -> bool:
        now = self.now()
        send = await run_in_threadpool(self.store.claim_send, now)
        if send is None:
            return False
        if now >= send.deadline:
            log.warning("wechat message %d not sent: WeChat's window for answering has closed", send.id)
            await run_in_threadpool(self.store.settle_send, send.id, status="expired", now=now, error="window closed")
            return True
        try:
            await self.api.send_text(send.openid, send.content)
        except WeChatApiError as exc:
            settings = self.settings
            if exc.retryable and send.attempts < settings.wechat_send_max_attempts:
                delay = min(settings.wechat_send_backoff_s * 2 ** (send.attempts - 1), settings.wechat_send_backoff_max_s)
                log.warning("wechat message %d: send failed (attempt %d of %d, %s); retrying in %.1f s",
                            send.id, send.attempts, settings.wechat_send_max_attempts, exc, delay)
                await run_in_threadpool(self.store.settle_send, send.id, status="pending", now=now, error=str(exc),
                                        retry_at=self.now() + timedelta(seconds=delay))
            else:
                log.error("wechat message %d: send failed for good after %d attempt(s): %s", send.id, send.attempts, exc)
                await run_in_threadpool(self.store.settle_send, send.id, status="failed", now=now, error=str(exc))
            return True
        await run_in_threadpool(self.store.settle_send, send.id, status="sent", now=self.now())
        return True

    def deliver(self, conversation_id: str, text: str) -> None:
        """For other parts (the agent console): send `text` to the WeChat user of this conversation.
        Raises DeliveryRefused when it is not a WeChat conversation or WeChat's 48-hour window has closed."""
        text = text.strip()
        if not text:
            raise DeliveryRefused("empty_message", "消息内容不能为空。")
        session = self.store.session_for_conversation(conversation_id)
        if session is None:
            raise DeliveryRefused("not_wechat", "该会话不是进行中的微信会话，无法通过微信发送。")
        now = self.now()
        if session.last_message_at is None or session.last_message_at + WINDOW <= now:
            raise DeliveryRefused("window_closed", "客户已超过 48 小时未发消息，微信不允许再向其发送客服消息，请通过其他方式联系客户。")
        parts = split_text(text, self.settings.wechat_text_max_bytes, self.settings.wechat_max_parts)
        self.store.enqueue(session.openid, conversation_id, parts, session.last_message_at + WINDOW, now)
        self.wake()


def build_wechat(settings: Settings, db: Database, engine: ConversationPipeline, events: EventBus,
                 counter: Counter | None = None) -> WeChatChannel | None:
    """The channel, or None when WeChat is not configured (the endpoints then answer 503)."""
    return WeChatChannel(settings, db, engine, events, counter=counter) if settings.wechat_configured else None


# --- HTTP --------------------------------------------------------------------------------------

router = APIRouter(prefix="/v1/wechat", tags=["wechat"], responses=errors(400, 401, 403, 409, 429, 503))


def channel(request: Request) -> WeChatChannel:
    wechat = getattr(request.app.state, "wechat", None)
    if wechat is None:
        raise ApiError(503, "wechat_not_configured", "微信小程序渠道尚未配置。")
    return wechat


Channel = Annotated[WeChatChannel, Depends(channel)]
QueryToken = Annotated[str, Query(min_length=1, max_length=128)]


_PLAIN = {200: {"description": "plain text (`echostr` / `success`)", "content": {"text/plain": {"schema": {"type": "string"}}}}}


@router.get("/push", response_model=None, responses=_PLAIN)
def verify_url(wechat: Channel, signature: QueryToken, timestamp: QueryToken, nonce: QueryToken,
               echostr: QueryToken) -> PlainTextResponse:
    """WeChat's check of the push URL: echo `echostr` if the signature is ours."""
    _check_signature(wechat.settings, signature, timestamp, nonce)
    return PlainTextResponse(echostr)


@router.post("/push", response_model=None, responses=_PLAIN)
async def push(request: Request, wechat: Channel, signature: QueryToken, timestamp: QueryToken, nonce: QueryToken,
               encrypt_type: Annotated[str | None, Query(max_length=16)] = None,
               msg_signature: Annotated[str | None, Query(max_length=128)] = None) -> PlainTextResponse:
    settings = wechat.settings
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, "too_large", "消息过大。")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too_large", "消息过大。")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("消息不是 UTF-8 编码。") from None
    now = wechat.now()
    if encrypt_type is not None and encrypt_type != "raw":
        if encrypt_type != "aes" or wechat.crypto is None:
            raise _bad("不支持的加密方式。")
        if not msg_signature:
            raise _forged()
        envelopes = _ENVELOPE.findall(body)
        if len(envelopes) != 1:
            raise _bad()
        encrypted = (envelopes[0][0] or envelopes[0][1]).replace("\\/", "/")
        try:  # the signature is checked first, then the envelope decrypted
            plain = wechat.crypto.decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
        except (InvalidSignatureException, InvalidAppIdException):
            raise _forged() from None
        except Exception:  # not base64, bad padding, truncated: not something WeChat sent
            raise _bad("消息解密失败。") from None
        data = _parse(plain)
    else:
        if wechat.crypto is not None:  # plaintext signatures do not cover the body: refused in secure mode
            raise ApiError(403, "encryption_required", "已启用安全模式，只接受加密消息。")
        _check_signature(settings, signature, timestamp, nonce)
        data = _parse(body)
    _check_time(timestamp, now, settings.wechat_timestamp_tolerance_s)
    message = _message(data, settings.wechat_max_message_chars)
    if await run_in_threadpool(wechat.store.accept, message, f"{timestamp}:{nonce}", now):
        wechat.wake()
    return PlainTextResponse("success")


class BindIn(BaseModel):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class BindingOut(BaseModel):
    bound: bool
    bound_at: datetime | None = None


def _signed_in(customer: Annotated[str | None, Depends(current_customer)]) -> str:
    if customer is None:
        raise ApiError(401, "unauthenticated", "请先登录明川证券账户后再绑定微信。")
    return customer


Customer = Annotated[str, Depends(_signed_in)]


@router.post("/bind", response_model=BindingOut, dependencies=[Depends(limit_by_ip)])
async def bind(body: BindIn, wechat: Channel, customer: Customer) -> BindingOut:
    """Bind the calling mini-program user (the code from wx.login) to the signed-in customer."""
    if wechat.settings.wechat_app_secret is None:
        raise ApiError(503, "wechat_not_configured", "微信小程序渠道尚未配置。")
    try:
        await run_in_threadpool(wechat.engine.check_customer, customer)
    except BrokerageError:
        raise ApiError(401, "unknown_customer", "未找到您的客户信息，请重新登录。") from None
    try:
        openid = await wechat.api.code2session(body.code)
    except BadLoginCode:
        raise ApiError(400, "bad_code", "微信登录凭证无效或已过期，请重新进入小程序后再试。") from None
    except WeChatApiError as exc:
        log.warning("wechat jscode2session failed: %s", exc)
        raise ApiError(503, "wechat_unavailable", "微信服务暂时不可用，请稍后再试。") from None
    try:
        bound_at = await run_in_threadpool(wechat.store.bind, openid, customer, wechat.now(), wechat.audit)
    except BoundElsewhere:
        raise ApiError(409, "bound_elsewhere", "该微信已绑定其他证券账户。如需更换，请先登录原账户解除绑定。") from None
    return BindingOut(bound=True, bound_at=bound_at)


@router.get("/bind", response_model=BindingOut)
def binding(wechat: Channel, customer: Customer) -> BindingOut:
    row = wechat.store.binding_of(customer)
    return BindingOut(bound=row is not None, bound_at=row.bound_at if row else None)


@router.delete("/bind", response_model=BindingOut)
def unbind(wechat: Channel, customer: Customer) -> BindingOut:
    wechat.store.unbind(customer, wechat.now(), wechat.audit)
    return BindingOut(bound=False)
