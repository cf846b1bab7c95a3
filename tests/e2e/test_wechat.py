"""The WeChat mini-program channel end to end: pushes signed (and in secure mode encrypted) as
WeChat would, turns answered through a local fake of the WeChat API, binding with the app's
token, and everything a forger or a replay could try refused without a trace."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import uuid
from datetime import timedelta

import pytest
import xmltodict
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from assistant.app import create_app
from assistant.channels.tokens import mint
from assistant.channels.wechat import BIND_HINT, IMAGE_REPLY, RATE_LIMITED_REPLY, DeliveryRefused
from assistant.storage import Conversation, ConversationMessage, WeChatInbound, WeChatOutbox
from tests.e2e.test_http_conversations import app_settings
from tests.fake_wechat import APPID, SECRET, FakeWeChat

TOKEN = "push-token-for-tests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the console gives it


@pytest.fixture
def fake():
    with FakeWeChat() as server:
        yield server


def wechat_settings(tmp_path, small_kb_dir, fake, **overrides):
    return app_settings(tmp_path, small_kb_dir, wechat_token=TOKEN, wechat_appid=APPID, wechat_app_secret=SECRET,
                        wechat_api_base_url=fake.base_url, wechat_poll_interval_s=0.05, wechat_send_backoff_s=0.05,
                        **overrides)


@pytest.fixture
def make_client(tmp_path, small_kb_dir, fake, open_client):
    made = itertools.count()

    def make(**overrides) -> TestClient:
        return open_client(wechat_settings(tmp_path / f"w{next(made)}", small_kb_dir, fake, **overrides))

    return make


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def secure(make_client):
    return make_client(wechat_encoding_aes_key=AES_KEY)


# --- what WeChat sends ------------------------------------------------------------------------


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def new_openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


def message(openid: str, text: str | None = None, **fields) -> dict:
    body = {"ToUserName": "gh_mingchuan", "FromUserName": openid, "CreateTime": int(time.time()), **fields}
    if text is not None:
        body.update(MsgType="text", Content=text, MsgId=str(uuid.uuid4().int % 10**16))
    return body


def as_xml(body: dict) -> str:
    return xmltodict.unparse({"xml": body}, full_document=False)


def push(client, body: dict | str, *, fmt: str = "json", timestamp: int | None = None, nonce: str | None = None,
         signature: str | None = None):
    """A plaintext push, signed over token, timestamp and nonce."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or uuid.uuid4().hex[:10]
    data = body if isinstance(body, str) else (json.dumps(body, ensure_ascii=False) if fmt == "json" else as_xml(body))
    params = {"signature": signature or sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
              "openid": body.get("FromUserName", "") if isinstance(body, dict) else ""}
    return client.post("/v1/wechat/push", params=params, content=data.encode("utf-8"),
                       headers={"Content-Type": "application/json" if fmt == "json" else "text/xml"})


def push_secure(client, body: dict, *, fmt: str = "json", timestamp: int | None = None, nonce: str | None = None,
                msg_signature: str | None = None, key: str = AES_KEY):
    """A secure-mode push: the message encrypted with the EncodingAESKey, signed with msg_signature."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or uuid.uuid4().hex[:10]
    if fmt == "xml":
        envelope = xmltodict.parse(WeChatCrypto(TOKEN, key, APPID).encrypt_message(as_xml(body), nonce, ts))["xml"]
        encrypted, good_signature = envelope["Encrypt"], envelope["MsgSignature"]
        data = as_xml({"ToUserName": "gh_mingchuan", "Encrypt": encrypted})
    else:
        import base64

        encrypted = PrpCrypto(base64.b64decode(key + "=")).encrypt(json.dumps(body, ensure_ascii=False), APPID).decode()
        good_signature = sign(TOKEN, ts, nonce, encrypted)
        data = json.dumps({"ToUserName": "gh_mingchuan", "Encrypt": encrypted})
    params = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
              "msg_signature": msg_signature or good_signature, "openid": body["FromUserName"]}
    return client.post("/v1/wechat/push", params=params, content=data.encode("utf-8"))


def ask(client, openid: str, text: str, count: int = 1, fake: FakeWeChat | None = None, **kw) -> list[str]:
    before = len(fake.messages_to(openid))
    response = push(client, message(openid, text), **kw)
    assert response.status_code == 200 and response.text == "success", response.text
    return fake.wait_for(openid, before + count)[before:]


def table_counts(client) -> tuple[int, int]:
    with client.app.state.db.session() as s:
        return (s.scalar(select(func.count()).select_from(WeChatInbound)),
                s.scalar(select(func.count()).select_from(WeChatOutbox)))


def settle(client, timeout: float = 20.0) -> None:
    """Until nothing is left to answer or to send."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with client.app.state.db.session() as s:
            pending = s.scalar(select(func.count()).select_from(WeChatInbound).where(WeChatInbound.status == "pending"))
            pending += s.scalar(select(func.count()).select_from(WeChatOutbox).where(WeChatOutbox.status == "pending"))
        if not pending:
            return
        time.sleep(0.05)
    raise AssertionError("work still pending")


