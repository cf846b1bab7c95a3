"""Guard latency: `python -m eval.bench_guards` times the input guard on the customer messages and
the output guard on the outgoing texts of the compliance dev split, plus knowledge-base passages
(the longest texts the output guard reads), each with its learned model, after one warm-up pass.
"""

from __future__ import annotations

import json
import statistics
import time

from assistant.app import build_guard_models
from eval.cli import _parser
from assistant.compliance import check_output, inspect_input
from assistant.settings import PROJECT_ROOT, get_settings

DATASETS = PROJECT_ROOT / "eval" / "datasets"


def _texts(name: str) -> list[str]:
    path = DATASETS / name
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _passages(n: int = 50, size: int = 600) -> list[str]:
    out = []
    for path in sorted((PROJECT_ROOT / "knowledge_base").rglob("*.md")):
        body = path.read_text(encoding="utf-8")
        out += [body[i:i + size] for i in range(0, len(body) - size, size)]
    return out[:n]


def _timed(fn, texts: list[str], rounds: int = 3) -> tuple[float, float]:
    for t in texts:  # warm-up: jieba's dictionary, caches
        fn(t)
    samples = []
    for _ in range(rounds):
        for t in texts:
            start = time.perf_counter()
            fn(t)
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    guards = build_guard_models(get_settings(), _parser())
    guards.ensure_trained()
    rows = [
        ("input guard, customer messages", lambda t: inspect_input(t, model=guards.input), _texts("compliance_input_dev.jsonl")),
        ("output guard, outgoing texts", lambda t: check_output(t, guards.output), _texts("compliance_output_dev.jsonl")),
        ("output guard, 600-character passages", lambda t: check_output(t, guards.output), _passages()),
    ]
    for label, fn, texts in rows:
        p50, p95 = _timed(fn, texts)
        print(f"{label} ({len(texts)}): p50 {p50:.1f} ms  p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
