"""Chunks respect headings and Chinese sentence ends, and stay within the size limit."""

from __future__ import annotations

from assistant.rag.chunking import chunk_document, split_sentences
from assistant.rag.loaders import LoadedDocument, Section


def doc(*sections: Section) -> LoadedDocument:
    return LoadedDocument(path="manuals/x.md", title="测试文档", doc_type="manual", sections=list(sections))


def test_sentences_end_at_chinese_punctuation() -> None:
    text = "第一句。第二句！第三句？第四句；“引号里的话。”最后一句"
    assert split_sentences(text) == ["第一句。", "第二句！", "第三句？", "第四句；", "“引号里的话。”", "最后一句"]


def test_chunks_never_cross_a_heading() -> None:
    chunks = chunk_document(doc(Section("一、时间", "交易日 9:30 开始。"), Section("二、费用", "印花税 0.05%。")))
    assert [(c.section, c.text) for c in chunks] == [("一、时间", "交易日 9:30 开始。"), ("二、费用", "印花税 0.05%。")]


def test_long_sections_split_at_sentence_ends_within_the_limit() -> None:
    sentences = [f"这是第{i}条关于证券交易规则的说明文字，内容需要完整保留。" for i in range(40)]
    chunks = chunk_document(doc(Section("规则", "".join(sentences))), max_chars=200)
    assert len(chunks) > 5
    for chunk in chunks:
        assert len(chunk.text) <= 200
        assert chunk.text.endswith("。")
    # Every sentence survives, in order, and neighbours share one sentence of overlap.
    joined = "".join(c.text for c in chunks)
    for sentence in sentences:
        assert sentence in joined
    assert chunks[1].text.startswith(chunks[0].text.split("。")[-2] + "。")


def test_a_run_on_sentence_is_cut_at_commas() -> None:
    sentence = "，".join(["条款内容说明"] * 80) + "。"
    chunks = chunk_document(doc(Section("长句", sentence)), max_chars=120)
    assert all(len(c.text) <= 120 for c in chunks)
    assert "".join(c.text for c in chunks).replace("，", "") .count("条款内容说明") >= 80


def test_chunk_ids_are_stable_and_carry_metadata() -> None:
    document = doc(Section("一、时间", "交易日 9:30 开始。"))
    first, again = chunk_document(document), chunk_document(document)
    assert [c.id for c in first] == [c.id for c in again] == ["manuals/x.md::0.0"]
    assert first[0].metadata()["title"] == "测试文档"
    assert first[0].search_text.startswith("测试文档 一、时间")
