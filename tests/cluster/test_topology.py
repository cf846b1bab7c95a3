"""The production topology, started for real: two hosts index once, serve one index and one set of
models, and a document indexed while they run reaches both."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import text

from tests.cluster.conftest import customer_headers, eventually, say, start_conversation


def _readiness(cluster, probes_per_host: int = 16) -> set[tuple]:
    """What every worker reports (fresh connections, which the kernel spreads over the workers)."""
    seen = set()
    for host in cluster.hosts:
        for _ in range(probes_per_host):
            status, body = host.readyz()
            seen.add((status, body["index_version"], body["indexed_chunks"], tuple(sorted(body["models"].items())),
                      tuple(body["degraded"])))
    return seen


def test_one_host_indexes_the_others_wait_then_every_worker_serves_the_same_index_and_models(cluster, cluster_db) -> None:
    seen = _readiness(cluster)
    assert len(seen) == 1, seen
    status, version, chunks, models, degraded = seen.pop()
    assert status == 200 and version and chunks == 7 and degraded == ()
    # The models are the files `assistant train` built into the shared directory, named by their data hash.
    assert all(name and re.search(r"-[0-9a-f]{16}\.pkl$", name) for _, name in models), models

    # All four workers started at once; one indexed the knowledge base, the three others waited for its
    # lock and then found every file unchanged.
    # (Each log's first start only: other tests restart hosts.)
    logs = "\n".join(h.server.log_path.read_text(encoding="utf-8").split("\n==== ")[1] for h in cluster.hosts)
    runs = re.findall(r"knowledge base: (\d+) added, (\d+) updated, \d+ removed, (\d+) unchanged", logs)
    assert sorted(runs) == sorted([("3", "0", "0")] + [("0", "0", "3")] * 3), runs
    with cluster_db.connect() as conn:
        registered = conn.execute(text("SELECT count(*), sum(chunk_count) FROM kb_documents")).one()
    assert tuple(registered) == (3, 7)


def test_a_document_indexed_while_the_cluster_runs_reaches_every_host(cluster) -> None:
    new = cluster.kb_dir / "regulations" / "margin.md"
    new.write_text("""---
title: 融资融券维持担保比例说明
doc_type: regulation
issuer: 明川证券
source: 明川证券融资融券业务规则
effective_date: 2026-01-01
version: "2026.1"
---
# 融资融券维持担保比例说明

## 一、平仓线
融资融券账户的维持担保比例低于 130% 时，本公司将通知客户在两个交易日内追加担保物；
到期未补足的，本公司有权对账户内的证券实施强制平仓。
""", encoding="utf-8")
    question = "维持担保比例低于多少会被强制平仓"
    headers = customer_headers(cluster)
    before = say(cluster.hosts[0], start_conversation(cluster.hosts[0], headers), headers, question).json()
    assert not any(c["path"] == "regulations/margin.md" for c in before["citations"])
    try:
        # A deploy job (or an operator) indexes against the shared stores; the hosts see the registry's
        # version change and reload their copy of the index (every ASSISTANT_KB_SYNC_INTERVAL_S).
        done = cluster.assistant("ingest")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "新增 1，更新 0，删除 0，未变 3" in done.stdout, done.stdout

        def answered_everywhere() -> bool:
            for host in cluster.hosts:
                for _ in range(4):  # fresh connections: both workers of the host
                    cid = start_conversation(host, headers)
                    reply = say(host, cid, headers, question).json()
                    if not any(c["path"] == "regulations/margin.md" for c in reply["citations"]):
                        return False
                    assert "130%" in reply["text"]
            return True

        eventually(answered_everywhere, timeout=30, every=1, what="the new document in every host's answers")
        versions = {host.readyz()[1]["index_version"] for host in cluster.hosts for _ in range(8)}
        assert len(versions) == 1
    finally:
        new.unlink()
        cluster.assistant("ingest")


def test_health_probes_answer_on_every_host(cluster) -> None:
    for host in cluster.hosts:
        assert httpx.get(f"{host.url}/healthz", timeout=5).json() == {"status": "ok"}
