"""The WeChat API client against the local fake: token cached and shared, refreshed when WeChat
rejects it, final and retryable errors told apart, login codes exchanged once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from assistant.channels.wechat_api import BadLoginCode, RedisTokenCache, WeChatApi, WeChatApiError
from tests.conftest import make_settings
from tests.e2e.test_http_identity import REDIS_URL, _redis_available
from tests.fake_wechat import APPID, SECRET, FakeWeChat


@pytest.fixture
def fake():
    with FakeWeChat() as server:
        yield server


def settings(tmp_path, fake, **kw):
    return make_settings(tmp_path / "var", tmp_path / "kb", **{
        "wechat_token": "t", "wechat_appid": APPID, "wechat_app_secret": SECRET, "wechat_api_base_url": fake.base_url, **kw})


def test_send_errors_and_code_exchange(tmp_path, fake) -> None:
    async def run() -> None:
        api = WeChatApi(settings(tmp_path, fake))
        try:
            await api.send_text("oA", "您好")
            await api.send_text("oA", "再见")
            assert fake.tokens_issued == ["TOKEN-1"]
            fake.fail_next, fake.fail_status, fake.fail_errcode = 1, 200, 45015  # outside the 48-hour window
            with pytest.raises(WeChatApiError) as final:
                await api.send_text("oA", "还在吗")
            assert final.value.errcode == 45015 and not final.value.retryable
            fake.fail_next, fake.fail_errcode = 1, -1  # system busy
            with pytest.raises(WeChatApiError) as busy:
                await api.send_text("oA", "还在吗")
            assert busy.value.retryable
            code = fake.login_code("oUser")
            assert await api.code2session(code) == "oUser"
            with pytest.raises(BadLoginCode):
                await api.code2session(code)  # a code is good once
        finally:
            await api.close()

    asyncio.run(run())


def test_a_wrong_secret_is_not_retried(tmp_path, fake) -> None:
    async def run() -> None:
        api = WeChatApi(settings(tmp_path, fake, wechat_app_secret="wrong"))
        try:
            with pytest.raises(WeChatApiError) as error:
                await api.send_text("oA", "您好")
            assert error.value.errcode == 40125 and not error.value.retryable
        finally:
            await api.close()

    asyncio.run(run())


@pytest.mark.skipif(not _redis_available(), reason="no Redis at 127.0.0.1:6379")
def test_workers_share_one_token_through_redis(tmp_path, fake) -> None:
    async def run() -> None:
        s = settings(tmp_path, fake, redis_url=REDIS_URL)
        appid = f"{APPID}-{uuid.uuid4().hex}"  # a key of this test's own in the shared Redis
        first = WeChatApi(s, RedisTokenCache(REDIS_URL, appid))
        second = WeChatApi(s, RedisTokenCache(REDIS_URL, appid))
        try:
            await first.send_text("oA", "一")
            await second.send_text("oA", "二")
            assert fake.tokens_issued == ["TOKEN-1"]
            fake.expire_tokens()
            await second.send_text("oA", "三")  # refreshed once, for both
            await first.send_text("oA", "四")
            assert fake.tokens_issued == ["TOKEN-1", "TOKEN-2"] and len(fake.sent) == 4
        finally:
            await first.close()
            await second.close()

    asyncio.run(run())
