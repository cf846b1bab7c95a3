"""The knowledge base as the rest of the system sees it: ingest, search, answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel

from assistant.nlu import normalize_text
from assistant.rag.answer import Answer, AnswerComposer
from assistant.rag.index import ChunkIndex, StoredChunk
from assistant.rag.ingest import Ingestor, IngestReport, Progress
from assistant.rag.retrieval import HybridRetriever, Mode, SearchHit
from assistant.storage import Database


class KnowledgeBase:
    def __init__(self, *, db: Database, index: ChunkIndex, kb_dir: Path, prompts_dir: Path,
                 llm: BaseChatModel | None = None) -> None:
        self.index = index
        self.retriever = HybridRetriever(index)
        self.composer = AnswerComposer(index, prompts_dir, llm)
        self.ingestor = Ingestor(db, index, kb_dir)
        self._ingest_lock = threading.Lock()
        self.last_report: IngestReport | None = None
        self.ingesting = False
        self.index_version: str | None = None  # the registry's version the loaded snapshot was read at

    @property
    def ready(self) -> bool:
        """Answers can be served: the index holds chunks (from this run or an earlier one)."""
        return bool(self.index.lexical.chunks)

    def ingest(self, *, rebuild: bool = False, progress: Progress | None = None) -> IngestReport:
        with self._ingest_lock:  # one ingestion at a time; a second caller waits for the first
            self.ingesting = True
            try:
                self.last_report = self.ingestor.run(rebuild=rebuild, progress=progress)
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
            self.index_version = version
            return True
        finally:
            self._ingest_lock.release()

    def passage(self, chunk_id: str) -> StoredChunk | None:
        """One indexed passage by its chunk id (what a citation points to), or None."""
        lexical = self.index.lexical
        position = lexical.position.get(chunk_id)
        return None if position is None else lexical.chunks[position]

    def search(self, query: str, k: int = 5, doc_type: str | None = None, mode: Mode = "hybrid") -> list[SearchHit]:
        return self.retriever.search(normalize_text(query), k=k, doc_type=doc_type, mode=mode)

    def answer(self, question: str, doc_type: str | None = None, on_text: Callable[[str], None] | None = None) -> Answer:
        return self.answer_with_passages(question, doc_type, on_text)[0]

    def answer_with_passages(self, question: str, doc_type: str | None = None,
                             on_text: Callable[[str], None] | None = None) -> tuple[Answer, list[SearchHit]]:
        """The answer and the passages retrieved for it (an agent's suggestions show both)."""
        question = normalize_text(question)
        hits = self.retriever.search(question, k=self.composer.max_passages, doc_type=doc_type)
        return self.composer.compose(question, hits, on_text), hits
