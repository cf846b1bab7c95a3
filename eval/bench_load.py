"""Load benchmark: turns through the whole pipeline over HTTP, on one host and on two, in the
production topology.

`python -m eval.bench_load` (`make bench-load`) starts a cluster with scripts/cluster.py (hosts of
--workers workers each on 127.0.0.2, .3; PostgreSQL; a Redis of its own; a Chroma server), first
with one host, then with two, and runs closed-loop clients against it: --clients per host, each
on one host (as a load balancer keeping a connection would) and holding its own conversation of a
signed-in customer. The mix: knowledge questions (half; the golden set's questions in many
phrasings, no text asked twice), account look-ups (a quarter: holdings, cash, orders, a quote, the
risk level) and order previews (a quarter; checked and shown, never confirmed). It prints turns
per second and p50/p95/p99 latency, overall and by kind, and the errors.

The Chroma data and the database are kept under var/bench-cluster: the first run indexes
knowledge_base/ (a few minutes on two cores), later runs reuse the index. The learned models are
read from var/ (`assistant train`). Rate limits are raised for the run (one address sends
everything); the simulator's clock is pinned inside a trading session, so previews pass.

Every host here runs on this one machine: two hosts share its cores, so the two-host figure says
that nothing is lost in spreading the load (shared Redis, PostgreSQL and Chroma; no errors), not
what a second machine would add.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from assistant.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT))
from scripts.cluster import Cluster  # noqa: E402

GOLDEN = PROJECT_ROOT / "eval" / "datasets" / "kb_golden"
STATE = PROJECT_ROOT / "var" / "bench-cluster"

PREFIXES = ("", "请问", "想问一下，", "麻烦问下", "您好，", "你好，请问")
SUFFIXES = ("", "？", "呢", "啊", "，谢谢", "，麻烦了")
LOOKUPS = ("我的持仓", "我还有多少可用资金", "查一下我今天的委托", "五粮液现在多少钱", "我的风险等级是什么",
           "看看我的持仓和盈亏", "贵州茅台现价多少", "我账户里有多少钱", "我今天有成交吗", "我开通了哪些权限")
PREVIEWS = ("市价买入{n}00股五粮液", "买入{n}00股五粮液 市价", "市价卖出{n}00股五粮液", "市价买入{n}00股招商银行",
            "市价买入{n}00股中国平安")


def questions() -> list[str]:
    """The golden questions in 36 phrasings each, shuffled: no text is asked twice in a run, so no
    cache makes a repeated question look cheaper than a customer's new one."""
    base = []
    for path in sorted(GOLDEN.glob("*.jsonl")):
        base += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [p + q.rstrip("？?") + s for q in base for p in PREFIXES for s in SUFFIXES]
    random.Random(7).shuffle(texts)
    return texts


def workload(mix: str, seed: int, knowledge: list[str]) -> list[tuple[str, str]]:
    """(kind, text) in the order one client sends them."""
    rng = random.Random(seed)
    if mix == "kb":
        return [("knowledge", q) for q in knowledge]
    out = []
    for i, q in enumerate(knowledge):
        out.append(("knowledge", q))
        if i % 2:
            out.append(("lookup", rng.choice(LOOKUPS)) if rng.random() < 0.5 else
                       ("preview", rng.choice(PREVIEWS).format(n=rng.randint(1, 9))))
    return out


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds the run cost each part

    def add(self, kind: str, ms: float) -> None:
        self.latencies.setdefault(kind, []).append(ms)


