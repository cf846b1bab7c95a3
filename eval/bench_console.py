"""Benchmark: how fast the agent console's list follows a filter on a 1,000-ticket floor.

`python -m eval.bench_console [--tickets 1000] [--rounds 20] [--screens DIR]` starts the app on a
free loopback port with a throw-away var/ (the small test knowledge base; the trained models under
var/ are reused), writes a day's tickets (eval/floor.py), signs an agent in to /agent in Debian's
chromium (headless, Playwright) and changes a filter `--rounds` times, alternating between
reason, priority and channel filters and the call-back and live groups. Each round is timed in
the page, from the change event to the list redrawn and painted (performance.now(), two
animation frames); the API alone is timed with httpx. It prints median, p95 and max.

With --screens it also saves what an agent and a customer see first, at 1280×800 and 375×812:
the console (queue and supervisor board) and the chat page with holdings and an order preview.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from assistant.settings import PROJECT_ROOT, Settings
from eval.floor import seed_floor

CHROMIUM = Path("/usr/bin/chromium")
PINNED = "2026-11-25T10:30:00+08:00"  # a Wednesday morning: a trading session, agents on duty
PASSWORD = "bench-console-2026"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}

# One change of filter in the page, timed until the list is redrawn and painted.
TIME_CHANGE = """async ([id, value]) => {
  const list = document.getElementById("queue-list");
  const field = document.getElementById(id);
  const redrawn = new Promise((resolve) => {
    const watch = new MutationObserver(() => { watch.disconnect(); resolve(); });
    watch.observe(list, { childList: true });
  });
  const started = performance.now();
  field.value = value;
  field.dispatchEvent(new Event("change"));
  await redrawn;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - started;
}"""


def _serve(root: Path):
    import uvicorn

    from assistant.app import create_app

    kb_dir = root / "kb"
    shutil.copytree(PROJECT_ROOT / "tests" / "fixtures" / "kb_small", kb_dir)
    settings = Settings(_env_file=None, environment="test", var_dir=root / "var", kb_dir=kb_dir,
                        prompts_dir=PROJECT_ROOT / "prompts", nlu_model_dir=PROJECT_ROOT / "var" / "nlu",
                        compliance_model_dir=PROJECT_ROOT / "var" / "compliance", stt_preload=False,
                        simulator_now=PINNED, rate_limit_customer_per_minute=10_000,
                        rate_limit_ip_per_minute=100_000,
                        chat_suggested_questions=["科创板股票最少买多少股？", "卖出股票的印花税税率是多少？",
                                                  "银证转账什么时候可以办理？"])
    app = create_app(settings, ingest_in_background=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 600
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the app did not start")
        time.sleep(0.1)
    return app, server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def _stats(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"{name}: median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, max {values[-1]:.1f} ms (n={len(values)})"


def _sign_in_agent(page, username: str) -> None:
    page.goto("/agent")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#queue-list li[data-ticket-id]")


def _chat_screens(browser, base_url: str, out: Path, size: str) -> None:
    context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=SIZES[size])
    page = context.new_page()
    page.goto("/")
    page.click('button[data-customer-id="100001"]')
    page.wait_for_selector("#chat[data-stream=open]")
    page.wait_for_selector("li.suggestions")
    page.screenshot(path=str(out / f"chat-{size}-empty.png"))
    for text, selector in (("查一下我的持仓", ".card.holdings"), ("买100股五粮液 市价", ".card.ticket .confirm")):
        page.fill("#input", text)
        page.press("#input", "Enter")
        page.wait_for_selector(f"li.message.assistant {selector}", timeout=30_000)
        page.locator("li.message.assistant").last.scroll_into_view_if_needed()
        page.screenshot(path=str(out / f"chat-{size}-{'holdings' if 'holdings' in selector else 'preview'}.png"))
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--screens", type=Path, default=None, help="save screenshots of both pages here")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit("Debian's chromium is missing: sh scripts/install-browser.sh")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        app, server, base_url = _serve(Path(tmp))
        try:
            service = app.state.handoff
            now = service.clock()
            service.agents.add("bench", "周洁", "agent", PASSWORD, now)
            service.agents.add("boss", "陈主管", "supervisor", PASSWORD, now)
            floor = seed_floor(app.state.db, now, tickets=args.tickets)
            print(f"floor: {floor.total} tickets, {floor.queued} in the live queue, {floor.callbacks} call-backs")

            token = httpx.post(f"{base_url}/v1/agent/login", json={"username": "bench", "password": PASSWORD}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            queries = [{"group": "callbacks", "priority": "high"}, {"group": "callbacks", "channel": "wechat"},
                       {"group": "live", "reason": "complaint"}, {"group": "callbacks"}, {"group": "live"}]
            api_ms = []
            with httpx.Client(base_url=base_url, headers=headers) as client:
                for i in range(args.rounds):
                    started = time.perf_counter()
                    client.get("/v1/agent/tickets", params=queries[i % len(queries)]).raise_for_status()
                    api_ms.append((time.perf_counter() - started) * 1000)

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
                context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                              viewport=SIZES["desktop"])
                page = context.new_page()
                _sign_in_agent(page, "bench")
                page.click('[data-group="callbacks"]')
                page.wait_for_function("() => document.getElementById('page-info').textContent.includes('第 1 /')")
                changes = [("filter-priority", "high"), ("filter-priority", ""), ("filter-channel", "wechat"),
                           ("filter-channel", ""), ("filter-reason", "complaint"), ("filter-reason", "")]
                page_ms = [page.evaluate(TIME_CHANGE, list(changes[i % len(changes)])) for i in range(args.rounds)]
                context.close()

                if args.screens:
                    args.screens.mkdir(parents=True, exist_ok=True)
                    for size in SIZES:
                        context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                                      viewport=SIZES[size])
                        page = context.new_page()
                        _sign_in_agent(page, "boss")
                        page.screenshot(path=str(args.screens / f"console-{size}.png"))
                        page.click("#tab-board")
                        page.wait_for_selector("[data-testid=stat-longest-wait]")
                        page.screenshot(path=str(args.screens / f"console-{size}-board.png"))
                        context.close()
                        _chat_screens(browser, base_url, args.screens, size)
                    print(f"screenshots: {args.screens}")
                browser.close()
        finally:
            server.should_exit = True
    print(_stats(f"tickets API, {args.tickets} tickets", api_ms))
    print(_stats("console filter change → list redrawn and painted (chromium, 1280×800)", page_ms))


if __name__ == "__main__":
    main()
