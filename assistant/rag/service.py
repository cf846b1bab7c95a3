"""The knowledge base as the rest of the system sees it: ingest, search, answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel

from assistant.nlu import normalize_text
from assistant.rag.answer import Answer, AnswerComposer
from assistant.rag.faq import FAQ_DIR, EmbedQueries, FaqIndex, FaqMatch, expand_shorthand
from assistant.rag.index import ChunkIndex, StoredChunk
from assistant.rag.ingest import Ingestor, IngestReport, Progress
from assistant.rag.retrieval import HybridRetriever, Mode, SearchHit
from assistant.storage import Database


class KnowledgeBase:
    def __init__(self, *, db: Database, index: ChunkIndex, kb_dir: Path, prompts_dir: Path,
                 llm: BaseChatModel | None = None, faq_embed: EmbedQueries | None = None,
                 faq_cache: Path | None = None, faq_embedder_name: str = "") -> None:
        self.index = index
        self.retriever = HybridRetriever(index)
        self.composer = AnswerComposer(index, prompts_dir, llm)
        self.ingestor = Ingestor(db, index, kb_dir)
        self._ingest_lock = threading.Lock()
        self.last_report: IngestReport | None = None
        self.ingesting = False
        self.faq: FaqIndex | None = None
        self._faq_source = (kb_dir / FAQ_DIR, faq_embed, faq_cache, faq_embedder_name)
        # The registry's version the snapshot was read at: read first, so a change made while the
        # snapshot is read shows as a newer version at the next sync.
        self.index_version: str | None = self.ingestor.version()
        index.refresh_lexical()

    @property
    def ready(self) -> bool:
        """Answers can be served: the index holds chunks (from this run or an earlier one)."""
        return bool(self.index.lexical.chunks)

    def ingest(self, *, rebuild: bool = False, progress: Progress | None = None) -> IngestReport:
        with self._ingest_lock:  # one ingestion at a time; a second caller waits for the first
            self.ingesting = True
            try:
                self.load_faq()
                self.last_report = self.ingestor.run(rebuild=rebuild, progress=progress,
                                                     snapshot_version=self.index_version)
                self.index_version = self.last_report.index_version
            finally:
                self.ingesting = False
            return self.last_report

    def sync(self) -> bool:
        """Reload the index's in-memory part when another process (a host's start-up, `assistant ingest`)
        changed the shared index; True when it reloaded. Skipped while this process ingests."""
        if not self._ingest_lock.acquire(blocking=False):
            return False
        try:
            version = self.ingestor.version()  # read before the reload, so a change after it is seen next time
            if version == self.index_version:
                return False
            self.index.refresh_lexical()
            self.load_faq()  # the standard questions of this release's files (vectors cached by content)
            self.index_version = version
            return True
        finally:
            self._ingest_lock.release()

    @property
    def faq_pending(self) -> bool:
        """There are standard questions, and they are not loaded yet."""
        directory, embed, _, _ = self._faq_source
        return self.faq is None and embed is not None and directory.is_dir()

    def load_faq(self) -> FaqIndex | None:
        """The standard questions, their vectors computed once per content (kept under var/)."""
        directory, embed, cache, name = self._faq_source
        if embed is None or not directory.is_dir():
            return None
        self.faq = FaqIndex.build(directory, embed, cache, name)
        return self.faq

    def faq_match(self, question: str) -> FaqMatch | None:
        """The standard question that answers this one, when the FAQ has one close enough and the
        question is about what the knowledge base covers at all.

        e5 similarities are compressed: 车险到期了怎么续保 sits as close to a convertible bond's maturity
        as many true paraphrases sit to theirs. So a match that is not near-verbatim must also find a
        relevant passage in the documents (the same gate that keeps off-topic questions unanswered)."""
        if self.faq is None:
            return None
        question = normalize_text(question)
        match = self.faq.match(question)
        if match is None or (match.dense >= 0.94 and match.overlap >= 0.5):
            return match  # close in meaning and in words: a wording of the standard question
        hits = self.retriever.search(expand_shorthand(question), k=self.composer.max_passages)
        return match if any(self.composer.gate.relevant(hit) for hit in hits) else None

    def passage(self, chunk_id: str) -> StoredChunk | None:
        """One indexed passage by its chunk id (what a citation points to), or None."""
        lexical = self.index.lexical
        position = lexical.position.get(chunk_id)
        return None if position is None else lexical.chunks[position]

    def search(self, query: str, k: int = 5, doc_type: str | None = None, mode: Mode = "hybrid") -> list[SearchHit]:
        return self.retriever.search(normalize_text(query), k=k, doc_type=doc_type, mode=mode)

    def answer(self, question: str, doc_type: str | None = None, on_text: Callable[[str], None] | None = None,
               faq: FaqMatch | None = None) -> Answer:
        """The FAQ's answer when a standard question matches (`faq`, when the caller matched already),
        otherwise one composed from retrieved passages."""
        match = faq if faq is not None else (self.faq_match(question) if doc_type is None else None)
        if match is not None:
            entry = match.entry
            return Answer(text=entry.answer, found=True, citations=entry.cited(), mode="faq")
        return self.answer_with_passages(question, doc_type, on_text)[0]

    def answer_with_passages(self, question: str, doc_type: str | None = None,
                             on_text: Callable[[str], None] | None = None) -> tuple[Answer, list[SearchHit]]:
        """The answer and the passages retrieved for it (an agent's suggestions show both)."""
        question = normalize_text(question)
        hits = self.retriever.search(question, k=self.composer.max_passages, doc_type=doc_type)
        return self.composer.compose(question, hits, on_text), hits
