"""`python -m eval.bench_start [--runs N]`: how long `assistant serve --train` takes to be ready.

Starts the service as `make run` does (models already built or built now, then serving), on a free
port, and polls it: seconds until the first HTTP answer (/healthz) and until /readyz says ready,
with what /readyz still named as loading a second before. The first run after a change to the
training data or the knowledge base includes building what changed; later runs are restarts.
Prints the machine's load average too: on a busy machine every figure is slower.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return 0, {}


def one_start(timeout_s: float = 600.0) -> dict:
    port = _free_port()
    env = {**os.environ, "ASSISTANT_PORT": str(port), "ASSISTANT_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "assistant"), "serve", "--train"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    first = ready = None
    loading: list[str] = []
    try:
        while time.perf_counter() - started < timeout_s:
            code, body = _get(f"http://127.0.0.1:{port}/readyz")
            now = time.perf_counter() - started
            if code and first is None:
                first = now
            if code == 200:
                ready = now
                break
            if body.get("loading"):
                loading = body["loading"]
            if process.poll() is not None:
                break
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    return {"first_response_s": first, "ready_s": ready, "last_loading": loading}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for n in range(1, args.runs + 1):
        load = os.getloadavg()[0]
        result = one_start()
        ready = f"{result['ready_s']:.1f} s" if result["ready_s"] is not None else "not ready"
        first = f"{result['first_response_s']:.1f} s" if result["first_response_s"] is not None else "none"
        print(f"start {n}: first answer {first}, ready {ready} (load average {load:.2f}; "
              f"last still loading: {', '.join(result['last_loading']) or '-'})", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