def run(urls: list[str], tokens: list[str], clients_per_host: int, seconds: float, mix: str,
        knowledge: list[str]) -> Results:
    results = Results()
    lock = threading.Lock()
    clients = [(url, k) for url in urls for k in range(clients_per_host)]
    share = max(len(knowledge) // len(clients), 1)
    stop = time.time() + seconds

    def client(index: int, url: str) -> None:
        headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}
        turns = workload(mix, index, knowledge[index * share:(index + 1) * share] or knowledge)
        with httpx.Client(base_url=url, timeout=60) as http:
            cid = http.post("/v1/conversations", headers=headers).json()["id"]
            i = 0
            while time.time() < stop:
                kind, text = turns[i % len(turns)]
                started = time.perf_counter()
                try:
                    r = http.post(f"/v1/conversations/{cid}/messages", headers=headers, json={"text": text})
                    outcome = None if r.status_code == 200 else f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if outcome:
                        results.errors.append(outcome)
                    else:
                        results.add(kind, elapsed)
                i += 1

    threads = [threading.Thread(target=client, args=(i, url)) for i, (url, _) in enumerate(clients)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.seconds = time.time() - started
    return results


TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the state on (the name may hold spaces)


def _cpu(pids) -> dict[int, float]:
    """CPU seconds (user + system) so far of each live process."""
    out = {}
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            out[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def _group(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None and int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def cpu_meter(cluster: Cluster):
    """What the servers of the cluster have used so far, by part: the hosts' workers, the PostgreSQL
    backends serving its database, Redis and Chroma. Read from /proc, so the load of other work on
    the machine does not enter it (it still slows everything down: see the load average)."""
    import psycopg

    def parts() -> dict[str, list[int]]:
        with psycopg.connect(cluster.postgres_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            backends = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                                   (cluster.database_name,))]
        return {"app": [p for h in cluster.hosts for p in _group(h.server.process.pid)], "postgres": backends,
                "redis+chroma": _group(cluster.redis.process.pid) + _group(cluster.chroma.process.pid)}

    def read() -> dict[str, dict[int, float]]:
        return {part: _cpu(pids) for part, pids in parts().items()}

    return read


def cpu_spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    return {part: sum(t - before.get(part, {}).get(pid, 0.0) for pid, t in after[part].items()) for part in after}


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0],) * 3 if values else (0.0, 0.0, 0.0)
    q = statistics.quantiles(values, n=100)
    return q[49], q[94], q[98]


def report(title: str, results: Results) -> dict:
    every = [ms for values in results.latencies.values() for ms in values]
    p50, p95, p99 = _quantiles(every)
    rate = len(every) / results.seconds
    errors = f"errors {len(results.errors)}" + (f" {sorted(set(results.errors))}" if results.errors else "")
    load = os.getloadavg()[0]
    print(f"{title}\n  all        turns/s {rate:6.1f}   p50 {p50:4.0f} ms   p95 {p95:4.0f} ms   p99 {p99:4.0f} ms   {errors}"
          f"   (load average {load:.1f} on {os.cpu_count()} cores)")
    for kind in ("knowledge", "lookup", "preview"):
        if kind in results.latencies:
            values = results.latencies[kind]
            k50, k95, k99 = _quantiles(values)
            print(f"  {kind:<10} turns/s {len(values) / results.seconds:6.1f}   p50 {k50:4.0f} ms   p95 {k95:4.0f} ms   "
                  f"p99 {k99:4.0f} ms")
    if results.cpu_s and every:
        per_turn = {part: seconds * 1000 / len(every) for part, seconds in results.cpu_s.items()}
        print("  CPU a turn " + ", ".join(f"{part} {ms:.1f} ms" for part, ms in per_turn.items())
              + f"  →  a host's 2 cores, with the stores elsewhere, serve at most {2000 / per_turn['app']:.0f} turns/s")
    return {"turns_per_s": rate, "p50": p50, "p95": p95, "p99": p99, "errors": len(results.errors)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1,2", help="host counts to measure, in order (default 1,2)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per host")
    parser.add_argument("--clients", type=int, default=4, help="concurrent closed-loop clients per host")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--mix", choices=["mixed", "kb"], default="mixed",
                        help="mixed (knowledge, look-ups, previews) or kb (knowledge questions only)")
    parser.add_argument("--state", type=Path, default=STATE, help="where the cluster's index and database are kept")
    args = parser.parse_args()
    knowledge = questions()
    warmup, measured = knowledge[len(knowledge) // 2:], knowledge[: len(knowledge) // 2]
    for hosts in [int(h) for h in args.hosts.split(",")]:
        started = time.monotonic()
        with Cluster(hosts_count=hosts, workers=args.workers, state_dir=args.state, env={
            "ASSISTANT_RATE_LIMIT_CUSTOMER_PER_MINUTE": "1000000", "ASSISTANT_RATE_LIMIT_IP_PER_MINUTE": "1000000",
            "ASSISTANT_LOG_LEVEL": "WARNING",
        }) as cluster:
            print(f"[{hosts} host{'s' if hosts > 1 else ''} ready after {time.monotonic() - started:.0f} s]",
                  file=sys.stderr)
            urls = [h.url for h in cluster.hosts]
            tokens = [cluster.token(c) for c in ("100001", "100003", "100004")]
            run(urls, tokens, args.clients, 5, args.mix, warmup)  # warm-up (other texts): connections, lazy loading
            meter = cpu_meter(cluster)
            before = meter()
            results = run(urls, tokens, args.clients, args.seconds, args.mix, measured)
            results.cpu_s = cpu_spent(before, meter())
        report(f"{hosts} host{'s' if hosts > 1 else ''} × {args.workers} workers, {args.clients * hosts} clients, "
               f"{args.seconds:.0f} s, {args.mix} turns (PostgreSQL, Redis, Chroma server shared):", results)


if __name__ == "__main__":
    main()
