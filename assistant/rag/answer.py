"""Grounded answers: extractive with no LLM, generated from the passages when one is configured.

Either way every factual sentence carries a [n] citation, and when retrieval finds nothing
relevant the answer says so instead of guessing.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from rapidfuzz import fuzz

from assistant.domain import Citation
from assistant.llm import load_prompt
from assistant.rag.chunking import split_sentences
from assistant.rag.index import ChunkIndex
from assistant.rag.retrieval import SearchHit
from assistant.rag.text import tokenize

log = logging.getLogger(__name__)

NOT_FOUND_TEXT = (
    "抱歉，我在知识库中没有找到能够准确回答这个问题的内容，为避免误导您，暂不作答。"
    "您可以换一种说法再问，或回复“人工”转接人工客服为您核实。"
)
_CITE = re.compile(r"\[(\d{1,2})\]")
_BASIS_LINE = re.compile(r"^依据[:：]")
# FAQ answers open with a yes/no to their own question; from a passage other than the best
# one, that verdict may not answer the customer's question, so it is dropped.
_VERDICT = re.compile(r"^(?:可以|不可以|能|不能|是的|不是|会|不会|需要|不需要|有|没有|不靠谱|靠谱|对|不对)[，,]")


@dataclass
class Answer:
    text: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    mode: str = "extractive"  # "faq" | "extractive" | "llm" | "none"
    fallback_reason: str | None = None


@dataclass
class RelevanceGate:
    """When is a retrieved passage relevant enough to answer from?

    multilingual-e5 similarities are compressed (unrelated Chinese text still scores ~0.86), so
    a passage must be clearly close in meaning, or fairly close and share some of the question's
    weighted words. Calibrated on the golden questions against the off-topic questions in
    eval/datasets/kb_unanswerable.jsonl; `python -m eval kb` prints how often each side is answered.
    """

    min_dense: float = 0.885
    min_coverage: float = 0.10
    strong_dense: float = 0.905

    def relevant(self, hit: SearchHit) -> bool:
        dense = hit.dense_similarity or 0.0
        return dense >= self.strong_dense or (dense >= self.min_dense and hit.lexical_coverage >= self.min_coverage)


def citation_for(index: int, hit: SearchHit) -> Citation:
    meta = hit.chunk.meta
    return Citation(
        index=index,
        chunk_id=hit.chunk.id,
        title=str(meta.get("title", "")),
        section=str(meta.get("section", "")),
        doc_type=str(meta.get("doc_type", "")),
        source=str(meta.get("source", "")),
        path=str(meta.get("doc_path", "")),
        quote=hit.chunk.text,
    )


class AnswerComposer:
    max_passages = 3
    max_answer_chars = 260

    def __init__(self, index: ChunkIndex, prompts_dir: Path, llm: BaseChatModel | None = None,
                 gate: RelevanceGate | None = None) -> None:
        self.index = index
        self.prompts_dir = prompts_dir
        self.llm = llm
        self.gate = gate or RelevanceGate()

    def compose(self, question: str, hits: list[SearchHit], on_text: Callable[[str], None] | None = None) -> Answer:
        """`on_text`, when given, receives the generated text so far as an LLM streams it (the
        extractive answer is not streamed: it is ready at once)."""
        relevant = [hit for hit in hits[: self.max_passages] if self.gate.relevant(hit)]
        if not relevant:
            return Answer(text=NOT_FOUND_TEXT, found=False, mode="none")
        if self.llm is not None:
            try:
                return self._generate(question, relevant, on_text)
            except _Ungrounded as exc:
                reason = str(exc)
            except Exception as exc:  # timeout, connection refused, bad response: answer anyway
                reason = f"{type(exc).__name__}: {exc}"[:200]
            log.warning("LLM answer unavailable (%s); using the extractive answer", reason)
            answer = self._extract(question, relevant)
            answer.fallback_reason = reason
            return answer
        return self._extract(question, relevant)

    # ---- extractive ------------------------------------------------------------------------
    def _extract(self, question: str, hits: list[SearchHit]) -> Answer:
        lexical = self.index.lexical
        weights = {t: lexical.idf.get(t, lexical.default_idf) for t in set(tokenize(question))}
        scored: list[tuple[float, int, int, str]] = []  # (score, hit rank, sentence order, sentence)
        for rank, hit in enumerate(hits):
            sentences = [s for s in split_sentences(hit.chunk.text) if not _BASIS_LINE.match(s)]
            if rank > 0:
                sentences = [_VERDICT.sub("", s) for s in sentences]
            for order, sentence in enumerate(sentences):
                tokens = set(tokenize(sentence))
                overlap = sum(w for t, w in weights.items() if t in tokens)
                # Prefer the best-ranked passage and sentences that carry the asked-for words;
                # the length penalty is mild so a complete rule beats a fragment.
                score = overlap / math.sqrt(max(len(sentence), 12) / 12) - 0.35 * rank
                scored.append((score, rank, order, sentence))
        scored.sort(key=lambda item: -item[0])

        picked: list[tuple[int, int, str]] = []
        used = 0
        for score, rank, order, sentence in scored:
            if picked and (score <= 0 or used + len(sentence) > self.max_answer_chars):
                continue
            # Several passages often state the same rule; say it once.
            if any(fuzz.ratio(sentence, other) >= 60 for _, _, other in picked):
                continue
            picked.append((rank, order, sentence))
            used += len(sentence)
            if len(picked) == 3:
                break
        if not picked:  # every sentence scored zero: the top passage still answered the gate
            first = split_sentences(hits[0].chunk.text)[0]
            picked = [(0, 0, first)]

        # Number citations in the order passages appear in the answer.
        picked.sort()
        numbering: dict[int, int] = {}
        parts = []
        for rank, _order, sentence in picked:
            number = numbering.setdefault(rank, len(numbering) + 1)
            parts.append((number, sentence))
        text = ""
        for i, (number, sentence) in enumerate(parts):
            closes_group = i == len(parts) - 1 or parts[i + 1][0] != number
            text += sentence + (f"[{number}]" if closes_group else "")
        citations = [citation_for(number, hits[rank]) for rank, number in numbering.items()]
        return Answer(text=text, found=True, citations=citations, mode="extractive")

    # ---- generated ---------------------------------------------------------------------------
    def _generate(self, question: str, hits: list[SearchHit], on_text: Callable[[str], None] | None = None) -> Answer:
        passages = "\n\n".join(
            f"[{i}] 《{hit.chunk.meta.get('title', '')}》 {hit.chunk.meta.get('section', '')}\n{hit.chunk.text}"
            for i, hit in enumerate(hits, start=1)
        )
        prompt = load_prompt(self.prompts_dir, "kb_answer")
        messages = prompt.format_messages(passages=passages, question=question)
        if on_text is None:
            text = str(self.llm.invoke(messages).content).strip()
        else:
            text = ""
            for chunk in self.llm.stream(messages):
                if chunk.content:
                    text += str(chunk.content)
                    on_text(text)
            text = text.strip()
        if "NOT_FOUND" in text:
            return Answer(text=NOT_FOUND_TEXT, found=False, mode="llm")
        cited = sorted({int(n) for n in _CITE.findall(text) if 1 <= int(n) <= len(hits)})
        if not cited:
            raise _Ungrounded("the generated answer cites no passage")
        # Drop any marker that points past the passages we supplied.
        text = _CITE.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= len(hits) else "", text)
        citations = [citation_for(n, hits[n - 1]) for n in cited]
        return Answer(text=text, found=True, citations=citations, mode="llm")


class _Ungrounded(Exception):
    pass
