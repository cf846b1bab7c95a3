"""Browser tests: the real app served by uvicorn on a free loopback port, driven through Debian's
chromium by Playwright (`executable_path`; Playwright never downloads a browser here).

Fixtures for any page (the chat page, the agent console):
- `live_server`: the running app (`base_url`, `app`, `settings`, `token(customer_id)`), one per
  session, with its own var/, the small fixture knowledge base and a simulator clock pinned
  inside a trading session so that orders go through;
- `browser`: headless Chromium, one per session, with a fake microphone that plays
  tests/fixtures/speech/dv03.wav ("买入一百股贵州茅台") once and then silence;
- `page`: a fresh context and page per test (its own sessionStorage); an uncaught script error
  or an error logged on the console (a CSP violation, say) fails the test.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CLIPS, FIXTURES, make_settings

CHROMIUM = Path("/usr/bin/chromium")
PINNED = "2026-11-25T10:30:00+08:00"  # a Wednesday morning session
# Questions the small fixture knowledge base answers (the defaults are for the real one), and one it does not.
SUGGESTED = ["科创板股票最少买多少股？", "卖出股票的印花税税率是多少？", "银证转账什么时候可以办理？", "港股打新有哪些费用？"]
FAKE_MICROPHONE_CLIP = CLIPS / "dv03.wav"


@dataclass
class LiveServer:
    base_url: str
    app: object  # the FastAPI app: app.state.engine, .events, .settings …

    @property
    def settings(self):
        return self.app.state.settings

    def token(self, customer_id: str, **kwargs) -> str:
        from assistant.channels.tokens import mint

        return mint(self.settings, customer_id, **kwargs)


@contextmanager
def serve(root: Path, **overrides):
    """The app on a free loopback port, with its own var/ under root and the small knowledge base."""
    import uvicorn

    from assistant.app import create_app

    kb_dir = root / "kb"
    shutil.copytree(FIXTURES / "kb_small", kb_dir)
    settings = make_settings(root / "var", kb_dir, simulator_now=PINNED,
                             # many turns from one customer in a few seconds: not what the limits are for here
                             rate_limit_customer_per_minute=10_000, rate_limit_ip_per_minute=100_000,
                             **{"chat_suggested_questions": SUGGESTED, **overrides})
    app = create_app(settings, ingest_in_background=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held from here on: nothing can take it in between
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 600  # the first run on a fresh machine trains the small models
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.1)
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> LiveServer:
    with serve(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed: run scripts/install-browser.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--use-fake-ui-for-media-stream",  # grant the microphone without asking
                "--use-fake-device-for-media-stream",
                # %noloop: the clip plays once, then silence, like one spoken sentence
                f"--use-file-for-fake-audio-capture={FAKE_MICROPHONE_CLIP}%noloop",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.base_url, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message) -> None:
        # A refused request (a 4xx a test provokes) is logged by the browser too; anything else
        # logged as an error (a Content-Security-Policy violation, a failed script) is a defect.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", console)
    yield page
    context.close()
    assert not errors, f"errors on the page: {errors}"
