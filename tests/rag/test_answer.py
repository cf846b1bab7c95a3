"""Answers are grounded in retrieved passages and cite them; unknown questions get an honest no."""

from __future__ import annotations

import re

import pytest

from assistant.llm import build_chat_model
from assistant.rag import NOT_FOUND_TEXT
from tests.conftest import make_kb, make_settings
from tests.fake_openai import FakeOpenAI


def cited_quotes_contain_answer(answer) -> bool:
    """Every sentence of an extractive answer comes verbatim from the passage it cites."""
    quotes = {c.index: c.quote for c in answer.citations}
    for sentences, number in re.findall(r"(.+?)\[(\d+)\]", answer.text):
        for sentence in re.findall(r"[^。！？；]+[。！？；]?", sentences):
            if sentence.strip() and sentence.strip() not in quotes[int(number)]:
                return False
    return True


def test_extractive_answer_quotes_and_cites_the_passage(small_kb) -> None:
    answer = small_kb.answer("卖出股票要交多少印花税？")
    assert answer.found and answer.mode == "extractive"
    assert "0.05%" in answer.text
    assert re.search(r"\[1\]", answer.text)
    assert answer.citations[0].title == "证券交易印花税说明"
    assert answer.citations[0].source == "财政部 税务总局公告2023年第39号"
    assert cited_quotes_contain_answer(answer)


def test_faq_answer_for_a_colloquial_question(small_kb) -> None:
    answer = small_kb.answer("交易密码忘记了咋办")
    assert answer.found
    assert "忘记密码" in answer.text
    assert answer.citations[0].doc_type == "faq"


@pytest.mark.parametrize("question", ["红烧肉怎么做才好吃", "明天会下雨吗", "帮我写一首关于春天的诗"])
def test_unrelated_question_is_not_answered(small_kb, question: str) -> None:
    answer = small_kb.answer(question)
    assert not answer.found
    assert answer.text == NOT_FOUND_TEXT and "人工" in answer.text
    assert answer.citations == []


def test_traditional_characters_find_the_same_passage(small_kb) -> None:
    answer = small_kb.answer("賣出股票要交多少印花稅")
    assert answer.found and "0.05%" in answer.text


def llm_kb(tmp_path, small_kb_dir, embedder, server: FakeOpenAI, timeout_s: float = 5.0):
    settings = make_settings(tmp_path / "var", small_kb_dir, llm_base_url=server.base_url, llm_timeout_s=timeout_s)
    kb = make_kb(settings, embedder, llm=build_chat_model(settings))
    kb.ingest()
    return kb


def test_llm_answer_is_generated_from_the_passages_with_citations(tmp_path, small_kb_dir, embedder) -> None:
    with FakeOpenAI(lambda messages: "卖出股票时按成交金额的 0.05% 缴纳印花税[1]，买入不收[1]。") as server:
        kb = llm_kb(tmp_path, small_kb_dir, embedder, server)
        answer = kb.answer("卖股票印花税多少")
    assert answer.mode == "llm" and answer.found
    assert answer.text.startswith("卖出股票时按成交金额的 0.05%")
    assert [c.index for c in answer.citations] == [1]
    prompt = "\n".join(m["content"] for m in server.requests[0]["messages"])
    assert "卖股票印花税多少" in prompt
    assert "0.05%" in prompt  # the retrieved passage was handed to the model
    assert "只能依据" in prompt  # the grounding instruction from prompts/kb_answer.md


def test_llm_timeout_falls_back_to_the_extractive_answer(tmp_path, small_kb_dir, embedder) -> None:
    with FakeOpenAI(lambda messages: "太慢了[1]", delay_s=3.0) as server:
        kb = llm_kb(tmp_path, small_kb_dir, embedder, server, timeout_s=0.5)
        answer = kb.answer("卖股票印花税多少")
    assert answer.mode == "extractive" and answer.found
    assert "0.05%" in answer.text
    assert answer.fallback_reason and "Timeout" in answer.fallback_reason


def test_llm_unreachable_falls_back(tmp_path, small_kb_dir, embedder) -> None:
    settings = make_settings(tmp_path / "var", small_kb_dir, llm_base_url="http://127.0.0.1:9/v1", llm_timeout_s=1)
    kb = make_kb(settings, embedder, llm=build_chat_model(settings))
    kb.ingest()
    answer = kb.answer("卖股票印花税多少")
    assert answer.mode == "extractive" and "0.05%" in answer.text


def test_llm_answer_without_citations_is_not_trusted(tmp_path, small_kb_dir, embedder) -> None:
    with FakeOpenAI(lambda messages: "印花税是千分之三。") as server:
        kb = llm_kb(tmp_path, small_kb_dir, embedder, server)
        answer = kb.answer("卖股票印花税多少")
    assert answer.mode == "extractive"
    assert "千分之三" not in answer.text and "0.05%" in answer.text


def test_llm_saying_not_found_is_respected(tmp_path, small_kb_dir, embedder) -> None:
    with FakeOpenAI(lambda messages: "NOT_FOUND") as server:
        kb = llm_kb(tmp_path, small_kb_dir, embedder, server)
        answer = kb.answer("卖股票印花税多少")
    assert not answer.found and answer.text == NOT_FOUND_TEXT


def test_llm_is_not_called_when_nothing_relevant_was_found(tmp_path, small_kb_dir, embedder) -> None:
    with FakeOpenAI(lambda messages: "编造的答案[1]") as server:
        kb = llm_kb(tmp_path, small_kb_dir, embedder, server)
        answer = kb.answer("红烧肉怎么做才好吃")
    assert not answer.found and server.requests == []


def test_a_rule_stated_by_several_passages_is_said_once(small_kb) -> None:
    from assistant.rag.index import StoredChunk
    from assistant.rag.retrieval import SearchHit

    def hit(chunk_id: str, text: str) -> SearchHit:
        meta = {"title": chunk_id, "section": "", "doc_type": "faq", "doc_path": f"{chunk_id}.md"}
        return SearchHit(StoredChunk(chunk_id, text, meta), score=1.0, dense_similarity=0.95, lexical_coverage=1.0)

    hits = [
        hit("a", "可以，可转债实行 T+0 交易，当天买入的可转债当天就可以卖出。"),
        hit("b", "不是，可转债实行 T+0 交易，当天买入的可转债当天就可以卖出。"),
    ]
    answer = small_kb.composer.compose("可转债当天能卖吗", hits)
    assert answer.text.count("T+0") == 1
    assert "不是" not in answer.text  # another question's verdict never reaches this customer
    assert [c.chunk_id for c in answer.citations] == ["a"]
