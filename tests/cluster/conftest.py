"""The cluster tests: two hosts of two workers each, sharing PostgreSQL, a Redis of their own and a
Chroma server (scripts/cluster.py), started once for the module that asks for them and stopped
whatever happens. They take a few minutes, so they carry the `cluster` marker, which the default
run leaves out (`-m "not cluster"` in pyproject.toml) and `.ci/run` runs (`make test-cluster`)."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from scripts.cluster import BIN, Cluster, Host

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def pytest_collection_modifyitems(items) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.cluster)


def _missing() -> str | None:
    if not (BIN / "chroma").exists():
        return "the chroma command (chromadb) is not installed"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return "no PostgreSQL at 127.0.0.1:5432"
    return None


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    missing = _missing()
    if missing:
        pytest.skip(missing)
    kb = tmp_path_factory.mktemp("cluster-kb") / "kb"
    shutil.copytree(FIXTURES / "kb_small", kb)
    with Cluster(hosts_count=2, workers=2, kb_dir=kb, env={
        "ASSISTANT_KB_SYNC_INTERVAL_S": "1",
        "ASSISTANT_RATE_LIMIT_CUSTOMER_PER_MINUTE": "1000",
        "ASSISTANT_RATE_LIMIT_IP_PER_MINUTE": "5000",
    }) as c:
        yield c


@pytest.fixture(scope="session")
def cluster_db(cluster):
    engine = create_engine(cluster.database_url)
    yield engine
    engine.dispose()


def customer_headers(cluster: Cluster, customer: str = "100001") -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster.token(customer)}"}


def start_conversation(host: Host, headers: dict) -> str:
    response = httpx.post(f"{host.url}/v1/conversations", headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def say(host: Host, cid: str, headers: dict, text: str) -> httpx.Response:
    return httpx.post(f"{host.url}/v1/conversations/{cid}/messages", headers=headers, json={"text": text}, timeout=60)


def history(host: Host, cid: str, headers: dict) -> list[dict]:
    response = httpx.get(f"{host.url}/v1/conversations/{cid}/messages?limit=200", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def eventually(check: Callable[[], object], timeout: float = 30.0, every: float = 0.25, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (httpx.HTTPError, AssertionError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(every)


class CustomerSocket:
    """The web page's side of the conversation stream: every frame kept, message ids remembered."""

    def __init__(self, host: Host, cid: str, token: str, after: int = 0) -> None:
        from websockets.sync.client import connect

        self.host = host
        self.ws = connect(f"{host.ws_url}/v1/conversations/{cid}/stream?after={after}&access_token={token}",
                          open_timeout=30, max_size=2**22)
        self.frames: list[dict] = []

    @property
    def messages(self) -> list[dict]:
        return [f["message"] for f in self.frames if f.get("type") == "message"]

    def send(self, text: str) -> None:
        self.ws.send(json.dumps({"type": "message", "text": text}))

    def until(self, predicate: Callable[[dict], bool], timeout: float = 60.0) -> dict:
        """Frames until one satisfies predicate (returned); raises on timeout or a closed socket."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no such frame within {timeout:.0f} s; last frames: {self.frames[-3:]}")
            frame = json.loads(self.ws.recv(timeout=remaining))
            self.frames.append(frame)
            if predicate(frame):
                return frame

    def seen(self, predicate: Callable[[dict], bool], timeout: float = 60.0) -> dict:
        """The first frame received so far, or still to come, that satisfies predicate."""
        return next((f for f in self.frames if predicate(f)), None) or self.until(predicate, timeout)

    def drain(self, seconds: float) -> bool:
        """Whatever arrives within the next seconds; False when the socket closed (its host died)."""
        from websockets.exceptions import ConnectionClosed

        deadline = time.monotonic() + seconds
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                self.frames.append(json.loads(self.ws.recv(timeout=remaining)))
        except TimeoutError:
            return True
        except ConnectionClosed:
            return False
        return True

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
