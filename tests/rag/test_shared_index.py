"""One index shared by several processes: indexing under one lock, the others following the registry's
version; dense search over each worker's snapshot, which keeps answering when the store does not."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.conftest import make_kb, make_settings

NEW_DOC = """---
title: 融资融券维持担保比例说明
doc_type: regulation
issuer: 明川证券
source: 明川证券融资融券业务规则
effective_date: 2026-01-01
version: "2026.1"
---
# 融资融券维持担保比例说明

## 一、平仓线
维持担保比例低于 130% 时，本公司通知客户追加担保物；到期未补足的，本公司有权强制平仓。
"""


def test_a_second_process_follows_the_index_another_built(tmp_path: Path, small_kb_dir: Path, embedder) -> None:
    settings = make_settings(tmp_path / "var", small_kb_dir)
    writer, reader = make_kb(settings, embedder), make_kb(settings, embedder)  # two workers on one store
    assert not reader.ready
    report = writer.ingest()
    assert report.index_version and writer.index_version == report.index_version
    assert reader.sync() is True and reader.ready
    assert reader.index_version == writer.index_version and reader.sync() is False  # nothing new: no reload

    (small_kb_dir / "regulations" / "margin.md").write_text(NEW_DOC, encoding="utf-8")
    writer.ingest()
    assert not any(h.chunk.meta["doc_path"] == "regulations/margin.md" for h in reader.search("强制平仓", k=5))
    assert reader.sync() is True
    assert reader.search("维持担保比例低于多少会被强制平仓", k=1)[0].chunk.meta["doc_path"] == "regulations/margin.md"


def test_ingestions_run_one_at_a_time_and_the_second_finds_nothing_to_do(tmp_path: Path, small_kb_dir: Path,
                                                                            embedder) -> None:
    settings = make_settings(tmp_path / "var", small_kb_dir)
    kbs = [make_kb(settings, embedder) for _ in range(2)]
    reports = []
    threads = [threading.Thread(target=lambda kb=kb: reports.append(kb.ingest())) for kb in kbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r.added) for r in reports) == [0, 3]
    assert sorted(r.unchanged for r in reports) == [0, 3]
    assert reports[0].index_version == reports[1].index_version


def test_dense_search_over_the_snapshot_matches_the_store_and_survives_it(small_kb) -> None:
    index = small_kb.index
    vector = index.embedder.embed_query("印花税只在卖出时收吗")
    stored = index._collection.query(query_embeddings=[vector.tolist()], n_results=5, include=["distances"])
    ours = index.dense_search(vector, 5)
    assert [i for i, _ in ours] == stored["ids"][0]
    assert all(abs(s - (1 - d)) < 1e-4 for (_, s), d in zip(ours, stored["distances"][0], strict=True))
    assert all(hit.chunk.meta["doc_type"] == "faq" for hit in small_kb.search("印花税", k=3, doc_type="faq"))

    def unreachable(*args, **kwargs):
        raise ConnectionError("vector store down")

    for name in ("get", "query", "count"):
        setattr(index._collection, name, unreachable)
    answer = small_kb.answer("科创板股票最少买多少股")
    assert answer.found and "200 股" in answer.text  # answered from the snapshot
    assert index.check_store() is False and index.store_reachable is False
