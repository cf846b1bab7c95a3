"""A FastAPI app served by uvicorn on a free loopback port, in a thread, for a with-block: the
base of the recorded judge (judge_replay.py). The tests' fakes use their own copy,
tests/local_server.py."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class LocalServer:
    def __init__(self, app, prefix: str = "") -> None:
        self.prefix = prefix  # the API's root under the origin: "/v1" for the OpenAI protocol
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def __enter__(self):
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started and time.time() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
