"""Incremental ingestion: what changed is re-indexed, what was deleted disappears, broken files are named."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_kb, make_settings


def texts(kb, query: str) -> str:
    return " ".join(hit.chunk.text for hit in kb.search(query, k=10))


def test_first_ingest_indexes_everything_and_second_changes_nothing(small_kb) -> None:
    first = small_kb.last_report
    assert sorted(first.added) == ["faq/faq.md", "manuals/transfer.md", "regulations/stamp-duty.md"]
    assert first.chunks_embedded > 0 and not first.failed
    second = small_kb.ingest()
    assert second.unchanged == 3
    assert not (second.added or second.updated or second.removed)
    assert second.chunks_embedded == 0


def test_changed_file_is_reembedded_and_old_text_is_gone(small_kb, small_kb_dir: Path) -> None:
    path = small_kb_dir / "manuals/transfer.md"
    path.write_text(path.read_text(encoding="utf-8").replace("8:30–16:00", "9:00–15:30"), encoding="utf-8")
    report = small_kb.ingest()
    assert report.updated == ["manuals/transfer.md"] and report.unchanged == 2
    found = texts(small_kb, "银证转账受理时间")
    assert "9:00–15:30" in found and "8:30–16:00" not in found


def test_deleted_file_leaves_the_index(small_kb, small_kb_dir: Path) -> None:
    (small_kb_dir / "regulations/stamp-duty.md").unlink()
    report = small_kb.ingest()
    assert report.removed == ["regulations/stamp-duty.md"]
    assert all(h.chunk.meta["doc_path"] != "regulations/stamp-duty.md" for h in small_kb.search("印花税税率", k=20))


def test_broken_file_is_reported_by_name_and_the_rest_indexed(tmp_path: Path, small_kb_dir: Path, embedder) -> None:
    (small_kb_dir / "manuals/scan.pdf").write_bytes(b"%PDF-1.7 truncated")
    (small_kb_dir / "manuals/new.md").write_text("# 新文档\n\n## 说明\n港股通权限要求日均资产不低于 50 万元。", encoding="utf-8")
    kb = make_kb(make_settings(tmp_path / "var", small_kb_dir), embedder)
    report = kb.ingest()
    assert [path for path, _ in report.failed] == ["manuals/scan.pdf"]
    assert "manuals/new.md" in report.added
    assert "50 万元" in texts(kb, "港股通权限条件")


def test_index_survives_a_restart_without_reembedding(tmp_path: Path, small_kb_dir: Path, embedder) -> None:
    settings = make_settings(tmp_path / "var", small_kb_dir)
    make_kb(settings, embedder).ingest()
    reopened = make_kb(settings, embedder)
    assert reopened.ready  # the persisted index is served before any ingestion
    assert reopened.ingest().chunks_embedded == 0


def test_lost_vector_store_is_rebuilt_even_if_the_registry_remembers(tmp_path: Path, small_kb_dir: Path, embedder) -> None:
    settings = make_settings(tmp_path / "var", small_kb_dir)
    make_kb(settings, embedder).ingest()
    make_kb(settings, embedder).index.clear()  # e.g. the Chroma volume was restored from an old backup
    report = make_kb(settings, embedder).ingest()
    assert len(report.updated) == 3 and report.chunks_embedded > 0
