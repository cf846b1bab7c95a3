"""The shipped knowledge base: it loads cleanly, its golden set is current, and it answers."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from assistant.rag.ingest import discover
from assistant.rag.loaders import load_document
from assistant.settings import PROJECT_ROOT
from eval.golden import chunk_knowledge_base, load_golden, load_unanswerable, resolve

KB_DIR = PROJECT_ROOT / "knowledge_base"


def test_every_document_has_complete_front_matter() -> None:
    files = discover(KB_DIR)
    kinds = Counter()
    for relative, path in files.items():
        text = path.read_text(encoding="utf-8")
        for field in ("title", "doc_type", "issuer", "source", "effective_date", "version"):
            assert re.search(rf"^{field}:\s*\S", text, re.MULTILINE), f"{relative} lacks {field}"
        kinds[load_document(path, relative).doc_type] += 1
    assert sum(n for kind, n in kinds.items() if kind != "faq") >= 40
    assert {"manual", "regulation", "education", "faq"} <= set(kinds)


def test_faq_has_at_least_150_pairs_each_with_its_basis() -> None:
    pairs = 0
    for path in (KB_DIR / "faq").glob("*.md"):
        sections = re.split(r"^## 问[:：]", path.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]
        pairs += len(sections)
        for section in sections:
            assert "依据：" in section, f"{path.name}: an answer without its basis: {section[:30]}"
    assert pairs >= 150


def test_golden_set_chunk_ids_are_current() -> None:
    """Fails when documents or chunking changed: run `python -m eval.golden --write`."""
    chunks_by_doc = chunk_knowledge_base(KB_DIR)
    items = load_golden()
    assert len(items) >= 120
    assert len({item.id for item in items}) == len(items)
    for item in items:
        assert item.chunk_ids, f"{item.id}: no evidence text found in its documents"
        assert resolve(item, chunks_by_doc) == item.chunk_ids, f"{item.id}: stale chunk ids"
    assert load_unanswerable()


@pytest.mark.parametrize(
    ("question", "expected_fact"),
    [
        ("卖出股票印花税是多少", "0.05%"),
        ("科创板权限开通需要什么条件", "50 万元"),
        ("新股中签后几点前要缴款", "16:00"),
        ("证监会投诉热线是多少", "12386"),
    ],
)
def test_real_knowledge_base_answers_core_questions(full_kb, question: str, expected_fact: str) -> None:
    answer = full_kb.answer(question)
    assert answer.found
    assert any(expected_fact in c.quote for c in answer.citations)