def bearer(client, customer: str) -> dict:
    return {"Authorization": f"Bearer {mint(client.app.state.settings, customer)}"}


# --- the push URL -----------------------------------------------------------------------------


def test_url_verification_echoes_echostr_only_for_our_signature(client) -> None:
    ts, nonce = str(int(time.time())), "n0nce"
    ok = client.get("/v1/wechat/push", params={"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
                                               "echostr": "7385219043"})
    assert ok.status_code == 200 and ok.text == "7385219043"
    forged = client.get("/v1/wechat/push", params={"signature": sign("guess", ts, nonce), "timestamp": ts,
                                                   "nonce": nonce, "echostr": "7385219043"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "bad_signature"
    assert "7385219043" not in forged.text


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_plaintext_text_message_is_answered_through_the_send_api(client, fake, fmt) -> None:
    openid = new_openid()
    (answer,) = ask(client, openid, "卖出股票要交印花税吗", fake=fake, fmt=fmt)
    assert "0.05%" in answer and "【1】《证券交易印花税说明》" in answer  # the citation as a short reference
    assert "[1]" not in answer
    assert fake.tokens_issued == ["TOKEN-1"] and not fake.problems
    with client.app.state.db.session() as s:
        conv = s.scalars(select(Conversation).where(Conversation.channel == "wechat")).one()
        assert conv.customer_id is None
    # The same openid stays in its conversation; the cached token is reused.
    ask(client, openid, "谢谢", fake=fake, fmt=fmt)
    with client.app.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1
    assert fake.tokens_issued == ["TOKEN-1"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_secure_mode_message_is_decrypted_and_answered(secure, fake, fmt) -> None:
    openid = new_openid()
    response = push_secure(secure, message(openid, "印花税是多少"), fmt=fmt)
    assert response.status_code == 200 and response.text == "success"
    (answer,) = fake.wait_for(openid, 1)
    assert "0.05%" in answer and not fake.problems


def test_secure_mode_refuses_forgeries_and_plaintext(secure, fake) -> None:
    openid = new_openid()
    body = message(openid, "印花税是多少")
    forged = push_secure(secure, body, msg_signature=sign("guess", "1", "2", "3"))
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "bad_signature"
    wrong_key = push_secure(secure, body, key="Z" * 43)  # signed right, encrypted with another key
    assert wrong_key.status_code in (400, 403)
    plain = push(secure, body)  # a plaintext signature does not cover the body
    assert plain.status_code == 403 and plain.json()["error"]["code"] == "encryption_required"
    time.sleep(0.5)
    assert table_counts(secure) == (0, 0) and fake.messages_to(openid) == []


def test_forged_stale_and_replayed_pushes_change_nothing(client, fake) -> None:
    openid = new_openid()
    body = message(openid, "印花税是多少")
    assert push(client, body, signature=sign("guess", "1", "2")).status_code == 403
    stale = int(time.time()) - 3600
    assert push(client, body, timestamp=stale).json()["error"]["code"] == "stale_request"
    assert push(client, body, timestamp=int(time.time()) + 3600).status_code == 403
    time.sleep(0.3)
    assert table_counts(client) == (0, 0) and fake.messages_to(openid) == []

    nonce = "fixed-nonce"
    ts = int(time.time())
    assert push(client, body, nonce=nonce, timestamp=ts).status_code == 200
    fake.wait_for(openid, 1)
    # WeChat retrying the same message (new nonce) is acknowledged and not answered again.
    assert push(client, body).text == "success"
    # The captured signature reused for another message is a replay.
    other = message(openid, "我的账户余额")
    replayed = push(client, other, nonce=nonce, timestamp=ts)
    assert replayed.status_code == 403 and replayed.json()["error"]["code"] == "replayed_request"
    time.sleep(0.5)
    assert len(fake.messages_to(openid)) == 1
    assert table_counts(client)[0] == 1


@pytest.mark.parametrize("raw, fmt", [
    ("<xml><FromUserName>oabc</FromUserName><MsgType>text", "xml"),
    ('{"FromUserName": "oabc", "MsgType": ', "json"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>', "xml"),
    ('["not", "an", "object"]', "json"),
    ('{"MsgType": "text", "Content": "你好", "CreateTime": 1}', "json"),  # no sender
    ('{"FromUserName": "o/../x", "MsgType": "text", "CreateTime": 1}', "json"),
    ("plain words", "json"),
])
def test_malformed_bodies_get_400_and_change_nothing(client, raw, fmt) -> None:
    response = push(client, raw, fmt=fmt)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]
    assert table_counts(client) == (0, 0)


def test_a_huge_push_gets_413(client) -> None:
    response = push(client, message(new_openid(), "你" * 40000))
    assert response.status_code == 413 and table_counts(client) == (0, 0)


def test_a_long_text_is_not_run_as_a_turn(client, fake) -> None:
    (answer,) = ask(client, new_openid(), "请问" * 600, fake=fake)
    assert "超过 1000 字" in answer


def test_not_configured_answers_503(tmp_path, small_kb_dir) -> None:
    with TestClient(create_app(app_settings(tmp_path, small_kb_dir), ingest_in_background=False)) as client:
        response = client.post("/v1/wechat/push", params={"signature": "x", "timestamp": "1", "nonce": "n"},
                               content=b"{}")
        assert response.status_code == 503 and response.json()["error"]["code"] == "wechat_not_configured"
        assert "wechat" not in client.app.state.deliveries


# --- message types ----------------------------------------------------------------------------


def test_image_page_and_entering_the_session(client, fake) -> None:
    openid = new_openid()
    enter = message(openid, MsgType="event", Event="user_enter_tempsession", SessionFrom="profile")
    assert push(client, enter).text == "success"
    (greeting,) = fake.wait_for(openid, 1)
    assert greeting.startswith("您好") and "绑定" in greeting
    assert push(client, enter).text == "success"  # the same event again (a retry): greeted once
    image = message(openid, MsgType="image", PicUrl="http://mmbiz.qpic.cn/x", MediaId="m1", MsgId="1001")
    assert push(client, image, fmt="xml").text == "success"
    assert fake.wait_for(openid, 2)[1] == IMAGE_REPLY
    page = message(openid, MsgType="miniprogrampage", Title="科创板开通条件", AppId=APPID, PagePath="pages/star",
                   ThumbUrl="http://x/y", ThumbMediaId="t1", MsgId="1002")
    assert push(client, page).text == "success"
    assert "《科创板开通条件》" in fake.wait_for(openid, 3)[2]
    time.sleep(0.3)
    assert len(fake.messages_to(openid)) == 3


# --- binding ----------------------------------------------------------------------------------


def test_unbound_user_is_told_to_bind_and_a_bound_one_gets_their_own_account(client, fake) -> None:
    openid = new_openid()
    (refusal,) = ask(client, openid, "我的账户余额是多少", fake=fake)
    assert BIND_HINT in refusal and "总资产" not in refusal and "App 登录" not in refusal

    assert client.post("/v1/wechat/bind", json={"code": fake.login_code(openid)}).status_code == 401  # no sign-in
    bad = client.post("/v1/wechat/bind", json={"code": "made-up"}, headers=bearer(client, "100001"))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_code"
    bound = client.post("/v1/wechat/bind", json={"code": fake.login_code(openid)}, headers=bearer(client, "100001"))
    assert bound.status_code == 200 and bound.json()["bound"] is True
    assert client.get("/v1/wechat/bind", headers=bearer(client, "100001")).json()["bound"] is True

    # The customer's own figures, as the app shows them to the same customer.
    cid = client.post("/v1/conversations", headers=bearer(client, "100001")).json()["id"]
    in_app = client.post(f"/v1/conversations/{cid}/messages", json={"text": "我的账户余额是多少"},
                         headers=bearer(client, "100001")).json()["text"]
    assert "总资产" in in_app
    (answer,) = ask(client, openid, "我的账户余额是多少", fake=fake)
    assert answer == in_app
    with client.app.state.db.session() as s:
        owners = {c.customer_id for c in s.scalars(select(Conversation).where(Conversation.channel == "wechat"))}
    assert owners == {None, "100001"}  # the anonymous conversation did not become the customer's

    # Another customer cannot take this WeChat user over.
    taken = client.post("/v1/wechat/bind", json={"code": fake.login_code(openid)}, headers=bearer(client, "100003"))
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "bound_elsewhere"
    # Unbound, account questions are refused again.
    assert client.delete("/v1/wechat/bind", headers=bearer(client, "100001")).json()["bound"] is False
    (again,) = ask(client, openid, "我的账户余额是多少", fake=fake)
    assert BIND_HINT in again and "总资产" not in again


# --- delivery -------------------------------------------------------------------------------


def test_long_answers_are_split_within_the_limit_and_in_order(make_client, fake) -> None:
    client = make_client(wechat_text_max_bytes=120, wechat_max_parts=5)
    openid = new_openid()
    push(client, message(openid, "卖出股票要交印花税吗"))
    fake.wait_for(openid, 2)
    settle(client)
    parts = fake.messages_to(openid)
    assert len(parts) >= 2 and all(len(p.encode()) <= 120 for p in parts)
    assert parts[0].startswith(f"（1/{len(parts)}）") and parts[-1].startswith(f"（{len(parts)}/{len(parts)}）")
    assert "0.05%" in "".join(parts)


def test_failed_sends_are_retried_with_backoff_and_a_stale_token_is_refreshed(client, fake) -> None:
    openid = new_openid()
    fake.fail_next = 2  # two 500s, then the send goes through
    (answer,) = ask(client, openid, "你好", fake=fake)
    assert answer and fake.send_attempts == 3
    settle(client)  # the row is marked sent after WeChat's answer, a moment after the fake saw the message
    with client.app.state.db.session() as s:
        row = s.scalars(select(WeChatOutbox)).one()
        assert row.status == "sent" and row.attempts == 3 and "500" in row.last_error

    fake.expire_tokens()  # WeChat invalidated the token: refreshed once, the message still arrives
    ask(client, openid, "谢谢", fake=fake)
    assert fake.tokens_issued == ["TOKEN-1", "TOKEN-2"] and not fake.problems


def test_a_send_that_keeps_failing_gives_up_after_its_attempts(make_client, fake) -> None:
    client = make_client(wechat_send_max_attempts=3)
    openid = new_openid()
    fake.fail_next = 10
    push(client, message(openid, "你好"))
    deadline = time.time() + 20
    while time.time() < deadline:
        with client.app.state.db.session() as s:
            row = s.scalars(select(WeChatOutbox)).first()
            if row is not None and row.status == "failed":
                break
        time.sleep(0.05)
    assert row.status == "failed" and row.attempts == 3 and fake.send_attempts == 3
    assert fake.messages_to(openid) == []


def test_other_parts_deliver_within_the_48_hour_window_only(client, fake) -> None:
    openid = new_openid()
    ask(client, openid, "你好", fake=fake)
    with client.app.state.db.session() as s:
        conversation_id = s.scalars(select(Conversation.id).where(Conversation.channel == "wechat")).one()
    deliver = client.app.state.deliveries["wechat"]
    deliver(conversation_id, "您好，我是人工客服小明，请问有什么可以帮您？")
    assert fake.wait_for(openid, 2)[1] == "您好，我是人工客服小明，请问有什么可以帮您？"
    with pytest.raises(DeliveryRefused):
        deliver("no-such-conversation", "你好")

    wechat = client.app.state.wechat
    real_now = wechat.now
    wechat.now = lambda: real_now() + timedelta(hours=49)
    with pytest.raises(DeliveryRefused) as refused:
        deliver(conversation_id, "还在吗？")
    assert refused.value.code == "window_closed"
    # A reply queued inside the window but still failing when it closes is dropped, not sent late.
    wechat.now = real_now
    fake.fail_next = 1000
    deliver(conversation_id, "稍后回复您")
    wechat.now = lambda: real_now() + timedelta(hours=49)
    deadline = time.time() + 10
    while time.time() < deadline:
        with client.app.state.db.session() as s:
            statuses = [r.status for r in s.scalars(select(WeChatOutbox).order_by(WeChatOutbox.id))]
        if statuses[-1] == "expired":
            break
        time.sleep(0.05)
    assert statuses[-1] == "expired" and len(fake.messages_to(openid)) == 2


def test_a_flood_from_one_openid_is_limited_and_told_once(make_client, fake) -> None:
    client = make_client(rate_limit_customer_per_minute=3)
    openid, other = new_openid(), new_openid()
    for i in range(6):
        assert push(client, message(openid, f"印花税是多少{'？' * (i + 1)}")).text == "success"
    settle(client)
    sent = fake.messages_to(openid)
    assert len(sent) == 4  # three answers, then one notice; the rest were not run and cost no send
    assert all("0.05%" in m for m in sent[:3]) and sent[3] == RATE_LIMITED_REPLY
    with client.app.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ConversationMessage)) == 2 * 3
    (answer,) = ask(client, other, "印花税是多少", fake=fake)  # another user is not held back
    assert "0.05%" in answer
