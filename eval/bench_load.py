"""Load benchmark: knowledge questions through the whole turn pipeline over loopback HTTP.

`python -m eval.bench_load [--workers 2] [--clients 4] [--seconds 30]` starts `assistant serve`
with that many workers on a free port, in a copy of var/ (so the index and the trained models
are reused and the project's database is not touched; build them first with `make run` or
`assistant ingest`), waits until every worker is ready, then runs a bounded loop: each client
opens a conversation and asks the golden set's knowledge questions one after another for the
given time, each text asked once. It prints turns per second, p50/p95/p99 latency and the errors. Rate limits are
raised for the run (one address sends everything); with Redis on 127.0.0.1:6379 the workers
share it as in production.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from assistant.settings import PROJECT_ROOT

GOLDEN = PROJECT_ROOT / "eval" / "datasets" / "kb_golden"


PREFIXES = ("", "请问", "想问一下，", "麻烦问下", "您好，", "你好，请问")
SUFFIXES = ("", "？", "呢", "啊", "，谢谢", "，麻烦了")


def questions() -> list[str]:
    """The golden questions in 36 phrasings each, shuffled: no text is asked twice in a run, so no
    cache makes a repeated question look cheaper than a customer's new one."""
    base = []
    for path in sorted(GOLDEN.glob("*.jsonl")):
        base += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [p + q.rstrip("？?") + s for q in base for p in PREFIXES for s in SUFFIXES]
    random.Random(7).shuffle(texts)
    return texts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def start_server(var: Path, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "ASSISTANT_VAR_DIR": str(var), "ASSISTANT_LOG_LEVEL": "WARNING",
           "ASSISTANT_RATE_LIMIT_CUSTOMER_PER_MINUTE": "1000000", "ASSISTANT_RATE_LIMIT_IP_PER_MINUTE": "1000000",
           "ASSISTANT_SIMULATOR_NOW": "2026-11-25T10:30:00+08:00"}
    if redis_up():
        env["ASSISTANT_REDIS_URL"] = "redis://127.0.0.1:6379/14"
    command = Path(sys.executable).parent / "assistant"
    return subprocess.Popen([str(command), "serve", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(base: str, workers: int, timeout: float = 600) -> None:
    """Every worker must answer ready: probe until that many consecutive probes succeed."""
    deadline, ok = time.time() + timeout, 0
    while time.time() < deadline:
        try:
            ok = ok + 1 if httpx.get(f"{base}/readyz", timeout=5).status_code == 200 else 0
        except httpx.HTTPError:
            ok = 0
        if ok >= workers * 10:
            return
        time.sleep(0.2 if ok else 1.0)
    raise SystemExit("the service did not become ready")


def run(base: str, clients: int, seconds: float, qs: list[str]) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.time() + seconds

    def client(k: int) -> None:
        headers = {"X-Customer-Id": "100001"}
        with httpx.Client(base_url=base, timeout=30) as http:
            cid = http.post("/v1/conversations", headers=headers).json()["id"]
            i = k
            while time.time() < stop:
                started = time.perf_counter()
                try:
                    r = http.post(f"/v1/conversations/{cid}/messages", headers=headers, json={"text": qs[i % len(qs)]})
                    ok = r.status_code == 200
                    outcome = None if ok else f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if outcome:
                        errors.append(outcome)
                    else:
                        latencies.append(elapsed)
                i += clients

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4, help="concurrent closed-loop clients; 16 saturates two cores and queues (see README)")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    source = PROJECT_ROOT / "var"
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp) / "var"
        shutil.copytree(source, var, ignore=shutil.ignore_patterns("stt"))
        port = free_port()
        server = start_server(var, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, args.workers)
            qs = questions()
            run(base, args.clients, 5, qs[len(qs) // 2:])  # warm-up (other texts): connections, lazy loading
            latencies, errors = run(base, args.clients, args.seconds, qs[: len(qs) // 2])
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies.sort()
    n = len(latencies)
    q = statistics.quantiles(latencies, n=100) if n > 1 else [0.0] * 99
    print(f"{args.workers} workers, {args.clients} clients, {args.seconds:.0f} s of knowledge questions"
          f"{' (Redis shared)' if redis_up() else ''}:")
    print(f"  turns/s {n / args.seconds:.1f}   p50 {q[49]:.0f} ms   p95 {q[94]:.0f} ms   p99 {q[98]:.0f} ms   "
          f"errors {len(errors)}{' ' + str(sorted(set(errors))) if errors else ''}")


if __name__ == "__main__":
    main()
